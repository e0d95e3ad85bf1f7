using Selfsame.Events;
using Selfsame.Graph;
using SQLitePCL;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// The graph reads and writes of one SQLite connection. The writer's session runs inside its transaction;
/// a read session is a pooled query-only connection.
/// Joins from records to identifiers, links and properties are written as CROSS JOIN, which SQLite keeps in the written
/// order: records of one profile first (records_by_profile), then their rows. Left to itself, the planner drove these
/// joins from the other table by project_id alone, reading every row of the project on each merge; and for identifiers
/// it preferred the primary key by project_id alone to identifiers_by_record, hence the INDEXED BY.
/// </summary>
internal sealed class SqliteGraphSession : ITimedTransaction, IDisposable
{
    public SqliteGraphSession(SqliteStatements sql)
    {
        Sql = sql;
        _readProperties = ReadProperties;
    }

    private const string RecordColumns =
        "r.record_id, r.profile_id, r.created_at, r.last_seen_at, " +
        "EXISTS (SELECT 1 FROM identifiers i WHERE i.project_id = r.project_id AND i.record_id = r.record_id AND i.type = 'user_id')";

    private const string LinkColumns = "l.link_id, l.from_record, l.into_record, l.kind, l.surface, l.created_at, l.request_id";

    private readonly Dictionary<ProjectId, ProjectSettings> _settings = [];
    private string _project = "";
    private readonly Dictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyCounters = new(StringComparer.Ordinal);
    private readonly SqlitePendingWrites _pending = new();
    private readonly Func<long, string?> _readProperties;

    public SqliteStatements Sql { get; }
    public ProjectId Project { get; private set; }
    public DateTimeOffset Now { get; set; }

    public ProjectSettings Settings
    {
        get
        {
            if (!_settings.TryGetValue(Project, out var settings))
            {
                var json = Sql.Scalar("SELECT settings FROM projects WHERE project_id = @p0", _project) as string
                    ?? throw new GraphException(GraphErrorKind.NotFound, "project", $"no project '{Project}'");
                settings = ProjectSettings.FromJson(json);
                _settings[Project] = settings;
            }
            return settings;
        }
    }

    public void Bind(ProjectId project)
    {
        if (!_pending.IsEmpty && project != Project)
        {
            throw new InvalidOperationException("the session holds writes of another project; write them out before binding");
        }
        if (project != Project)
        {
            // Copies of another project's rows are not this one's.
            _pending.ForgetKept();
        }
        Project = project;
        _project = project.Value;
    }

    /// <summary>Forgets what was read in an earlier transaction (settings, the sequence).</summary>
    public void BeginUnitOfWork()
    {
        _settings.Clear();
        _counters.Clear();
        _dirtyCounters.Clear();
        _pending.Clear();
    }

    /// <summary>
    /// Writes out the rows held back so far (<see cref="SqlitePendingWrites"/>). Every read and write that the held-back
    /// rows could change calls this first; the writer calls it at the end of a group, and <see cref="Attempt"/> inside its
    /// savepoint, so that a failure there is the attempt's own.
    /// </summary>
    public void WritePending()
    {
        if (_pending.IsEmpty)
        {
            _pending.WriteTo(Sql, _project);
            return;
        }
        var started = SqliteWriterTimings.Start();
        _pending.WriteTo(Sql, _project);
        SqliteWriterTimings.Add(SqliteWriterTimings.WriteOut, started);
    }

    /// <summary>Writes back what the unit of work kept in memory; call before COMMIT.</summary>
    public void Flush()
    {
        WritePending();
        foreach (var name in _dirtyCounters)
        {
            Sql.Execute("UPDATE counters SET value = @p1 WHERE name = @p0", name, _counters[name]);
        }
        _dirtyCounters.Clear();
    }

    public long NextSequence() => Next("property_seq");

    /// <summary>
    /// The next value of a persisted counter. Only the writer holding the database's write lock calls this, so the
    /// counter is read once per transaction and written back by <see cref="Flush"/>; values are never handed out twice.
    /// </summary>
    private long Next(string name)
    {
        if (!_counters.TryGetValue(name, out var value))
        {
            value = (long)Sql.Scalar("SELECT value FROM counters WHERE name = @p0", name)!;
        }
        _counters[name] = ++value;
        _dirtyCounters.Add(name);
        return value;
    }

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

