using Selfsame.Events;
using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>A record as the graph rules see it.</summary>
public sealed record RecordInfo(RecordId Id, ProfileId Profile, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, bool Identified);

/// <summary>
/// Stale records from one look: <see cref="Next"/> is the id to go on after, null when nothing is left to look at;
/// <see cref="Through"/> the highest id the next looks need to reach (records made after a sweep began are not stale).
/// </summary>
public sealed record StaleRecords(IReadOnlyList<RecordId> Records, long? Next, long Through);

/// <summary>Reads of one project's graph. Every call is scoped to <see cref="Project"/>.</summary>
public interface IGraphReadSession
{
    ProjectId Project { get; }
    ProjectSettings Settings { get; }

    StoredIdentifier? FindIdentifier(Identifier identifier);
    RecordInfo? GetRecord(RecordId record);
    IReadOnlyList<RecordInfo> GetProfileRecords(ProfileId profile);
    IReadOnlyList<StoredIdentifier> GetProfileIdentifiers(ProfileId profile);
    IReadOnlyList<Link> GetProfileLinks(ProfileId profile);
    IReadOnlyList<StoredProperty> GetProfileProperties(ProfileId profile);
    int CountProfileRecords(ProfileId profile);
    int CountProfileIdentifiers(ProfileId profile, string type);

    /// <summary>Profile ids in ascending order, after <paramref name="after"/>.</summary>
    IReadOnlyList<ProfileId> ListProfiles(ProfileId after, int limit);

    /// <summary>The events of every record of a profile (or of one record when <paramref name="record"/> is given), newest first.</summary>
    IReadOnlyList<StoredEvent> GetEvents(ProfileId profile, RecordId? record, EventQuery query);

    StoredEvent? FindEventByInsertId(string insertId);

    /// <summary>
    /// Up to <paramref name="limit"/> records whose last_seen_at is before <paramref name="cutoff"/>, for a caller that
    /// deletes the records it is given before it looks again (the retention sweep). A store may look at part of the ids at
    /// a time, those above <paramref name="after"/> and at most <paramref name="through"/> (SQLite, in id order), or find
    /// them by last_seen_at from the start each time (PostgreSQL, oldest first); the answer says where to go on from
    /// (<see cref="StaleRecords.Next"/>, null when nothing is left) and how far to go.
    /// </summary>
    StaleRecords ListRecordsNotSeenSince(DateTimeOffset cutoff, long after, long through, int limit);

    int CountRecordEvents(RecordId record);

    /// <summary>Per event name, over every record of the profile: how many, the first and the last time.</summary>
    IReadOnlyList<EventSummary> SummarizeEvents(ProfileId profile);

    Companies.CompanyInfo? GetCompany(string companyId);

    /// <summary>The ids of the companies that any record of the profile belongs to, in order.</summary>
    IReadOnlyList<string> GetProfileCompanies(ProfileId profile);

    /// <summary>Distinct profiles and records with events from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive).</summary>
    UniqueUsers CountUniqueUsers(DateTimeOffset from, DateTimeOffset to, string? name);

    /// <summary>The same per UTC day.</summary>
    IReadOnlyList<UniqueUsersDay> CountUniqueUsersPerDay(DateTimeOffset from, DateTimeOffset to, string? name);
}

/// <summary>
/// One write inside the store's transaction. Runs on the store's writer, in a serial order with every other
/// write to the same project; nothing is visible to readers until the transaction commits.
/// </summary>
public interface IGraphTransaction : IGraphReadSession
{
    DateTimeOffset Now { get; }

    /// <summary>A number that grows with every write in the project; orders property writes ("latest write").</summary>
    long NextSequence();

    RecordId CreateRecord();
    void TouchRecord(RecordId record);
    void AttachIdentifier(RecordId record, Identifier identifier, string display);

    /// <summary>Removes an identifier from whichever record holds it; false when no record does.</summary>
    bool DetachIdentifier(Identifier identifier);

    /// <summary>
    /// Runs <paramref name="work"/> so that, if it throws, what it wrote is undone and the rest of the transaction goes on
    /// (a savepoint); returns what it threw, or null.
    /// </summary>
    Exception? Attempt(Action<IGraphTransaction> work);

    /// <summary>
    /// Says which identifiers and insert_ids the coming work will look up, so that a store can read them together. Only
    /// speed depends on it: look-ups answer the same with or without it.
    /// </summary>
    void ReadAhead(IEnumerable<Identifier> identifiers, IEnumerable<string> insertIds);

    /// <summary>Creates the company when it is new, else moves its updated time.</summary>
    void UpsertCompany(string companyId);
    void SetCompanyProperty(string companyId, string key, PropertyValue value);
    void RemoveCompanyProperty(string companyId, string key);
    void AddCompanyMember(string companyId, RecordId record);

