using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Operations;

namespace Selfsame.Imports;

public sealed record ImportError(long Line, string Reason);

public sealed record ImportProgress(long Lines, long BytesRead);

/// <summary>What an import did. <see cref="FirstErrors"/> keeps the first errors with their line numbers.</summary>
public sealed record ImportSummary(
    long Lines,
    long Applied,
    long Failed,
    long RecordsCreated,
    long Merges,
    long Links,
    long Unlinks,
    long RefusedIdentifiers,
    IReadOnlyList<ImportError> FirstErrors);

/// <summary>
/// Applies an NDJSON file of identify, link and unlink lines (the operations of POST /v1/batch; a line without "op" is an
/// identify). Lines go to the engine in groups, each group one transaction; a bad line fails alone. The next group is read
/// while the previous one commits.
/// </summary>
public sealed class NdjsonImport(IdentityEngine engine, ProjectId project, ProjectSettings settings, WriteOrigin origin)
{
    public const int MaxErrorsKept = 20;

    public int GroupSize { get; init; } = 2000;

    public async Task<ImportSummary> RunAsync(Stream input, IProgress<ImportProgress>? progress, CancellationToken cancellationToken)
    {
        var reader = new OperationReader(settings);
        var tally = new Tally();
        using var lines = new StreamReader(input, leaveOpen: true);
        var group = new List<(long Line, GraphOperation Operation)>(GroupSize);
        Task? pending = null;
        long lineNumber = 0;
        while (await lines.ReadLineAsync(cancellationToken) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            tally.Lines++;
            try
            {
                using var document = JsonText.Parse(line, maxDepth: 32);
                group.Add((lineNumber, reader.ReadOperation(document.RootElement, "", "identify")));
            }
            catch (JsonException e)
            {
                tally.Fail(lineNumber, $"malformed JSON: {e.Message}");
            }
            catch (RequestValidationException e)
            {
                tally.Fail(lineNumber, string.Join("; ", e.Errors));
            }
            if (group.Count >= GroupSize)
            {
                if (pending is not null)
                {
                    await pending;
                }
                pending = ApplyAsync(group, tally, cancellationToken);
                group = new List<(long, GraphOperation)>(GroupSize);
                progress?.Report(new ImportProgress(lineNumber, input.CanSeek ? input.Position : 0));
            }
        }
        if (pending is not null)
        {
            await pending;
        }
        if (group.Count > 0)
        {
            await ApplyAsync(group, tally, cancellationToken);
        }
        progress?.Report(new ImportProgress(lineNumber, input.CanSeek ? input.Position : 0));
        return tally.Summary();
    }

    private async Task ApplyAsync(List<(long Line, GraphOperation Operation)> group, Tally tally, CancellationToken cancellationToken)
    {
        var outcomes = await engine.ApplyAsync(project, group.Select(g => g.Operation).ToList(), origin, cancellationToken);
        for (var i = 0; i < outcomes.Count; i++)
        {
            var outcome = outcomes[i];
            if (!outcome.Succeeded)
            {
                tally.Fail(group[i].Line, outcome.Error is GraphException g ? $"{g.Field}: {g.Message}" : outcome.Error!.Message);
                continue;
            }
            tally.Applied++;
            switch (outcome.Value)
            {
                case IdentifyResult r:
                    tally.RecordsCreated += r.Created ? 1 : 0;
                    tally.Merges += r.Merged.Count;
                    tally.Refused += r.Refused.Count;
                    break;
                case LinkResult r:
                    tally.RecordsCreated += r.CreatedRecords.Count;
                    tally.Links += r.Link is null || r.AlreadyJoined ? 0 : 1;
                    break;
                case UnlinkResult:
                    tally.Unlinks++;
                    break;
            }
        }
    }

    private sealed class Tally
    {
        private readonly List<ImportError> _errors = [];
        private readonly Lock _lock = new();

        public long Lines;
        public long Applied;
        public long Failed;
        public long RecordsCreated;
        public long Merges;
        public long Links;
        public long Unlinks;
        public long Refused;

        public void Fail(long line, string reason)
        {
            lock (_lock)
            {
                Failed++;
                if (_errors.Count < MaxErrorsKept)
                {
                    _errors.Add(new ImportError(line, reason));
                }
            }
        }

        public ImportSummary Summary() =>
            new(Lines, Applied, Failed, RecordsCreated, Merges, Links, Unlinks, Refused, _errors.OrderBy(e => e.Line).ToList());
    }
}