    /// <summary>
    /// Reads the identifiers and insert_ids that the coming requests will look up, up to 64 a statement in key order, and
    /// keeps what the database holds (or that it holds nothing) until anything is written out: one statement per request
    /// and look-up was a large part of an event's cost.
    /// </summary>
    public void ReadAhead(IEnumerable<Identifier> identifiers, IEnumerable<string> insertIds)
    {
        var started = SqliteWriterTimings.Start();
        ReadIdentifiersAhead(identifiers);
        ReadInsertIdsAhead(insertIds);
        SqliteWriterTimings.Add(SqliteWriterTimings.ReadAhead, started);
    }

    private void ReadIdentifiersAhead(IEnumerable<Identifier> identifiers)
    {
        foreach (var byType in identifiers.Where(i => _pending.Identifier(i) is null && !_pending.KeptIdentifier(i, out _)).Distinct().GroupBy(i => i.Type))
        {
            foreach (var slice in byType.Select(i => i.Value).Order(StringComparer.Ordinal).Chunk(SqliteMultiRowInsert.MaxRows))
            {
                var found = new HashSet<string>(StringComparer.Ordinal);
                using (var reader = Sql.Query(IdentifiersAheadText(slice.Length), [_project, byType.Key, .. slice]))
                {
                    while (reader.Read())
                    {
                        var identifier = new Identifier(byType.Key, reader.GetString(0));
                        var record = new RecordId(reader.GetInt64(2));
                        if (identifier.Type == IdentifierTypes.UserId && !reader.IsDBNull(4))
                        {
                            _pending.KeepRecord(new RecordInfo(record, new ProfileId(reader.GetInt64(4)), Time(reader.GetInt64(5)), Time(reader.GetInt64(6)), Identified: true));
                        }
                        _pending.KeepIdentifier(identifier, new StoredIdentifier(identifier, reader.GetString(1), record, Time(reader.GetInt64(3))));
                        found.Add(identifier.Value);
                    }
                }
                // Absent only once the whole answer is read: a look-up that failed half-way must not leave "none" behind.
                foreach (var value in slice.Where(v => !found.Contains(v)))
                {
                    _pending.KeepIdentifier(new Identifier(byType.Key, value), null);
                }
            }
        }
    }

