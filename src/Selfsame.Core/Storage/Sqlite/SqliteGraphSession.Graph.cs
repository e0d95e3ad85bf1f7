using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

// Identifiers, records, profiles, links and properties (IGraphReads, IGraphWrites).
internal sealed partial class SqliteGraphSession : IGraphReads, IGraphWrites
{
    private const string RecordColumns =
        "r.record_id, r.profile_id, r.created_at, r.last_seen_at, " +
        "EXISTS (SELECT 1 FROM identifiers i WHERE i.project_id = r.project_id AND i.record_id = r.record_id AND i.type = 'user_id')";

    private const string LinkColumns = "l.link_id, l.from_record, l.into_record, l.kind, l.surface, l.created_at, l.request_id";

    public StoredIdentifier? FindIdentifier(Identifier identifier)
    {
        if (_pending.Identifier(identifier) is { } held)
        {
            return held;
        }
        if (_pending.KeptIdentifier(identifier, out var ahead))
        {
            return ahead;
        }
        // The owning record comes along: the rules read it next (GetRecord), and for a user_id it is known to be identified.
        using var reader = Sql.Query(
            "SELECT i.display, i.record_id, i.created_at, r.profile_id, r.created_at, r.last_seen_at FROM identifiers i " +
            "LEFT JOIN records r ON r.record_id = i.record_id AND r.project_id = i.project_id WHERE i.project_id = @p0 AND i.type = @p1 AND i.value = @p2",
            _project, identifier.Type, identifier.Value);
        if (!reader.Read())
        {
            return null;
        }
        var record = new RecordId(reader.GetInt64(1));
        if (identifier.Type == IdentifierTypes.UserId && !reader.IsDBNull(3))
        {
            _pending.KeepRecord(new RecordInfo(record, new ProfileId(reader.GetInt64(3)), Time(reader.GetInt64(4)), Time(reader.GetInt64(5)), Identified: true));
        }
        return new StoredIdentifier(identifier, reader.GetString(0), record, Time(reader.GetInt64(2)));
    }

    public RecordInfo? GetRecord(RecordId record)
    {
        if (_pending.HasRecord(record.Value))
        {
            return _pending.Record(record.Value, null);
        }
        if (_pending.KeptRecord(record.Value) is { } kept)
        {
            return _pending.Record(record.Value, kept);
        }
        using var reader = Sql.Query($"SELECT {RecordColumns} FROM records r WHERE r.project_id = @p0 AND r.record_id = @p1", _project, record.Value);
        return _pending.Record(record.Value, reader.Read() ? ReadRecord(reader) : null);
    }

    public IReadOnlyList<RecordInfo> GetProfileRecords(ProfileId profile)
    {
        WritePending();
        using var reader = Sql.Query($"SELECT {RecordColumns} FROM records r WHERE r.project_id = @p0 AND r.profile_id = @p1 ORDER BY r.record_id", _project, profile.Value);
        var result = new List<RecordInfo>();
        while (reader.Read())
        {
            result.Add(ReadRecord(reader));
        }
        return result;
    }

    public IReadOnlyList<StoredIdentifier> GetProfileIdentifiers(ProfileId profile)
    {
        WritePending();
        using var reader = Sql.Query(
            "SELECT i.type, i.value, i.display, i.record_id, i.created_at FROM records r " +
            "CROSS JOIN identifiers i INDEXED BY identifiers_by_record ON i.project_id = r.project_id AND i.record_id = r.record_id " +
            "WHERE r.project_id = @p0 AND r.profile_id = @p1 ORDER BY i.record_id, i.created_at, i.type, i.value",
            _project, profile.Value);
        var result = new List<StoredIdentifier>();
        while (reader.Read())
        {
            result.Add(new StoredIdentifier(new Identifier(reader.GetString(0), reader.GetString(1)), reader.GetString(2),
                new RecordId(reader.GetInt64(3)), Time(reader.GetInt64(4))));
        }
        return result;
    }

    public IReadOnlyList<Link> GetProfileLinks(ProfileId profile)
    {
        WritePending();
        using var reader = Sql.Query(
            $"SELECT {LinkColumns} FROM records r CROSS JOIN links l INDEXED BY links_by_from ON l.project_id = r.project_id AND l.from_record = r.record_id " +
            "WHERE r.project_id = @p0 AND r.profile_id = @p1 ORDER BY l.link_id",
            _project, profile.Value);
        var result = new List<Link>();
        while (reader.Read())
        {
            result.Add(ReadLink(reader));
        }
        return result;
    }

