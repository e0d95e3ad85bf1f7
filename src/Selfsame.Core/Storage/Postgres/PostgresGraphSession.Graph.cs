using Npgsql;
using Selfsame.Graph;

namespace Selfsame.Storage.Postgres;

// Identifiers, records, profiles, links and properties (IGraphReads, IGraphWrites).
internal sealed partial class PostgresGraphSession : IGraphReads, IGraphWrites
{
    private const string RecordColumns =
        "r.record_id, r.profile_id, r.created_at, r.last_seen_at, " +
        "EXISTS (SELECT 1 FROM identifiers i WHERE i.project_id = r.project_id AND i.record_id = r.record_id AND i.type = 'user_id')";

    private const string LinkColumns = "l.link_id, l.from_record, l.into_record, l.kind, l.surface, l.created_at, l.request_id";

    public StoredIdentifier? FindIdentifier(Identifier identifier)
    {
        // PostgreSQL text cannot hold NUL, so no stored identifier has one (the surfaces refuse NUL before writing).
        if (identifier.Value.Contains('\0', StringComparison.Ordinal) || identifier.Type.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }
        return List("SELECT display, record_id, created_at FROM identifiers WHERE project_id = $1 AND type = $2 AND value = $3",
            r => new StoredIdentifier(identifier, r.GetString(0), new RecordId(r.GetInt64(1)), Time(r.GetInt64(2))), _project, identifier.Type, identifier.Value)
            .FirstOrDefault();
    }

    public RecordInfo? GetRecord(RecordId record) =>
        List($"SELECT {RecordColumns} FROM records r WHERE r.project_id = $1 AND r.record_id = $2", ReadRecord, _project, record.Value).FirstOrDefault();

    public IReadOnlyList<RecordInfo> GetProfileRecords(ProfileId profile) =>
        List($"SELECT {RecordColumns} FROM records r WHERE r.project_id = $1 AND r.profile_id = $2 ORDER BY r.record_id", ReadRecord, _project, profile.Value);

    public IReadOnlyList<StoredIdentifier> GetProfileIdentifiers(ProfileId profile) =>
        List("SELECT i.type, i.value, i.display, i.record_id, i.created_at FROM records r JOIN identifiers i ON i.project_id = r.project_id AND i.record_id = r.record_id " +
             "WHERE r.project_id = $1 AND r.profile_id = $2 ORDER BY i.record_id, i.created_at, i.type, i.value",
            r => new StoredIdentifier(new Identifier(r.GetString(0), r.GetString(1)), r.GetString(2), new RecordId(r.GetInt64(3)), Time(r.GetInt64(4))),
            _project, profile.Value);

    public IReadOnlyList<Link> GetProfileLinks(ProfileId profile) =>
        List($"SELECT {LinkColumns} FROM records r JOIN links l ON l.project_id = r.project_id AND l.from_record = r.record_id " +
             "WHERE r.project_id = $1 AND r.profile_id = $2 ORDER BY l.link_id", ReadLink, _project, profile.Value);

    public IReadOnlyList<StoredProperty> GetProfileProperties(ProfileId profile) =>
        List("SELECT p.record_id, p.key, p.type, p.value, p.updated_at, p.seq FROM records r JOIN properties p ON p.project_id = r.project_id AND p.record_id = r.record_id " +
             "WHERE r.project_id = $1 AND r.profile_id = $2",
            r => new StoredProperty(new RecordId(r.GetInt64(0)), r.GetString(1), new PropertyValue(PropertyValue.ParseTypeName(r.GetString(2)), r.GetString(3)),
                Time(r.GetInt64(4)), r.GetInt64(5)),
            _project, profile.Value);

    public int CountProfileRecords(ProfileId profile) =>
        (int)(long)Scalar("SELECT count(*) FROM records WHERE project_id = $1 AND profile_id = $2", _project, profile.Value)!;

    public int CountProfileIdentifiers(ProfileId profile, string type) =>
        (int)(long)Scalar("SELECT count(*) FROM records r JOIN identifiers i ON i.project_id = r.project_id AND i.record_id = r.record_id " +
                          "WHERE r.project_id = $1 AND r.profile_id = $2 AND i.type = $3", _project, profile.Value, type)!;

    public IReadOnlyList<ProfileId> ListProfiles(ProfileId after, int limit) =>
        List("SELECT DISTINCT profile_id FROM records WHERE project_id = $1 AND profile_id > $2 ORDER BY profile_id LIMIT $3",
            r => new ProfileId(r.GetInt64(0)), _project, after.Value, (long)limit);

    /// <summary>
    /// Oldest first through records_by_last_seen, one batch a look; the ids are not needed as a cursor, since the caller
    /// deletes what it is given before the next look.
    /// </summary>
    public StaleRecords ListRecordsNotSeenSince(DateTimeOffset cutoff, long after, long through, int limit)
    {
        var records = List("SELECT record_id FROM records WHERE project_id = $1 AND last_seen_at < $2 ORDER BY last_seen_at LIMIT $3",
            r => new RecordId(r.GetInt64(0)), _project, cutoff.ToUnixTimeMilliseconds(), (long)limit);
        return new StaleRecords(records, records.Count == limit ? after : null, through);
    }