    private void ReadInsertIdsAhead(IEnumerable<string> insertIds)
    {
        var wanted = insertIds.Where(id => _pending.EventByInsertId(id) is null && !_pending.KeptInsertId(id, out _)).Distinct(StringComparer.Ordinal);
        foreach (var slice in wanted.Order(StringComparer.Ordinal).Chunk(SqliteMultiRowInsert.MaxRows))
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            using (var rows = Sql.Query(InsertIdsAheadText(slice.Length), [_project, .. slice]))
            {
                while (rows.Read())
                {
                    var stored = ReadEvent(rows);
                    _pending.KeepInsertId(stored.InsertId!, stored);
                    found.Add(stored.InsertId!);
                }
            }
            foreach (var insertId in slice.Where(id => !found.Contains(id)))
            {
                _pending.KeepInsertId(insertId, null);
            }
        }
    }

    private static readonly string?[] IdentifiersAheadTexts = new string?[SqliteMultiRowInsert.MaxRows + 1];
    private static readonly string?[] InsertIdsAheadTexts = new string?[SqliteMultiRowInsert.MaxRows + 1];

    private static string IdentifiersAheadText(int values) => IdentifiersAheadTexts[values] ??=
        "SELECT i.value, i.display, i.record_id, i.created_at, r.profile_id, r.created_at, r.last_seen_at FROM identifiers i " +
        "LEFT JOIN records r ON r.record_id = i.record_id AND r.project_id = i.project_id WHERE i.project_id = @p0 AND i.type = @p1 AND i.value IN (" +
        Parameters(2, values) + ")";

    private static string InsertIdsAheadText(int values) => InsertIdsAheadTexts[values] ??=
        $"SELECT {EventColumns} FROM events e WHERE e.project_id = @p0 AND e.insert_id IN (" + Parameters(1, values) + ")";

    private static string Parameters(int first, int count) =>
        string.Join(", ", Enumerable.Range(first, count).Select(i => "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));

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

    private const string EventColumns = "e.event_id, e.record_id, e.name, e.time, e.properties, e.insert_id, e.surface, e.received_at";

    public IReadOnlyList<StoredEvent> GetEvents(ProfileId profile, RecordId? record, EventQuery query)
    {
        WritePending();
        var before = query.Before ?? new EventCursor(long.MaxValue, long.MaxValue);
        object?[] values =
        [
            _project, record is { } r ? r.Value : profile.Value, query.Name,
            query.From?.ToUnixTimeMilliseconds() ?? long.MinValue, query.To?.ToUnixTimeMilliseconds() ?? long.MaxValue,
            before.TimeMilliseconds, before.EventId, query.Limit,
        ];
        const string filter =
            "AND (@p2 IS NULL OR e.name = @p2) AND e.time >= @p3 AND e.time < @p4 AND (e.time < @p5 OR (e.time = @p5 AND e.event_id < @p6)) " +
            "ORDER BY e.time DESC, e.event_id DESC LIMIT @p7";
        using var rows = record is null
            ? Sql.Query($"SELECT {EventColumns} FROM records r CROSS JOIN events e INDEXED BY events_by_record " +
                        "ON e.project_id = r.project_id AND e.record_id = r.record_id WHERE r.project_id = @p0 AND r.profile_id = @p1 " + filter, values)
            : Sql.Query($"SELECT {EventColumns} FROM events e INDEXED BY events_by_record WHERE e.project_id = @p0 AND e.record_id = @p1 " + filter, values);
        var result = new List<StoredEvent>();
        while (rows.Read())
        {
            result.Add(ReadEvent(rows));
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

    public int CountRecordEvents(RecordId record)
    {
        WritePending();
        return (int)(long)Sql.Scalar("SELECT count(*) FROM events INDEXED BY events_by_record WHERE project_id = @p0 AND record_id = @p1", _project, record.Value)!;
    }

    public IReadOnlyList<EventSummary> SummarizeEvents(ProfileId profile)
    {
        WritePending();
        using var rows = Sql.Query(
            "SELECT e.name, count(*), min(e.time), max(e.time) FROM records r CROSS JOIN events e INDEXED BY events_by_record " +
            "ON e.project_id = r.project_id AND e.record_id = r.record_id WHERE r.project_id = @p0 AND r.profile_id = @p1 GROUP BY e.name ORDER BY e.name",
            _project, profile.Value);
        var result = new List<EventSummary>();
        while (rows.Read())
        {
            result.Add(new EventSummary(rows.GetString(0), rows.GetInt64(1), Time(rows.GetInt64(2)), Time(rows.GetInt64(3))));
        }
        return result;
    }

    public Companies.CompanyInfo? GetCompany(string companyId)
    {
        WritePending();
        DateTimeOffset created, updated;
        using (var row = Sql.Query("SELECT created_at, updated_at FROM companies WHERE project_id = @p0 AND company_id = @p1", _project, companyId))
        {
            if (!row.Read())
            {
                return null;
            }
            (created, updated) = (Time(row.GetInt64(0)), Time(row.GetInt64(1)));
        }
        var properties = new List<Companies.CompanyProperty>();
        using (var rows = Sql.Query("SELECT key, type, value, updated_at FROM company_properties WHERE project_id = @p0 AND company_id = @p1 ORDER BY key", _project, companyId))
        {
            while (rows.Read())
            {
                properties.Add(new Companies.CompanyProperty(rows.GetString(0), new PropertyValue(PropertyValue.ParseTypeName(rows.GetString(1)), rows.GetString(2)), Time(rows.GetInt64(3))));
            }
        }
        var members = new List<RecordId>();
        using (var rows = Sql.Query("SELECT record_id FROM company_members WHERE project_id = @p0 AND company_id = @p1 ORDER BY record_id", _project, companyId))
        {
            while (rows.Read())
            {
                members.Add(new RecordId(rows.GetInt64(0)));
            }
        }
        return new Companies.CompanyInfo(companyId, created, updated, properties, members);
    }

    public IReadOnlyList<string> GetProfileCompanies(ProfileId profile)
    {
        WritePending();
        using var rows = Sql.Query(
            "SELECT DISTINCT m.company_id FROM records r CROSS JOIN company_members m INDEXED BY company_members_by_record " +
            "ON m.project_id = r.project_id AND m.record_id = r.record_id WHERE r.project_id = @p0 AND r.profile_id = @p1 ORDER BY m.company_id",
            _project, profile.Value);
        var result = new List<string>();
        while (rows.Read())
        {
            result.Add(rows.GetString(0));
        }
        return result;
    }

    public Exception? Attempt(Action<IGraphTransaction> work)
    {
        WritePending();
        Sql.Execute("SAVEPOINT attempt");
        try
        {
            work(this);
            WritePending();
            Sql.Execute("RELEASE attempt");
            return null;
        }
        catch (Exception e)
        {
            // What the work held back was held back inside the savepoint: it goes with it.
            _pending.Clear();
            Sql.Execute("ROLLBACK TO attempt");
            Sql.Execute("RELEASE attempt");
            return e;
        }
    }

    public void UpsertCompany(string companyId) => _pending.UpsertCompany(companyId, Now.ToUnixTimeMilliseconds());

    public void SetCompanyProperty(string companyId, string key, PropertyValue value) =>
        _pending.SetCompanyProperty(companyId, key, value, Now.ToUnixTimeMilliseconds());

    public void RemoveCompanyProperty(string companyId, string key)
    {
        WritePending();
        Sql.Execute("DELETE FROM company_properties WHERE project_id = @p0 AND company_id = @p1 AND key = @p2", _project, companyId, key);
    }

    public void AddCompanyMember(string companyId, RecordId record) => _pending.AddMember(companyId, record.Value, Now.ToUnixTimeMilliseconds());

    public void RecordJobProgress(string jobId, string owner, long fromLine, long nextLine, long completed, IReadOnlyList<Jobs.JobRowError> errors, DateTimeOffset leaseUntil)
    {
        WritePending();
        var moved = Sql.Execute(
            "UPDATE jobs SET next_line = @p2, completed_rows = completed_rows + @p3, failed_rows = failed_rows + @p4, lease_until = @p7 " +
            "WHERE project_id = @p0 AND job_id = @p1 AND owner = @p5 AND next_line = @p6",
            _project, jobId, nextLine, completed, (long)errors.Count, owner, fromLine, leaseUntil.ToUnixTimeMilliseconds());
        if (moved == 0)
        {
            throw new Jobs.JobClaimLostException(jobId);
        }
        foreach (var error in errors)
        {
            Sql.Execute("INSERT INTO job_errors (project_id, job_id, line, reason) VALUES (@p0, @p1, @p2, @p3) ON CONFLICT DO NOTHING",
                _project, jobId, error.Line, error.Reason);
        }
    }

    public StoredEvent? FindEventByInsertId(string insertId)
    {
        if (_pending.EventByInsertId(insertId) is { } held)
        {
            return held;
        }
        if (_pending.KeptInsertId(insertId, out var ahead))
        {
            return ahead;
        }
        using var rows = Sql.Query($"SELECT {EventColumns} FROM events e WHERE e.project_id = @p0 AND e.insert_id = @p1", _project, insertId);
        return rows.Read() ? ReadEvent(rows) : null;
    }

    /// <summary>The project's events from @p1 (inclusive) to @p2 (exclusive), of the name @p3 if not null, by the covering index.</summary>
    private const string EventsByTime =
        "FROM events e INDEXED BY events_by_time WHERE e.project_id = @p0 AND e.time >= @p1 AND e.time < @p2 AND (@p3 IS NULL OR e.name = @p3)";

    private const string EventsInRange = EventsByTime + ") d CROSS JOIN records r ON r.record_id = d.record_id AND r.project_id = @p0";

    /// <summary>
    /// Lends this session a second read session of the same store for the length of a call (set on the store's read
    /// sessions; null on the writer's, which counts on its own).
    /// </summary>
    internal ISqliteReaders? Readers { get; init; }

    public UniqueUsers CountUniqueUsers(DateTimeOffset from, DateTimeOffset to, string? name)
    {
        WritePending();
        // The records with events in the range, read from the covering index into a bitmap here: SQLite's DISTINCT would
        // insert every one of the range's events into a temporary B-tree. Then each of those records' profile, from a walk
        // of the records table over their id range (by rowid: NOT INDEXED keeps SQLite from reading records_by_profile
        // for the whole project instead). With a second core, each walk is cut in two halves read at once, the second by
        // a second session on this session's snapshot (InHalves).
        var highest = Sql.Scalar("SELECT max(record_id) FROM records") as long? ?? 0;
        var (start, end) = (from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds());
        if (Sql.Scalar(EventTimes("min"), _project, start, end, name) is not long first || Sql.Scalar(EventTimes("max"), _project, start, end, name) is not long last)
        {
            return new UniqueUsers(0, 0);
        }
        // The halves split the events' own times, not the range asked for, which may reach far beyond them (and with a
        // name, reach events of other names that the index would walk past again).
        var middle = first + (last - first) / 2 + 1;
        var records = InHalves(
            session => session.RecordsWithEvents(first, middle, name, highest),
            session => session.RecordsWithEvents(middle, last + 1, name, highest),
            static (one, other) => one.UnionWith(other));
        if (records.Max - records.Min + 1 > 4 * records.Count)
        {
            // Few records spread over a wide range of ids (a small project in a large file): look each one up.
            var profiles = new RecordIdSet(highest);
            long raw = 0;
            foreach (var id in records.Ids())
            {
                if (Sql.Scalar("SELECT profile_id FROM records WHERE record_id = @p1 AND project_id = @p0", _project, id) is long profile)
                {
                    raw++;
                    profiles.Add(profile);
                }
            }
            return new UniqueUsers(profiles.Count, raw);
        }
        var half = records.Min + (records.Max - records.Min) / 2;
        var (counted, seen) = InHalves(
            session => session.ProfilesOf(records, records.Min, half, highest),
            session => session.ProfilesOf(records, half + 1, records.Max, highest),
            static (one, other) => (one.Raw + other.Raw, one.Profiles.UnionWith(other.Profiles)));
        return new UniqueUsers(seen.Count, counted);
    }

    private static string EventTimes(string aggregate) => $"SELECT {aggregate}(e.time) {EventsByTime}";

    /// <summary>The records with events from <paramref name="start"/> (inclusive) to <paramref name="end"/> (exclusive), in milliseconds.</summary>
    private RecordIdSet RecordsWithEvents(long start, long end, string? name, long highest)
    {
        var records = new RecordIdSet(highest);
        using var rows = Sql.Query($"SELECT e.record_id {EventsByTime}", _project, start, end, name);
        while (rows.Read())
        {
            records.Add(rows.GetInt64(0));
        }
        return records;
    }

    /// <summary>The records of <paramref name="records"/> from <paramref name="low"/> to <paramref name="high"/> that exist, and their profiles.</summary>
    private (long Raw, RecordIdSet Profiles) ProfilesOf(RecordIdSet records, long low, long high, long highest)
    {
        var profiles = new RecordIdSet(highest);
        long raw = 0;
        using var rows = Sql.Query("SELECT record_id, profile_id FROM records NOT INDEXED WHERE project_id = @p0 AND record_id >= @p1 AND record_id <= @p2",
            _project, low, high);
        while (rows.Read())
        {
            if (records.Contains(rows.GetInt64(0)))
            {
                raw++;
                profiles.Add(rows.GetInt64(1));
            }
        }
        return (raw, profiles);
    }

    /// <summary>
    /// Runs <paramref name="first"/> on this session and, at the same time, <paramref name="second"/> on a second read
    /// session opened on this session's snapshot (SQLite's sqlite3_snapshot_open): both see exactly the same committed
    /// data, whatever is committed meanwhile. This session must be in a read transaction that has read. Without a second
    /// session (the writer's), on one core, or when SQLite cannot take or open the snapshot, both run here, one after the
    /// other. SQLite takes no snapshot while the WAL holds no commit: after the store opens, until its first write.
    /// </summary>
    private T InHalves<T>(Func<SqliteGraphSession, T> first, Func<SqliteGraphSession, T> second, Func<T, T, T> combine)
    {
        if (Readers is not { ReadInHalves: true } readers)
        {
            return combine(first(this), second(this));
        }
        var db = Sql.Connection.Handle!;
        if (raw.sqlite3_snapshot_get(db, "main", out var snapshot) != raw.SQLITE_OK)
        {
            return combine(first(this), second(this));
        }
        using (snapshot)
        {
            var project = Project;
            var elsewhere = Task.Run(() => readers.WithReader(other =>
            {
                // If anything here throws, the pool rolls the transaction back before it takes the session back.
                other.Sql.Execute("BEGIN");
                var opened = raw.sqlite3_snapshot_open(other.Sql.Connection.Handle!, "main", snapshot) == raw.SQLITE_OK;
                var value = default(T);
                if (opened)
                {
                    readers.SharedSnapshot();
                    other.BeginUnitOfWork();
                    other.Bind(project);
                    value = second(other);
                }
                other.Sql.Execute("COMMIT");
                return (Opened: opened, Value: value);
            }));
            T here;
            try
            {
                here = first(this);
            }
            catch
            {
                // Not left running on a snapshot this session is about to give up.
                try
                {
                    elsewhere.Wait();
                }
                catch (AggregateException)
                {
                    // This session's own exception is the one to report.
                }
                throw;
            }
            var (opened, there) = elsewhere.GetAwaiter().GetResult();
            return combine(here, opened ? there! : second(this));
        }
    }

    public IReadOnlyList<UniqueUsersDay> CountUniqueUsersPerDay(DateTimeOffset from, DateTimeOffset to, string? name)
    {
        WritePending();
        using var rows = Sql.Query(
            $"SELECT d.day, count(DISTINCT r.profile_id), count(*) FROM (SELECT DISTINCT (e.time - ((e.time % 86400000) + 86400000) % 86400000) / 86400000 AS day, e.record_id {EventsInRange} GROUP BY d.day ORDER BY d.day",
            _project, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), name);
        var days = new List<UniqueUsersDay>();
        while (rows.Read())
        {
            days.Add(new UniqueUsersDay(DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(rows.GetInt64(0) * 86400000).UtcDateTime), rows.GetInt64(1), rows.GetInt64(2)));
        }
        return days;
    }

    public long AddEvent(RecordId record, string name, DateTimeOffset time, string propertiesJson, string? insertId, string surface)
    {
        var id = Next("event_id");
        // Stored to the millisecond, as the database keeps it.
        _pending.AddEvent(new StoredEvent(id, record, name, Time(time.ToUnixTimeMilliseconds()), propertiesJson, insertId, surface, Time(Now.ToUnixTimeMilliseconds())));
        return id;
    }

    public void AddAudit(string action, WriteOrigin origin, object detail)
    {
        WritePending();
        Sql.Execute("INSERT INTO audit (project_id, at, action, surface, request_id, key_id, detail, client_address) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7)",
            _project, Now.ToUnixTimeMilliseconds(), action, origin.Surface, origin.RequestId, origin.KeyId, System.Text.Json.JsonSerializer.Serialize(detail), origin.ClientAddress);
    }

    private static StoredEvent ReadEvent(SqliteStatements.Rows rows) =>
        new(rows.GetInt64(0), new RecordId(rows.GetInt64(1)), rows.GetString(2), Time(rows.GetInt64(3)), rows.GetString(4),
            rows.IsDBNull(5) ? null : rows.GetString(5), rows.GetString(6), Time(rows.GetInt64(7)));

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
    }

    public void Dispose() => Sql.Dispose();

    private static RecordInfo ReadRecord(SqliteStatements.Rows reader) =>
        new(new RecordId(reader.GetInt64(0)), new ProfileId(reader.GetInt64(1)), Time(reader.GetInt64(2)), Time(reader.GetInt64(3)), reader.GetInt64(4) != 0);

    private static Link ReadLink(SqliteStatements.Rows reader) =>
        new(new LinkId(reader.GetInt64(0)), new RecordId(reader.GetInt64(1)), new RecordId(reader.GetInt64(2)), reader.GetString(3),
            reader.GetString(4), Time(reader.GetInt64(5)), reader.IsDBNull(6) ? null : reader.GetString(6));

    private static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);
}