    public IReadOnlyList<StoredProperty> GetProfileProperties(ProfileId profile)
    {
        WritePending();
        using var reader = Sql.Query(
            "SELECT p.record_id, p.document FROM records r CROSS JOIN record_properties p ON p.record_id = r.record_id AND p.project_id = r.project_id " +
            "WHERE r.project_id = @p0 AND r.profile_id = @p1",
            _project, profile.Value);
        var result = new List<StoredProperty>();
        while (reader.Read())
        {
            result.AddRange(SqlitePropertyDocument.Parse(reader.GetString(1)).Properties(new RecordId(reader.GetInt64(0))));
        }
        return result;
    }

    public int CountProfileRecords(ProfileId profile)
    {
        WritePending();
        return (int)(long)Sql.Scalar("SELECT count(*) FROM records WHERE project_id = @p0 AND profile_id = @p1", _project, profile.Value)!;
    }

    public int CountProfileIdentifiers(ProfileId profile, string type)
    {
        WritePending();
        return (int)(long)Sql.Scalar(
            "SELECT count(*) FROM records r CROSS JOIN identifiers i INDEXED BY identifiers_by_record ON i.project_id = r.project_id AND i.record_id = r.record_id " +
            "WHERE r.project_id = @p0 AND r.profile_id = @p1 AND i.type = @p2",
            _project, profile.Value, type)!;
    }

    public IReadOnlyList<ProfileId> ListProfiles(ProfileId after, int limit)
    {
        WritePending();
        using var reader = Sql.Query("SELECT DISTINCT profile_id FROM records WHERE project_id = @p0 AND profile_id > @p1 ORDER BY profile_id LIMIT @p2",
            _project, after.Value, limit);
        var result = new List<ProfileId>();
        while (reader.Read())
        {
            result.Add(new ProfileId(reader.GetInt64(0)));
        }
        return result;
    }

    /// <summary>How many record ids one look at stale records walks at most (a few milliseconds of the writer's time).</summary>
    internal const long StaleRecordsWindow = 100_000;

    /// <summary>
    /// Walks the records table by id, at most <see cref="StaleRecordsWindow"/> ids a look, so that a sweep holds the writer
    /// only briefly each time. There is no index on last_seen_at: every event would move the record's entry in it, and the
    /// sweep, its only reader, runs rarely.
    /// </summary>
    public StaleRecords ListRecordsNotSeenSince(DateTimeOffset cutoff, long after, long through, int limit)
    {
        WritePending();
        // The first look fixes how far the sweep goes: records made after it began were seen then.
        var highest = Math.Min(through, Sql.Scalar("SELECT max(record_id) FROM records") as long? ?? 0);
        var end = Math.Min(after + StaleRecordsWindow, highest);
        var result = new List<RecordId>();
        using (var rows = Sql.Query(
            "SELECT record_id FROM records NOT INDEXED WHERE record_id > @p1 AND record_id <= @p2 AND project_id = @p0 AND last_seen_at < @p3 ORDER BY record_id LIMIT @p4",
            _project, after, end, cutoff.ToUnixTimeMilliseconds(), limit))
        {
            while (rows.Read())
            {
                result.Add(new RecordId(rows.GetInt64(0)));
            }
        }
        if (result.Count == limit)
        {
            return new StaleRecords(result, result[^1].Value, highest);
        }
        return new StaleRecords(result, end < highest ? end : null, highest);
    }

    public RecordId CreateRecord()
    {
        var id = Next("record_id");
        _pending.AddRecord(id, Now.ToUnixTimeMilliseconds());
        return new RecordId(id);
    }

    public void TouchRecord(RecordId record) => _pending.Touch(record.Value, Now.ToUnixTimeMilliseconds());

    public void AttachIdentifier(RecordId record, Identifier identifier, string display) =>
        _pending.AddIdentifier(new StoredIdentifier(identifier, display, record, Time(Now.ToUnixTimeMilliseconds())));

    public bool DetachIdentifier(Identifier identifier)
    {
        WritePending();
        return Sql.Execute("DELETE FROM identifiers WHERE project_id = @p0 AND type = @p1 AND value = @p2", _project, identifier.Type, identifier.Value) > 0;
    }

