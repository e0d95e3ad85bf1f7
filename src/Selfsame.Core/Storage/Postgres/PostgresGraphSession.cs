using Npgsql;
using Selfsame.Companies;
using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Jobs;

namespace Selfsame.Storage.Postgres;

/// <summary>
/// The graph reads and writes of one PostgreSQL transaction, scoped to one project. Statements take positional
/// parameters ($1, $2...); a parameter that may be null is cast in the statement so that PostgreSQL knows its type.
/// </summary>
internal sealed class PostgresGraphSession(NpgsqlConnection connection, NpgsqlTransaction transaction, ProjectId project, DateTimeOffset now) : ITimedTransaction
{
    private const string RecordColumns =
        "r.record_id, r.profile_id, r.created_at, r.last_seen_at, " +
        "EXISTS (SELECT 1 FROM identifiers i WHERE i.project_id = r.project_id AND i.record_id = r.record_id AND i.type = 'user_id')";

    private const string LinkColumns = "l.link_id, l.from_record, l.into_record, l.kind, l.surface, l.created_at, l.request_id";
    private const string EventColumns = "e.event_id, e.record_id, e.name, e.time, e.properties, e.insert_id, e.surface, e.received_at";

    private readonly string _project = project.Value;
    private ProjectSettings? _settings;

    public ProjectId Project { get; } = project;
    public DateTimeOffset Now { get; set; } = now;

    public ProjectSettings Settings => _settings ??= Scalar("SELECT settings FROM projects WHERE project_id = $1", _project) is string json
        ? ProjectSettings.FromJson(json)
        : throw new GraphException(GraphErrorKind.NotFound, "project", $"no project '{Project}'");

    private long NowMs => Now.ToUnixTimeMilliseconds();

    public long NextSequence() => (long)Scalar("SELECT nextval('property_seq')")!;

    public StoredIdentifier? FindIdentifier(Identifier identifier)
    {
        // PostgreSQL text cannot hold NUL, so no stored identifier has one (the surfaces refuse NUL before writing).
        if (identifier.Value.Contains('\0', StringComparison.Ordinal) || identifier.Type.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }
        using var reader = Query("SELECT display, record_id, created_at FROM identifiers WHERE project_id = $1 AND type = $2 AND value = $3",
            _project, identifier.Type, identifier.Value);
        return reader.Read() ? new StoredIdentifier(identifier, reader.GetString(0), new RecordId(reader.GetInt64(1)), Time(reader.GetInt64(2))) : null;
    }

    public RecordInfo? GetRecord(RecordId record)
    {
        using var reader = Query($"SELECT {RecordColumns} FROM records r WHERE r.project_id = $1 AND r.record_id = $2", _project, record.Value);
        return reader.Read() ? ReadRecord(reader) : null;
    }

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

    public IReadOnlyList<StoredEvent> GetEvents(ProfileId profile, RecordId? record, EventQuery query)
    {
        var before = query.Before ?? new EventCursor(long.MaxValue, long.MaxValue);
        object?[] values =
        [
            _project, record is { } r ? r.Value : profile.Value, query.Name,
            query.From?.ToUnixTimeMilliseconds() ?? long.MinValue, query.To?.ToUnixTimeMilliseconds() ?? long.MaxValue,
            before.TimeMilliseconds, before.EventId, (long)query.Limit,
        ];
        const string filter =
            "AND ($3::text IS NULL OR e.name = $3::text) AND e.time >= $4 AND e.time < $5 AND (e.time < $6 OR (e.time = $6 AND e.event_id < $7)) " +
            "ORDER BY e.time DESC, e.event_id DESC LIMIT $8";
        return record is null
            ? List($"SELECT {EventColumns} FROM records r JOIN events e ON e.project_id = r.project_id AND e.record_id = r.record_id " +
                   "WHERE r.project_id = $1 AND r.profile_id = $2 " + filter, ReadEvent, values)
            : List($"SELECT {EventColumns} FROM events e WHERE e.project_id = $1 AND e.record_id = $2 " + filter, ReadEvent, values);
    }

    public StoredEvent? FindEventByInsertId(string insertId) =>
        List($"SELECT {EventColumns} FROM events e WHERE e.project_id = $1 AND e.insert_id = $2", ReadEvent, _project, insertId).FirstOrDefault();

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

    public int CountRecordEvents(RecordId record) =>
        (int)(long)Scalar("SELECT count(*) FROM events WHERE project_id = $1 AND record_id = $2", _project, record.Value)!;

