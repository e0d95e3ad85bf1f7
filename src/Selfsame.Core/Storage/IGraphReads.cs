using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>A record as the graph rules see it.</summary>
public sealed record RecordInfo(RecordId Id, ProfileId Profile, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, bool Identified);

/// <summary>
/// Stale records from one look: <see cref="Next"/> is the id to go on after, null when nothing is left to look at;
/// <see cref="Through"/> the highest id the next looks need to reach (records made after a sweep began are not stale).
/// </summary>
public sealed record StaleRecords(IReadOnlyList<RecordId> Records, long? Next, long Through);

/// <summary>Reads of a project's graph: identifiers, records, the profiles they form, their links and properties.</summary>
public interface IGraphReads : IProjectSession
{
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

    /// <summary>
    /// Up to <paramref name="limit"/> records whose last_seen_at is before <paramref name="cutoff"/>, for a caller that
    /// deletes the records it is given before it looks again (the retention sweep). A store may look at part of the ids at
    /// a time, those above <paramref name="after"/> and at most <paramref name="through"/> (SQLite, in id order), or find
    /// them by last_seen_at from the start each time (PostgreSQL, oldest first); the answer says where to go on from
    /// (<see cref="StaleRecords.Next"/>, null when nothing is left) and how far to go.
    /// </summary>
    StaleRecords ListRecordsNotSeenSince(DateTimeOffset cutoff, long after, long through, int limit);
}
