using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Jobs;
using Selfsame.Operations;
using Selfsame.Storage;

namespace Selfsame.Imports;

/// <summary>
/// The rows of an import (POST /v1/imports, <c>selfsame import</c>): the operations of POST /v1/batch, one a line; a line
/// without "op" is an identify.
/// </summary>
public sealed class ImportJobKind : IJobKind
{
    public const string KindName = "import";

    public string Name => KindName;

    public JobRow Read(string line, ProjectSettings settings)
    {
        GraphOperation operation;
        try
        {
            using var document = JsonText.Parse(line, maxDepth: 32);
            operation = new OperationReader(settings).ReadOperation(document.RootElement, "", "identify", allowTrack: true);
        }
        catch (JsonException e)
        {
            throw new JobRowException($"malformed JSON: {e.Message}");
        }
        catch (RequestValidationException e)
        {
            throw new JobRowException(string.Join("; ", e.Errors));
        }
        return JobRow.Of(operation);
    }
}