    private const string EventsInRange =
        "FROM events e WHERE e.project_id = $1 AND e.time >= $2 AND e.time < $3 AND ($4::text IS NULL OR e.name = $4::text)) d " +
        "JOIN records r ON r.project_id = $1 AND r.record_id = d.record_id";

    public UniqueUsers CountUniqueUsers(DateTimeOffset from, DateTimeOffset to, string? name)
    {
        using var rows = Query($"SELECT count(DISTINCT r.profile_id), count(*) FROM (SELECT DISTINCT e.record_id {EventsInRange}",
            _project, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), name);
        rows.Read();
        return new UniqueUsers(rows.GetInt64(0), rows.GetInt64(1));
    }

    public IReadOnlyList<UniqueUsersDay> CountUniqueUsersPerDay(DateTimeOffset from, DateTimeOffset to, string? name) =>
        List($"SELECT d.day, count(DISTINCT r.profile_id), count(*) FROM (SELECT DISTINCT floor(e.time / 86400000.0)::bigint AS day, e.record_id {EventsInRange} " +
             "GROUP BY d.day ORDER BY d.day",
            r => new UniqueUsersDay(DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0) * 86400000).UtcDateTime), r.GetInt64(1), r.GetInt64(2)),
            _project, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), name);

    public IReadOnlyList<EventSummary> SummarizeEvents(ProfileId profile) =>
        List("SELECT e.name, count(*), min(e.time), max(e.time) FROM records r JOIN events e ON e.project_id = r.project_id AND e.record_id = r.record_id " +
             "WHERE r.project_id = $1 AND r.profile_id = $2 GROUP BY e.name ORDER BY e.name",
            r => new EventSummary(r.GetString(0), r.GetInt64(1), Time(r.GetInt64(2)), Time(r.GetInt64(3))), _project, profile.Value);

    public CompanyInfo? GetCompany(string companyId)
    {
        DateTimeOffset created, updated;
        using (var row = Query("SELECT created_at, updated_at FROM companies WHERE project_id = $1 AND company_id = $2", _project, companyId))
        {
            if (!row.Read())
            {
                return null;
            }
            (created, updated) = (Time(row.GetInt64(0)), Time(row.GetInt64(1)));
        }
        var properties = List("SELECT key, type, value, updated_at FROM company_properties WHERE project_id = $1 AND company_id = $2 ORDER BY key",
            r => new CompanyProperty(r.GetString(0), new PropertyValue(PropertyValue.ParseTypeName(r.GetString(1)), r.GetString(2)), Time(r.GetInt64(3))),
            _project, companyId);
        var members = List("SELECT record_id FROM company_members WHERE project_id = $1 AND company_id = $2 ORDER BY record_id",
            r => new RecordId(r.GetInt64(0)), _project, companyId);
        return new CompanyInfo(companyId, created, updated, properties, members);
    }

    public IReadOnlyList<string> GetProfileCompanies(ProfileId profile) =>
        List("SELECT DISTINCT m.company_id FROM records r JOIN company_members m ON m.project_id = r.project_id AND m.record_id = r.record_id " +
             "WHERE r.project_id = $1 AND r.profile_id = $2 ORDER BY m.company_id", r => r.GetString(0), _project, profile.Value);

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

    /// <summary>PostgreSQL reads each look-up when it comes.</summary>
    public void ReadAhead(IEnumerable<Identifier> identifiers, IEnumerable<string> insertIds)
    {
    }

    public Exception? Attempt(Action<IGraphTransaction> work)
    {
        transaction.Save("attempt");
        try
        {
            work(this);
            transaction.Release("attempt");
            return null;
        }
        catch (Exception e) when (e is not NpgsqlException || PostgresStore.IsDataError(e))
        {
            // A refusal by the rules, or the server refusing this work's data (too long, malformed): undone, the rest goes on.
            // A lost connection, a lock timeout or a deadlock is not caught: the whole transaction fails.
            transaction.Rollback("attempt");
            transaction.Release("attempt");
            return e;
        }
    }

    public void UpsertCompany(string companyId) =>
        Execute("INSERT INTO companies (project_id, company_id, created_at, updated_at) VALUES ($1, $2, $3, $3) " +
                "ON CONFLICT (project_id, company_id) DO UPDATE SET updated_at = excluded.updated_at", _project, companyId, NowMs);

    public void SetCompanyProperty(string companyId, string key, PropertyValue value) =>
        Execute("INSERT INTO company_properties (project_id, company_id, key, type, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6) " +
                "ON CONFLICT (project_id, company_id, key) DO UPDATE SET type = excluded.type, value = excluded.value, updated_at = excluded.updated_at",
            _project, companyId, key, PropertyValue.TypeName(value.Type), value.Json, NowMs);

    public void RemoveCompanyProperty(string companyId, string key) =>
        Execute("DELETE FROM company_properties WHERE project_id = $1 AND company_id = $2 AND key = $3", _project, companyId, key);

    public void AddCompanyMember(string companyId, RecordId record) =>
        Execute("INSERT INTO company_members (project_id, company_id, record_id, joined_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            _project, companyId, record.Value, NowMs);

    public void RecordJobProgress(string jobId, string owner, long fromLine, long nextLine, long completed, IReadOnlyList<JobRowError> errors, DateTimeOffset leaseUntil)
    {
        var moved = Execute(
            "UPDATE jobs SET next_line = $3, completed_rows = completed_rows + $4, failed_rows = failed_rows + $5, lease_until = $8 " +
            "WHERE project_id = $1 AND job_id = $2 AND owner = $6 AND next_line = $7",
            _project, jobId, nextLine, completed, (long)errors.Count, owner, fromLine, leaseUntil.ToUnixTimeMilliseconds());
        if (moved == 0)
        {
            throw new JobClaimLostException(jobId);
        }
        foreach (var error in errors)
        {
            Execute("INSERT INTO job_errors (project_id, job_id, line, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", _project, jobId, error.Line, error.Reason);
        }
    }

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

    public long AddEvent(RecordId record, string name, DateTimeOffset time, string propertiesJson, string? insertId, string surface)
    {
        var id = (long)Scalar("SELECT nextval('event_ids')")!;
        Execute("INSERT INTO events (project_id, event_id, record_id, name, time, properties, insert_id, surface, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7::text, $8, $9)",
            _project, id, record.Value, name, time.ToUnixTimeMilliseconds(), propertiesJson, insertId, surface, NowMs);
        return id;
    }

    public void AddAudit(string action, WriteOrigin origin, object detail) =>
        Execute("INSERT INTO audit (project_id, audit_id, at, action, surface, request_id, key_id, detail, client_address) " +
                "VALUES ($1, nextval('audit_ids'), $2, $3, $4, $5::text, $6::text, $7, $8::text)",
            _project, NowMs, action, origin.Surface, origin.RequestId, origin.KeyId, System.Text.Json.JsonSerializer.Serialize(detail), origin.ClientAddress);

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
    }

    private NpgsqlCommand Command(string sql, object?[] args)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var arg in args)
        {
            // The surfaces refuse NUL in what they store; a value that still carries one is refused here as bad input, not
            // left to fail inside PostgreSQL, whose text cannot hold it.
            if (arg is string text && text.Contains('\0', StringComparison.Ordinal))
            {
                throw new GraphException(GraphErrorKind.Invalid, "(text)", "a value holds a NUL character, which the store cannot keep");
            }
            command.Parameters.Add(new NpgsqlParameter { Value = arg ?? DBNull.Value });
        }
        return command;
    }

    private NpgsqlDataReader Query(string sql, params object?[] args)
    {
        using var command = Command(sql, args);
        return command.ExecuteReader();
    }

    private List<T> List<T>(string sql, Func<NpgsqlDataReader, T> read, params object?[] args)
    {
        using var reader = Query(sql, args);
        var result = new List<T>();
        while (reader.Read())
        {
            result.Add(read(reader));
        }
        return result;
    }

    private object? Scalar(string sql, params object?[] args)
    {
        using var command = Command(sql, args);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    private int Execute(string sql, params object?[] args)
    {
        using var command = Command(sql, args);
        return command.ExecuteNonQuery();
    }

    private static RecordInfo ReadRecord(NpgsqlDataReader r) =>
        new(new RecordId(r.GetInt64(0)), new ProfileId(r.GetInt64(1)), Time(r.GetInt64(2)), Time(r.GetInt64(3)), r.GetBoolean(4));

    private static Link ReadLink(NpgsqlDataReader r) =>
        new(new LinkId(r.GetInt64(0)), new RecordId(r.GetInt64(1)), new RecordId(r.GetInt64(2)), r.GetString(3), r.GetString(4), Time(r.GetInt64(5)),
            r.IsDBNull(6) ? null : r.GetString(6));

    private static StoredEvent ReadEvent(NpgsqlDataReader r) =>
        new(r.GetInt64(0), new RecordId(r.GetInt64(1)), r.GetString(2), Time(r.GetInt64(3)), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
            r.GetString(6), Time(r.GetInt64(7)));

    private static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);
}