    public RecordId CreateRecord()
    {
        var id = (long)Scalar("SELECT nextval('record_ids')")!;
        Execute("INSERT INTO records (project_id, record_id, profile_id, created_at, last_seen_at) VALUES ($1, $2, $2, $3, $3)", _project, id, NowMs);
        return new RecordId(id);
    }

    public void TouchRecord(RecordId record) =>
        Execute("UPDATE records SET last_seen_at = $3 WHERE project_id = $1 AND record_id = $2", _project, record.Value, NowMs);

    public void AttachIdentifier(RecordId record, Identifier identifier, string display) =>
        Execute("INSERT INTO identifiers (project_id, type, value, display, record_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            _project, identifier.Type, identifier.Value, display, record.Value, NowMs);

    public bool DetachIdentifier(Identifier identifier) =>
        Execute("DELETE FROM identifiers WHERE project_id = $1 AND type = $2 AND value = $3", _project, identifier.Type, identifier.Value) > 0;

    public Link AddLink(RecordId from, RecordId into, string kind, WriteOrigin origin)
    {
        var id = (long)Scalar("SELECT nextval('link_ids')")!;
        Execute("INSERT INTO links (project_id, link_id, from_record, into_record, kind, surface, created_at, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text)",
            _project, id, from.Value, into.Value, kind, origin.Surface, NowMs, origin.RequestId);
        return new Link(new LinkId(id), from, into, kind, origin.Surface, Time(NowMs), origin.RequestId);
    }

    public IReadOnlyList<Link> RemoveLinksBetween(RecordId a, RecordId b)
    {
        var removed = List($"SELECT {LinkColumns} FROM links l WHERE l.project_id = $1 AND ((l.from_record = $2 AND l.into_record = $3) OR (l.from_record = $3 AND l.into_record = $2)) " +
                           "ORDER BY l.link_id", ReadLink, _project, a.Value, b.Value);
        foreach (var link in removed)
        {
            RemoveLink(link.Id);
        }
        return removed;
    }

    public void RemoveLink(LinkId link) => Execute("DELETE FROM links WHERE project_id = $1 AND link_id = $2", _project, link.Value);

    public void SetProfile(IEnumerable<RecordId> records, ProfileId profile)
    {
        var ids = records.Select(r => r.Value).ToArray();
        if (ids.Length > 0)
        {
            Execute("UPDATE records SET profile_id = $3 WHERE project_id = $1 AND record_id = ANY($2)", _project, ids, profile.Value);
        }
    }

    public void SetProperty(RecordId record, string key, PropertyValue value) =>
        Execute("INSERT INTO properties (project_id, record_id, key, type, value, updated_at, seq) VALUES ($1, $2, $3, $4, $5, $6, nextval('property_seq')) " +
                "ON CONFLICT (project_id, record_id, key) DO UPDATE SET type = excluded.type, value = excluded.value, updated_at = excluded.updated_at, seq = excluded.seq",
            _project, record.Value, key, PropertyValue.TypeName(value.Type), value.Json, NowMs);

    public bool HasProperty(RecordId record, string key) =>
        Scalar("SELECT 1 FROM properties WHERE project_id = $1 AND record_id = $2 AND key = $3", _project, record.Value, key) is not null;

    public bool RemoveProperty(RecordId record, string key) =>
        Execute("DELETE FROM properties WHERE project_id = $1 AND record_id = $2 AND key = $3", _project, record.Value, key) > 0;

    public void DeleteRecord(RecordId record)
    {
        foreach (var table in new[] { "identifiers", "properties", "company_members", "events" })
        {
            Execute($"DELETE FROM {table} WHERE project_id = $1 AND record_id = $2", _project, record.Value);
        }
        Execute("DELETE FROM links WHERE project_id = $1 AND (from_record = $2 OR into_record = $2)", _project, record.Value);
        Execute("DELETE FROM records WHERE project_id = $1 AND record_id = $2", _project, record.Value);
        ForgetReviewValues(record);
    }

    private static RecordInfo ReadRecord(NpgsqlDataReader r) =>
        new(new RecordId(r.GetInt64(0)), new ProfileId(r.GetInt64(1)), Time(r.GetInt64(2)), Time(r.GetInt64(3)), r.GetBoolean(4));

    private static Link ReadLink(NpgsqlDataReader r) =>
        new(new LinkId(r.GetInt64(0)), new RecordId(r.GetInt64(1)), new RecordId(r.GetInt64(2)), r.GetString(3), r.GetString(4), Time(r.GetInt64(5)),
            r.IsDBNull(6) ? null : r.GetString(6));
}