    public Link AddLink(RecordId from, RecordId into, string kind, WriteOrigin origin)
    {
        WritePending();
        var id = Next("link_id");
        Sql.Execute(
            "INSERT INTO links (link_id, project_id, from_record, into_record, kind, surface, created_at, request_id) VALUES (@p7, @p0, @p1, @p2, @p3, @p4, @p5, @p6)",
            _project, from.Value, into.Value, kind, origin.Surface, Now.ToUnixTimeMilliseconds(), origin.RequestId, id);
        return new Link(new LinkId(id), from, into, kind, origin.Surface, Time(Now.ToUnixTimeMilliseconds()), origin.RequestId);
    }

    public IReadOnlyList<Link> RemoveLinksBetween(RecordId a, RecordId b)
    {
        WritePending();
        var removed = new List<Link>();
        foreach (var (from, into) in new[] { (a, b), (b, a) })
        {
            using var reader = Sql.Query($"SELECT {LinkColumns} FROM links l WHERE l.project_id = @p0 AND l.from_record = @p1 AND l.into_record = @p2",
                _project, from.Value, into.Value);
            while (reader.Read())
            {
                removed.Add(ReadLink(reader));
            }
        }
        foreach (var link in removed)
        {
            RemoveLink(link.Id);
        }
        return removed;
    }

    public void RemoveLink(LinkId link)
    {
        WritePending();
        Sql.Execute("DELETE FROM links WHERE project_id = @p0 AND link_id = @p1", _project, link.Value);
    }

    public void SetProfile(IEnumerable<RecordId> records, ProfileId profile)
    {
        WritePending();
        foreach (var record in records)
        {
            Sql.Execute("UPDATE records SET profile_id = @p2 WHERE project_id = @p0 AND record_id = @p1", _project, record.Value, profile.Value);
        }
    }

    public void SetProperty(RecordId record, string key, PropertyValue value)
    {
        Properties(record).Set(key, value, Now.ToUnixTimeMilliseconds(), NextSequence());
        _pending.Changed();
    }

    public bool HasProperty(RecordId record, string key) => Properties(record).Has(key);

    public bool RemoveProperty(RecordId record, string key)
    {
        var removed = Properties(record).Remove(key);
        _pending.Changed();
        return removed;
    }

    private SqlitePropertyDocument Properties(RecordId record) => _pending.Properties(record.Value, _readProperties);

    private string? ReadProperties(long record) =>
        Sql.Scalar("SELECT document FROM record_properties WHERE record_id = @p1 AND project_id = @p0", _project, record) as string;

    public void DeleteRecord(RecordId record)
    {
        WritePending();
        Sql.Execute("DELETE FROM identifiers INDEXED BY identifiers_by_record WHERE project_id = @p0 AND record_id = @p1", _project, record.Value);
        Sql.Execute("DELETE FROM record_properties WHERE record_id = @p1 AND project_id = @p0", _project, record.Value);
        Sql.Execute("DELETE FROM company_members INDEXED BY company_members_by_record WHERE project_id = @p0 AND record_id = @p1", _project, record.Value);
        Sql.Execute("DELETE FROM events INDEXED BY events_by_record WHERE project_id = @p0 AND record_id = @p1", _project, record.Value);
        Sql.Execute("DELETE FROM links WHERE project_id = @p0 AND from_record = @p1", _project, record.Value);
        Sql.Execute("DELETE FROM links WHERE project_id = @p0 AND into_record = @p1", _project, record.Value);
        Sql.Execute("DELETE FROM records WHERE project_id = @p0 AND record_id = @p1", _project, record.Value);
        ForgetReviewValues(record);
    }

    private static RecordInfo ReadRecord(SqliteStatements.Rows reader) =>
        new(new RecordId(reader.GetInt64(0)), new ProfileId(reader.GetInt64(1)), Time(reader.GetInt64(2)), Time(reader.GetInt64(3)), reader.GetInt64(4) != 0);

    private static Link ReadLink(SqliteStatements.Rows reader) =>
        new(new LinkId(reader.GetInt64(0)), new RecordId(reader.GetInt64(1)), new RecordId(reader.GetInt64(2)), reader.GetString(3),
            reader.GetString(4), Time(reader.GetInt64(5)), reader.IsDBNull(6) ? null : reader.GetString(6));
}
