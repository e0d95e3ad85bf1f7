using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// Inserts and upserts that the writer's session holds back within a transaction and then writes many rows a statement:
/// new records, their identifiers, property documents, company upserts and memberships, events, and last-seen times. A job chunk or
/// a group of tracked events writes thousands of such rows, and one statement per row was most of the writer's time.
/// <para>
/// What is held back stays visible to the transaction: the session answers identifier, record, property and insert_id
/// look-ups from here first (a held-back row is always a new key, so a look-up of any other key reads the database as it
/// would have), and writes everything out before any other read or write (<see cref="SqliteGraphSession"/>).
/// </para>
/// </summary>
internal sealed class SqlitePendingWrites
{
    private static readonly SqliteMultiRowInsert RecordRows = new(
        "INSERT INTO records (project_id, record_id, profile_id, created_at, last_seen_at)", 4);

    private static readonly SqliteMultiRowInsert IdentifierRows = new(
        "INSERT INTO identifiers (project_id, type, value, display, record_id, created_at)", 5);

    private static readonly SqliteMultiRowInsert PropertyRows = new(
        "INSERT INTO record_properties (project_id, record_id, document)", 2,
        "ON CONFLICT (record_id) DO UPDATE SET document = excluded.document WHERE project_id = excluded.project_id");

    private static readonly SqliteMultiRowInsert CompanyRows = new(
        "INSERT INTO companies (project_id, company_id, created_at, updated_at)", 3,
        "ON CONFLICT (project_id, company_id) DO UPDATE SET updated_at = excluded.updated_at");

    private static readonly SqliteMultiRowInsert CompanyPropertyRows = new(
        "INSERT INTO company_properties (project_id, company_id, key, type, value, updated_at)", 5,
        "ON CONFLICT (project_id, company_id, key) DO UPDATE SET type = excluded.type, value = excluded.value, updated_at = excluded.updated_at");

    private static readonly SqliteMultiRowInsert MemberRows = new(
        "INSERT INTO company_members (project_id, company_id, record_id, joined_at)", 3, "ON CONFLICT DO NOTHING");

    private static readonly SqliteMultiRowInsert EventRows = new(
        "INSERT INTO events (project_id, event_id, record_id, name, time, properties, insert_id, surface, received_at)", 8);

    private static readonly SqliteMultiRowInsert ChangeRows = new(
        "INSERT INTO changes (project_id, last_seq, first_seq, at, surface, request_id, key_id, changes)", 7);

    /// <summary>Most changes that share a row.</summary>
    public const int ChangesPerRow = 64;

    /// <summary>A change of the feed held back: its sequence number, time, kind, origin and detail (JSON).</summary>
    internal sealed record PendingChange(long Seq, long At, string Kind, string Surface, string? RequestId, string? KeyId, string Detail);

    private readonly List<PendingChange> _changes = [];

    /// <summary>New records by id, in the order they were made (ascending ids): created and last seen.</summary>
    private readonly Dictionary<long, (long Created, long LastSeen)> _records = [];

