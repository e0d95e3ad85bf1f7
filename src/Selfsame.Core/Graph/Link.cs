namespace Selfsame.Graph;

/// <summary>Why two records were joined. Explicit kinds were asked for by name; implicit ones came from identify or events.</summary>
public static class LinkKinds
{
    public const string Identify = "identify";
    public const string Link = "link";
    public const string Merge = "merge";
    public const string Alias = "alias";
    public const string Map = "map";
    public const string Match = "match";
    public const string Event = "event";

    /// <summary>A merge a person approved from the review queue.</summary>
    public const string Review = "review";

    public static bool IsExplicit(string kind) => kind is not (Identify or Event);
}

/// <summary>An edge between two records: <paramref name="From"/> was joined into <paramref name="Into"/> (the kept side).</summary>
public sealed record Link(
    LinkId Id,
    RecordId From,
    RecordId Into,
    string Kind,
    string Surface,
    DateTimeOffset CreatedAt,
    string? RequestId)
{
    public bool IsExplicit => LinkKinds.IsExplicit(Kind);
    public RecordId Other(RecordId side) => side == From ? Into : From;
}

/// <summary>
/// Who asked for a write: the API surface, the request id, the id of the key used (never the key) and, where the surface
/// reads it, the client's address behind a proxy; recorded on links (surface and request) and in the audit log (all).
/// </summary>
public sealed record WriteOrigin(string Surface, string? RequestId, string? KeyId = null, string? ClientAddress = null)
{
    /// <summary>
    /// Set for a dry run: the engine applies the request's writes as ever, in a transaction that is rolled back, and adds
    /// each operation's effect here; nothing is kept.
    /// </summary>
    public DryRunLog? DryRun { get; init; }

    public static WriteOrigin Native(string? requestId, string? keyId = null) => new("native", requestId, keyId);
}

/// <summary>A change of the project's feed: its sequence number, when, its kind, the origin of the write, and what changed (JSON).</summary>
public sealed record ChangeEntry(long Seq, DateTimeOffset At, string Kind, string Surface, string? RequestId, string? KeyId, string DetailJson);

/// <summary>
/// A page of the change feed after a cursor, and the feed's horizon: the highest sequence number that retention removed
/// (0 when none). A cursor below the horizon has missed changes.
/// </summary>
public sealed record ChangePage(IReadOnlyList<ChangeEntry> Changes, long Horizon);

/// <summary>One entry of a project's audit log.</summary>
public sealed record AuditEntry(long Id, DateTimeOffset At, string Action, string Surface, string? RequestId, string? KeyId, string DetailJson, string? ClientAddress = null);