    /// <summary>
    /// Records a job's progress in this transaction: the rows from <paramref name="fromLine"/> to before
    /// <paramref name="nextLine"/> are done, <paramref name="completed"/> applied and <paramref name="errors"/> failed, and the
    /// owner's claim runs until <paramref name="leaseUntil"/>. Kept if and only if the rows' writes are. Throws
    /// <see cref="Jobs.JobClaimLostException"/> (so the rows roll back) unless <paramref name="owner"/> holds the job and it
    /// stands at <paramref name="fromLine"/>.
    /// </summary>
    void RecordJobProgress(string jobId, string owner, long fromLine, long nextLine, long completed, IReadOnlyList<Jobs.JobRowError> errors, DateTimeOffset leaseUntil);
    Link AddLink(RecordId from, RecordId into, string kind, WriteOrigin origin);

    /// <summary>Removes every link between the two records, in either direction; returns what it removed.</summary>
    IReadOnlyList<Link> RemoveLinksBetween(RecordId a, RecordId b);

    void RemoveLink(LinkId link);

    long AddEvent(RecordId record, string name, DateTimeOffset time, string propertiesJson, string? insertId, string surface);

    /// <summary>Appends to the project's audit log in this transaction: kept if and only if the write is.</summary>
    void AddAudit(string action, WriteOrigin origin, object detail);

    /// <summary>Moves the given records to another profile id.</summary>
    void SetProfile(IEnumerable<RecordId> records, ProfileId profile);

    void SetProperty(RecordId record, string key, PropertyValue value);
    bool HasProperty(RecordId record, string key);
    bool RemoveProperty(RecordId record, string key);

    /// <summary>Deletes a record with its identifiers, properties, links and events, for good.</summary>
    void DeleteRecord(RecordId record);
}

/// <summary>The outcome of one write in a group: its value, or the exception that rolled it back alone.</summary>
public readonly record struct WriteOutcome<T>(T? Value, Exception? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// The storage of identity graphs. All writes go through <see cref="WriteAsync{T}"/>, which applies them in one serial
/// order per project and completes each only after its transaction committed.
/// </summary>
public interface IGraphStore : IAsyncDisposable
{
    /// <summary>Runs <paramref name="work"/> in a write transaction; if it throws, nothing it wrote is kept.</summary>
    Task<T> WriteAsync<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken);

    /// <summary>Runs each piece of work in one transaction and one commit; a piece that throws is rolled back alone.</summary>
    Task<IReadOnlyList<WriteOutcome<T>>> WriteEachAsync<T>(ProjectId project, IReadOnlyList<Func<IGraphTransaction, T>> work, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="read"/> against committed data.</summary>
    T Read<T>(ProjectId project, Func<IGraphReadSession, T> read);

    IProjectCatalog Catalog { get; }

    Jobs.IJobStore Jobs { get; }
}

public sealed record ApiKeyRecord(
    string KeyId,
    ProjectId Project,
    string Role,
    byte[] SecretHash,
    string? Name,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt = null,
    DateTimeOffset? LastUsedAt = null,
    IReadOnlyList<string>? Permissions = null)
{
    /// <summary>
    /// Whether the key holds a named permission (a vendor's per-endpoint permission such as users.merge). A key created
    /// without a list of permissions holds every one that its role allows; a key with a list holds only those.
    /// </summary>
    public bool HasPermission(string permission) => Permissions is null || Permissions.Contains(permission, StringComparer.Ordinal);

    /// <summary>Whether the key opens requests at <paramref name="now"/>: not revoked, not past its expiry.</summary>
    public bool IsValidAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>Projects and API keys.</summary>
public interface IProjectCatalog
{
    Task<Project?> GetProjectAsync(ProjectId id, CancellationToken cancellationToken);
    Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken cancellationToken);

    /// <summary>Creates the project, with its first key in the same transaction when one is given; false when it exists already.</summary>
    Task<bool> CreateProjectAsync(Project project, ApiKeyRecord? firstKey, CancellationToken cancellationToken);
    Task UpdateSettingsAsync(ProjectId id, ProjectSettings settings, CancellationToken cancellationToken);

    Task AddKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);
    Task<ApiKeyRecord?> FindKeyAsync(string keyId, CancellationToken cancellationToken);
    Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(ProjectId project, CancellationToken cancellationToken);

    /// <summary>Revokes a key of the project; false when the project has no such key.</summary>
    Task<bool> RevokeKeyAsync(ProjectId project, string keyId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Sets when a key of the project stops working; false when the project has no such key.</summary>
    Task<bool> ExpireKeyAsync(ProjectId project, string keyId, DateTimeOffset at, CancellationToken cancellationToken);

    Task TouchKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Appends an admin action to the project's audit log.</summary>
    Task AddAuditAsync(ProjectId project, DateTimeOffset at, string action, WriteOrigin origin, object detail, CancellationToken cancellationToken);

    /// <summary>The project's audit log, newest first, before the entry <paramref name="before"/> when given.</summary>
    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(ProjectId project, long? before, int limit, CancellationToken cancellationToken);
}
