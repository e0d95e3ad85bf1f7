namespace Selfsame.Server.Hosting;

/// <summary>Server settings; the CLI fills them from flags, SELFSAME_* environment variables and defaults.</summary>
public sealed record SelfsameOptions
{
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>The folder of the SQLite file.</summary>
    public string DataFolder { get; init; } = "./data";

    /// <summary>"sqlite" (the file in <see cref="DataFolder"/>) or "postgres" (the database of <see cref="Connection"/>).</summary>
    public string Store { get; init; } = "sqlite";

    /// <summary>The PostgreSQL connection string, with <see cref="Store"/> "postgres".</summary>
    public string? Connection { get; init; }

    public string Urls { get; init; } = DefaultUrls;

    /// <summary>The largest request body the native API reads.</summary>
    public long MaxRequestBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>The most operations in one POST /v1/batch.</summary>
    public int MaxBatchOperations { get; init; } = 1000;

    /// <summary>Amplitude's user-mapping rate limit: mappings per project in 30 seconds.</summary>
    public int AmplitudeMappingsPerWindow { get; init; } = 1500;

    /// <summary>How often the retention sweep runs over the projects that have retention on.</summary>
    public TimeSpan RetentionInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Rate limits by family (such as braze.users), overriding each surface's documented default.</summary>
    public IReadOnlyDictionary<string, RateLimitRule> RateLimits { get; init; } = new Dictionary<string, RateLimitRule>(StringComparer.Ordinal);

    /// <summary>How deep JSON bodies may nest.</summary>
    public int MaxJsonDepth { get; init; } = 32;

    /// <summary>"text" (one readable line an entry) or "json" (one JSON object a line), on standard output.</summary>
    public string LogFormat { get; init; } = "text";

    /// <summary>The least level logged: Information shows jobs, retention, store health, start and stop; Warning only trouble.</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>
    /// A line per request (at Information). Off by default: on this machine it costs about a third of the requests a second
    /// (bench/README.md); an operator turns it on where the line is worth it.
    /// </summary>
    public bool LogRequests { get; init; }

    /// <summary>Who may read /metrics: "loopback" (the default: clients on this machine only), "any", or "off" (no /metrics).</summary>
    public string Metrics { get; init; } = "loopback";
}
