using BenchmarkDotNet.Attributes;
using Selfsame.Graph;
using Selfsame.Storage.Sqlite;

namespace Selfsame.Bench;

/// <summary>The engine on a real SQLite file, one operation at a time (no group commit to hide behind), and identifier normalization.</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class EngineBenchmarks
{
    private SqliteStore _store = null!;
    private IdentityEngine _engine = null!;
    private string _folder = "";
    private long _next;
    private readonly ProjectSettings _settings = ProjectSettings.Default;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _folder = Path.Combine(Path.GetTempPath(), $"selfsame-bench-engine-{Guid.NewGuid():N}");
        _store = SqliteStore.Open(_folder, TimeProvider.System);
        _engine = new IdentityEngine(_store);
        await new Projects(_store.Catalog, TimeProvider.System).EnsureDefaultAsync(CancellationToken.None);
        var batch = Enumerable.Range(0, 10_000).Select(i => (GraphOperation)new GraphOperation.IdentifyOp(Command($"seed-{i}"))).ToList();
        await _engine.ApplyAsync(ProjectId.Default, batch, new WriteOrigin("bench", null), CancellationToken.None);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark(Description = "identify, new user, one commit each")]
    public Task<IdentifyResult> IdentifyNewUser() =>
        _engine.IdentifyAsync(ProjectId.Default, Command($"new-{Interlocked.Increment(ref _next)}"), new WriteOrigin("bench", null), CancellationToken.None);

    [Benchmark(Description = "resolve an email")]
    public Task<Resolution?> Resolve() => _engine.ResolveAsync(ProjectId.Default, new Identifier(IdentifierTypes.Email, $"seed-{_next++ % 10_000}@acme.com"), CancellationToken.None);

    [Benchmark(Description = "normalize an email")]
    public Identifier? NormalizeEmail() => IdentifierNormalizer.TryNormalize(IdentifierTypes.Email, "  Some.Person@Acme.COM ", _settings, out _);

    [Benchmark(Description = "normalize a phone number")]
    public Identifier? NormalizePhone() => IdentifierNormalizer.TryNormalize(IdentifierTypes.Phone, "+1 (415) 555-0100", _settings, out _);

    private static IdentifyCommand Command(string user)
    {
        var email = new Identifier(IdentifierTypes.Email, $"{user}@acme.com");
        return new IdentifyCommand(
            new IdentifierInput(new Identifier(IdentifierTypes.UserId, user), user, "user_id"),
            [new IdentifierInput(email, email.Value, "identifiers[0]")],
            new Dictionary<string, PropertyValue>(), new Dictionary<string, PropertyValue>(), []);
    }
}