    private readonly Dictionary<Identifier, StoredIdentifier> _identifiers = [];
    private readonly HashSet<long> _recordsWithUserId = [];
    /// <summary>Property documents read or made in this transaction, by record; the changed ones are written out.</summary>
    private readonly Dictionary<long, SqlitePropertyDocument> _documents = [];
    private readonly Dictionary<string, (long Created, long Updated)> _companies = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Company, string Key), (PropertyValue Value, long UpdatedAt)> _companyProperties = [];
    private readonly Dictionary<(string Company, long Record), long> _members = [];
    private readonly List<Events.StoredEvent> _events = [];
    private readonly Dictionary<string, Events.StoredEvent> _eventsByInsertId = new(StringComparer.Ordinal);

    /// <summary>
    /// Stored records as read along with one of their identifiers, for the rules' next look-up. Kept only until anything is
    /// written out: every write that could change a stored record (a profile move, a delete) writes out first.
    /// </summary>
    private readonly Dictionary<long, RecordInfo> _kept = [];

    /// <summary>
    /// Identifiers and insert_ids read ahead for the requests of a group, as the database holds them (null: it holds none).
    /// Kept, like stored records, only until anything is written out.
    /// </summary>
    private readonly Dictionary<Identifier, StoredIdentifier?> _identifiersAhead = [];
    private readonly Dictionary<string, Events.StoredEvent?> _eventsAhead = new(StringComparer.Ordinal);

    /// <summary>Last-seen times of records already in the database.</summary>
    private readonly Dictionary<long, long> _touches = [];

    /// <summary>
    /// Nothing waits to be written. Kept records and unchanged documents do not count: they are copies of stored rows, and
    /// are dropped whenever rows are written out or forgotten.
    /// </summary>
    public bool IsEmpty { get; private set; } = true;

    public void AddRecord(long record, long now)
    {
        _records.Add(record, (now, now));
        IsEmpty = false;
    }

    public bool HasRecord(long record) => _records.ContainsKey(record);

    public void KeepRecord(RecordInfo stored) => _kept[stored.Id.Value] = stored;

    public RecordInfo? KeptRecord(long record) => _kept.GetValueOrDefault(record);

    public void KeepIdentifier(Identifier identifier, StoredIdentifier? stored) => _identifiersAhead[identifier] = stored;

    public bool KeptIdentifier(Identifier identifier, out StoredIdentifier? stored) => _identifiersAhead.TryGetValue(identifier, out stored);

    public void KeepInsertId(string insertId, Events.StoredEvent? stored) => _eventsAhead[insertId] = stored;

    public bool KeptInsertId(string insertId, out Events.StoredEvent? stored) => _eventsAhead.TryGetValue(insertId, out stored);

    public void Touch(long record, long now)
    {
        if (_records.TryGetValue(record, out var times))
        {
            _records[record] = (times.Created, now);
        }
        else
        {
            _touches[record] = now;
        }
        IsEmpty = false;
    }

    /// <summary>
    /// Completes what the database says of a record with what is held back; null when the record is neither held back nor
    /// in <paramref name="stored"/>.
    /// </summary>
    public RecordInfo? Record(long record, RecordInfo? stored)
    {
        if (_records.TryGetValue(record, out var times))
        {
            return new RecordInfo(new RecordId(record), new ProfileId(record), Time(times.Created), Time(times.LastSeen), _recordsWithUserId.Contains(record));
        }
        if (stored is null)
        {
            return null;
        }
        var lastSeen = _touches.TryGetValue(record, out var seen) ? Time(seen) : stored.LastSeenAt;
        return stored with { LastSeenAt = lastSeen, Identified = stored.Identified || _recordsWithUserId.Contains(record) };
    }

    public void AddIdentifier(StoredIdentifier identifier)
    {
        _identifiers.Add(identifier.Identifier, identifier);
        if (identifier.Identifier.Type == IdentifierTypes.UserId)
        {
            _recordsWithUserId.Add(identifier.Record.Value);
        }
        IsEmpty = false;
    }

    public StoredIdentifier? Identifier(Identifier identifier) => _identifiers.GetValueOrDefault(identifier);

    /// <summary>
    /// The properties of <paramref name="record"/> as this transaction sees them: kept from an earlier call, new and empty
    /// for a record made in this transaction, else read with <paramref name="read"/> (null when the database has none).
    /// Changes to the document are written out with the rest.
    /// </summary>
    public SqlitePropertyDocument Properties(long record, Func<long, string?> read)
    {
        if (!_documents.TryGetValue(record, out var document))
        {
            document = !_records.ContainsKey(record) && read(record) is { } json ? SqlitePropertyDocument.Parse(json) : SqlitePropertyDocument.Empty();
            _documents.Add(record, document);
        }
        return document;
    }

    /// <summary>Call after changing a document from <see cref="Properties"/>.</summary>
    public void Changed() => IsEmpty = false;

    public void UpsertCompany(string company, long now)
    {
        _companies[company] = _companies.TryGetValue(company, out var times) ? (times.Created, now) : (now, now);
        IsEmpty = false;
    }

    public void SetCompanyProperty(string company, string key, PropertyValue value, long now)
    {
        _companyProperties[(company, key)] = (value, now);
        IsEmpty = false;
    }

    public void AddMember(string company, long record, long now)
    {
        _members.TryAdd((company, record), now);
        IsEmpty = false;
    }

    public void AddEvent(Events.StoredEvent stored)
    {
        _events.Add(stored);
        if (stored.InsertId is { } insertId)
        {
            _eventsByInsertId.Add(insertId, stored);
        }
        IsEmpty = false;
    }

    public Events.StoredEvent? EventByInsertId(string insertId) => _eventsByInsertId.GetValueOrDefault(insertId);

    public void AddChange(PendingChange change)
    {
        _changes.Add(change);
        IsEmpty = false;
    }

    /// <summary>Forgets the copies of stored rows: what is written out may change them.</summary>
    public void ForgetKept()
    {
        _kept.Clear();
        _identifiersAhead.Clear();
        _eventsAhead.Clear();
    }

    /// <summary>Forgets everything held back (the transaction or savepoint it belonged to is rolled back).</summary>
    public void Clear()
    {
        _records.Clear();
        ForgetKept();
        _identifiers.Clear();
        _recordsWithUserId.Clear();
        _documents.Clear();
        _companies.Clear();
        _companyProperties.Clear();
        _members.Clear();
        _events.Clear();
        _eventsByInsertId.Clear();
        _changes.Clear();
        _touches.Clear();
        IsEmpty = true;
    }

    /// <summary>
    /// Writes everything held back for <paramref name="project"/>, many rows a statement, then forgets it. Rows with text keys
    /// are sorted by them first, so that each B-tree is walked in order rather than at random.
    /// </summary>
    public void WriteTo(SqliteStatements sql, string project)
    {
        if (IsEmpty)
        {
            _documents.Clear();
            ForgetKept();
            return;
        }
        // Records and property documents go in the order they were made: new records' ids ascend, so their rows already
        // follow the keys.
        sql.InsertRows(RecordRows, project, _records.ToList(), static (ref SqliteStatements.RowValues v, KeyValuePair<long, (long Created, long LastSeen)> r) =>
        {
            v.Int(r.Key);
            v.Int(r.Key);
            v.Int(r.Value.Created);
            v.Int(r.Value.LastSeen);
        });
        sql.InsertRows(IdentifierRows, project,
            _identifiers.Values.OrderBy(i => i.Identifier.Type, StringComparer.Ordinal).ThenBy(i => i.Identifier.Value, StringComparer.Ordinal).ToList(),
            static (ref SqliteStatements.RowValues v, StoredIdentifier i) =>
            {
                v.Text(i.Identifier.Type);
                v.Text(i.Identifier.Value);
                v.Text(i.Display);
                v.Int(i.Record.Value);
                v.Int(i.CreatedAt.ToUnixTimeMilliseconds());
            });
        sql.InsertRows(PropertyRows, project, _documents.Where(d => d.Value is { Dirty: true, Count: > 0 }).ToList(),
            (ref SqliteStatements.RowValues v, KeyValuePair<long, SqlitePropertyDocument> d) =>
            {
                v.Int(d.Key);
                v.Utf8(Json(d.Value));
            });
        foreach (var (record, _) in _documents.Where(d => d.Value is { Dirty: true, Count: 0, Stored: true }))
        {
            sql.Execute("DELETE FROM record_properties WHERE record_id = @p1 AND project_id = @p0", project, record);
        }
        sql.InsertRows(CompanyRows, project, _companies.OrderBy(c => c.Key, StringComparer.Ordinal).ToList(),
            static (ref SqliteStatements.RowValues v, KeyValuePair<string, (long Created, long Updated)> c) =>
            {
                v.Text(c.Key);
                v.Int(c.Value.Created);
                v.Int(c.Value.Updated);
            });
        sql.InsertRows(CompanyPropertyRows, project,
            _companyProperties.OrderBy(p => p.Key.Company, StringComparer.Ordinal).ThenBy(p => p.Key.Key, StringComparer.Ordinal).ToList(),
            static (ref SqliteStatements.RowValues v, KeyValuePair<(string Company, string Key), (PropertyValue Value, long UpdatedAt)> p) =>
            {
                v.Text(p.Key.Company);
                v.Text(p.Key.Key);
                v.Text(PropertyValue.TypeName(p.Value.Value.Type));
                v.Text(p.Value.Value.Json);
                v.Int(p.Value.UpdatedAt);
            });
        sql.InsertRows(MemberRows, project,
            _members.OrderBy(m => m.Key.Company, StringComparer.Ordinal).ThenBy(m => m.Key.Record).ToList(),
            static (ref SqliteStatements.RowValues v, KeyValuePair<(string Company, long Record), long> m) =>
            {
                v.Text(m.Key.Company);
                v.Int(m.Key.Record);
                v.Int(m.Value);
            });
        sql.InsertRows(EventRows, project, _events, static (ref SqliteStatements.RowValues v, Events.StoredEvent e) =>
        {
            v.Int(e.EventId);
            v.Int(e.Record.Value);
            v.Text(e.Name);
            v.Int(e.Time.ToUnixTimeMilliseconds());
            v.Text(e.PropertiesJson);
            v.Text(e.InsertId);
            v.Text(e.Surface);
            v.Int(e.ReceivedAt.ToUnixTimeMilliseconds());
        });
        sql.InsertRows(ChangeRows, project, ChangeRowsOf(_changes), static (ref SqliteStatements.RowValues v, (PendingChange First, PendingChange Last, string Changes) r) =>
        {
            v.Int(r.Last.Seq);
            v.Int(r.First.Seq);
            v.Int(r.First.At);
            v.Text(r.First.Surface);
            v.Text(r.First.RequestId);
            v.Text(r.First.KeyId);
            v.Text(r.Changes);
        });
        // Last-seen times of stored records: one statement per time and up to 64 records (a group mostly shares one time).
        var touching = SqliteWriterTimings.Start();
        foreach (var byTime in _touches.GroupBy(t => t.Value))
        {
            foreach (var slice in byTime.Select(t => t.Key).Order().Chunk(SqliteMultiRowInsert.MaxRows))
            {
                sql.Execute(TouchText(slice.Length), [project, byTime.Key, .. slice.Select(r => (object?)r)]);
            }
        }
        if (_touches.Count > 0)
        {
            SqliteWriterTimings.Add(SqliteWriterTimings.LastSeen, touching);
        }
        Clear();
    }

    /// <summary>
    /// The rows of the changes held back: consecutive changes of the same origin and time whose numbers follow each other
    /// share one, up to <see cref="ChangesPerRow"/>.
    /// </summary>
    private static List<(PendingChange First, PendingChange Last, string Changes)> ChangeRowsOf(List<PendingChange> changes)
    {
        var rows = new List<(PendingChange, PendingChange, string)>();
        var text = new System.Text.StringBuilder();
        for (var start = 0; start < changes.Count;)
        {
            var first = changes[start];
            var end = start + 1;
            while (end < changes.Count && end - start < ChangesPerRow && changes[end].Seq == changes[end - 1].Seq + 1 && changes[end].At == first.At
                   && changes[end].Surface == first.Surface && changes[end].RequestId == first.RequestId && changes[end].KeyId == first.KeyId)
            {
                end++;
            }
            text.Clear().Append('[');
            for (var i = start; i < end; i++)
            {
                // Kinds are the engine's constants, which need no escaping.
                text.Append(i == start ? "{\"kind\":\"" : ",{\"kind\":\"").Append(changes[i].Kind).Append("\",\"detail\":").Append(changes[i].Detail).Append('}');
            }
            rows.Add((first, changes[end - 1], text.Append(']').ToString()));
            start = end;
        }
        return rows;
    }

    private readonly System.Buffers.ArrayBufferWriter<byte> _json = new(4096);
    private System.Text.Json.Utf8JsonWriter? _jsonWriter;

    /// <summary>A document's JSON in a buffer reused from one document to the next (binding copies it).</summary>
    private ReadOnlySpan<byte> Json(SqlitePropertyDocument document)
    {
        _json.ResetWrittenCount();
        if (_jsonWriter is null)
        {
            _jsonWriter = new System.Text.Json.Utf8JsonWriter(_json,
                new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        }
        else
        {
            _jsonWriter.Reset(_json);
        }
        document.WriteTo(_jsonWriter);
        _jsonWriter.Flush();
        return _json.WrittenSpan;
    }

    private static readonly string?[] TouchTexts = new string?[SqliteMultiRowInsert.MaxRows + 1];

    /// <summary>By record id (the rowid) alone: left to itself, SQLite reads records_by_profile for the whole project.</summary>
    private static string TouchText(int records) => TouchTexts[records] ??=
        "UPDATE records NOT INDEXED SET last_seen_at = @p1 WHERE project_id = @p0 AND record_id IN (" +
        string.Join(", ", Enumerable.Range(2, records).Select(i => "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))) + ")";

    private static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);
}
