using System.Text;
using Selfsame.Graph;
using Selfsame.Imports;
using Selfsame.Tests.Support;

namespace Selfsame.Tests.Imports;

public sealed class NdjsonImportTests : IDisposable
{
    private readonly SqliteStoreFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task Run_AppliesGoodLines_AndReportsBadOnesWithLineNumbers()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var file = string.Join("\n",
            """{"user_id":"u1","identifiers":[{"type":"email","value":"a@x.com"}]}""",
            """{"op":"identify","user_id":"u2","identifiers":[{"type":"device_id","value":"d2"}]}""",
            "",
            """{"user_id":"u3","identifiers":[{"type":"email","value":"a@x.com"}]}""",
            """{"op":"link","from":{"type":"user_id","value":"u2"},"into":{"type":"user_id","value":"u1"}}""",
            """{"user_id":42}""",
            """{"user_id":"u4" """,
            """{"op":"unlink","from":{"type":"user_id","value":"u2"},"into":{"type":"user_id","value":"nobody"}}""",
            """{"user_id":"\udc00"}""");
        var import = new NdjsonImport(h.Engine, h.Project, ProjectSettings.Default, Some.Origin) { GroupSize = 2 };

        var summary = await import.RunAsync(new MemoryStream(Encoding.UTF8.GetBytes(file)), null, CancellationToken.None);

        Assert.Equal(8, summary.Lines);
        Assert.Equal(4, summary.Applied);
        Assert.Equal(4, summary.Failed);
        Assert.Equal(3, summary.RecordsCreated);
        Assert.Equal(1, summary.Links);
        Assert.Equal(1, summary.RefusedIdentifiers);
        Assert.Equal([6L, 7L, 8L, 9L], summary.FirstErrors.Select(e => e.Line));
        Assert.Contains("user_id: holds a string that is not valid Unicode", summary.FirstErrors[3].Reason, StringComparison.Ordinal);
        Assert.Contains("user_id: expected a string", summary.FirstErrors[0].Reason, StringComparison.Ordinal);
        Assert.Contains("malformed JSON", summary.FirstErrors[1].Reason, StringComparison.Ordinal);
        Assert.Contains("into", summary.FirstErrors[2].Reason, StringComparison.Ordinal);
        Assert.Equal(h.ProfileOf(Some.User("u1")), h.ProfileOf(Some.Device("d2")));
    }
}
