using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Selfsame.Graph;
using Selfsame.Storage.Sqlite;

namespace Selfsame.Bench;

/// <summary>
/// What SQLite alone takes to store the job bench's rows, with no engine, rules, parsing or JSON around it: the writer's
/// statements for a new Userpilot user (one look-up of the user_id, then the record, the identifier, the property
/// document, the company upsert and the membership, 64 rows a statement, 2,000 rows a transaction), run through the same
/// statement layer (<see cref="SqliteStatements"/>) on the store's own connection settings. Two layouts, alternating in
/// each run: the store's schema as its migrations leave it, and a minimal one with no index besides the keys (the
/// document inside the record, no by-profile, by-record or member-by-record index) that the store could not serve its
/// reads from. It says how far the job target is from what this machine's SQLite can do for these rows at all.
/// </summary>
public static class StorageFloor
{
    private const int Chunk = 2000;
    private const long Now = 1_764_547_200_000;

    private static readonly SqliteMultiRowInsert Records = new("INSERT INTO records (project_id, record_id, profile_id, created_at, last_seen_at)", 4);
    private static readonly SqliteMultiRowInsert RecordsWithDocument = new("INSERT INTO records (project_id, record_id, profile_id, created_at, last_seen_at, document)", 5);
    private static readonly SqliteMultiRowInsert Identifiers = new("INSERT INTO identifiers (project_id, type, value, display, record_id, created_at)", 5);
    private static readonly SqliteMultiRowInsert Documents = new("INSERT INTO record_properties (project_id, record_id, document)", 2,
        "ON CONFLICT (record_id) DO UPDATE SET document = excluded.document WHERE project_id = excluded.project_id");
    private static readonly SqliteMultiRowInsert Companies = new("INSERT INTO companies (project_id, company_id, created_at, updated_at)", 3,
        "ON CONFLICT (project_id, company_id) DO UPDATE SET updated_at = excluded.updated_at");
    private static readonly SqliteMultiRowInsert Members = new("INSERT INTO company_members (project_id, company_id, record_id, joined_at)", 3, "ON CONFLICT DO NOTHING");

    private const string MinimalSchema = """
        CREATE TABLE records (record_id INTEGER PRIMARY KEY, project_id TEXT NOT NULL, profile_id INTEGER NOT NULL,
            created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, document TEXT);
        CREATE TABLE identifiers (project_id TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL, display TEXT NOT NULL,
            record_id INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (project_id, type, value)) WITHOUT ROWID;
        CREATE TABLE companies (project_id TEXT NOT NULL, company_id TEXT NOT NULL, created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL, PRIMARY KEY (project_id, company_id)) WITHOUT ROWID;
        CREATE TABLE company_members (project_id TEXT NOT NULL, company_id TEXT NOT NULL, record_id INTEGER NOT NULL,
            joined_at INTEGER NOT NULL, PRIMARY KEY (project_id, company_id, record_id)) WITHOUT ROWID;
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var withCompany = args.Length <= 2 || args[2] != "without-company";
        // A document as the store writes one for the bench's seven metadata strings (SqlitePropertyDocument's shape).
        var document = Encoding.UTF8.GetBytes(string.Concat("{",
            string.Join(",", new[] { "last_ticket_created", "tickets_created", "tickets_resolved", "tickets_pending", "avg_resolution_time", "customer_satisfaction", "escalation_count" }
                .Select((key, i) => $"\"{key}\":[\"string\",\"\\\"{(i == 0 ? "2025-02-01T10:20:30Z" : "14")}\\\"\",{Now},{i + 1}]")), "}"));
        Console.WriteLine($"floor: {rows:N0} rows{(withCompany ? "" : " without company_id")} of SQLite's own writes, {runs} runs of each layout, alternating, {Environment.ProcessorCount} cores");
        var rates = new Dictionary<string, List<double>> { ["schema"] = [], ["minimal"] = [] };
        var phases = new Dictionary<string, Dictionary<string, TimeSpan>> { ["schema"] = [], ["minimal"] = [] };
        for (var run = 0; run <= runs; run++)
        {
            foreach (var layout in rates.Keys)
            {
                var (elapsed, times) = await MeasureAsync(layout, run == 0 ? Math.Min(rows, 20_000) : rows, withCompany, document);
                if (run == 0)
                {
                    continue; // warm-up, as in the job bench
                }
                foreach (var (phase, time) in times)
                {
                    phases[layout][phase] = phases[layout].GetValueOrDefault(phase) + time;
                }
                var rate = rows / elapsed.TotalSeconds;
                rates[layout].Add(rate);
                Console.WriteLine($"run {run}, {layout}: {elapsed.TotalSeconds:F2} s, {rate:N0} rows/s, {elapsed.TotalMicroseconds / rows:F2} µs a row");
            }
        }
        foreach (var (layout, list) in rates)
        {
            list.Sort();
            var median = list[list.Count / 2];
            Console.WriteLine($"{layout}: median {median:N0} rows/s ({1_000_000 / median:F2} µs a row; min {list[0]:N0}, max {list[^1]:N0}); per row, over all runs:");
            foreach (var (phase, time) in phases[layout].OrderByDescending(p => p.Value))
            {
                Console.WriteLine($"  {phase}: {time.TotalMicroseconds / ((double)rows * runs):F2} µs");
            }
        }
        return 0;
    }

    private static async Task<(TimeSpan Elapsed, Dictionary<string, TimeSpan> Phases)> MeasureAsync(string layout, int rows, bool withCompany, byte[] document)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"selfsame-bench-floor-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "floor.db");
        if (layout == "schema")
        {
            // The store's migrations make the file; the rows are then written on a connection of its own settings.
            await using (var store = SqliteStore.Open(folder, TimeProvider.System))
            {
                await new Projects(store.Catalog, TimeProvider.System).EnsureDefaultAsync(CancellationToken.None);
            }
            SqliteConnection.ClearAllPools();
            file = Directory.EnumerateFiles(folder, "*.db").Single();
        }
        var connectionString = new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        TimeSpan elapsed;
        var times = new Dictionary<string, TimeSpan>();
        using (var sql = new SqliteStatements(SqliteStore.Open(connectionString, readOnly: false)))
        {
            // No checkpoint while measuring (the store has a thread of its own for them): a floor leaves out what it can.
            sql.Execute("PRAGMA wal_autocheckpoint = 0");
            if (layout == "minimal")
            {
                using var create = sql.Connection.CreateCommand();
                create.CommandText = MinimalSchema;
                create.ExecuteNonQuery();
            }
            var project = ProjectId.Default.Value;
            SqliteWriterTimings.Reset();
            var clock = Stopwatch.StartNew();
            for (var start = 0; start < rows; start += Chunk)
            {
                var count = Math.Min(Chunk, rows - start);
                // Record ids follow the rows; user ids are sorted as the writer sorts identifiers.
                var users = Enumerable.Range(start, count).Select(i => (Value: $"user_{i}", Record: (long)i + 1)).OrderBy(u => u.Value, StringComparer.Ordinal).ToList();
                sql.Execute("BEGIN IMMEDIATE");
                var probing = Stopwatch.GetTimestamp();
                foreach (var slice in users.Chunk(SqliteMultiRowInsert.MaxRows))
                {
                    var text = "SELECT i.value, i.record_id FROM identifiers i WHERE i.project_id = @p0 AND i.type = @p1 AND i.value IN (" +
                        string.Join(", ", Enumerable.Range(2, slice.Length).Select(i => "@p" + i.ToString(CultureInfo.InvariantCulture))) + ")";
                    using var found = sql.Query(text, [project, IdentifierTypes.UserId, .. slice.Select(u => (object?)u.Value)]);
                    if (found.Read())
                    {
                        throw new InvalidOperationException("a new user's id was found");
                    }
                }
                times["look-up"] = times.GetValueOrDefault("look-up") + Stopwatch.GetElapsedTime(probing);
                var records = Enumerable.Range(start, count).Select(i => (long)i + 1).ToList();
                if (layout == "schema")
                {
                    sql.InsertRows(Records, project, records, static (ref SqliteStatements.RowValues v, long r) => { v.Int(r); v.Int(r); v.Int(Now); v.Int(Now); });
                }
                else
                {
                    sql.InsertRows(RecordsWithDocument, project, records, (ref SqliteStatements.RowValues v, long r) => { v.Int(r); v.Int(r); v.Int(Now); v.Int(Now); v.Utf8(document); });
                }
                sql.InsertRows(Identifiers, project, users, static (ref SqliteStatements.RowValues v, (string Value, long Record) u) =>
                {
                    v.Text(IdentifierTypes.UserId);
                    v.Text(u.Value);
                    v.Text(u.Value);
                    v.Int(u.Record);
                    v.Int(Now);
                });
                if (layout == "schema")
                {
                    sql.InsertRows(Documents, project, records, (ref SqliteStatements.RowValues v, long r) => { v.Int(r); v.Utf8(document); });
                }
                if (withCompany)
                {
                    var members = Enumerable.Range(start, count).Select(i => (Company: $"comp{i % 1000}", Record: (long)i + 1))
                        .OrderBy(m => m.Company, StringComparer.Ordinal).ThenBy(m => m.Record).ToList();
                    sql.InsertRows(Companies, project, members.Select(m => m.Company).Distinct().ToList(), static (ref SqliteStatements.RowValues v, string c) => { v.Text(c); v.Int(Now); v.Int(Now); });
                    sql.InsertRows(Members, project, members, static (ref SqliteStatements.RowValues v, (string Company, long Record) m) => { v.Text(m.Company); v.Int(m.Record); v.Int(Now); });
                }
                var committing = Stopwatch.GetTimestamp();
                sql.Execute("COMMIT");
                times["COMMIT"] = times.GetValueOrDefault("COMMIT") + Stopwatch.GetElapsedTime(committing);
            }
            elapsed = clock.Elapsed;
            foreach (var (phase, time) in SqliteWriterTimings.Snapshot())
            {
                times[phase] = time;
            }
        }
        Directory.Delete(folder, recursive: true);
        return (elapsed, times);
    }

    private static readonly SqliteMultiRowInsert Events = new(
        "INSERT INTO events (project_id, event_id, record_id, name, time, properties, insert_id, surface, received_at)", 8);

    /// <summary>
    /// The same for the events bench: EVENTS events over USERS users already stored, each group of 2,000 running the
    /// writer's statements for it and nothing else (its senders' identifiers with their records and its insert_ids read
    /// 64 a statement, the events inserted 64 a statement, the senders' last-seen times updated, COMMIT), on the store's
    /// schema, with the store's checkpoint thread. One run, after the users are stored (not timed).
    /// </summary>
    public static async Task<int> RunEventsAsync(string[] args)
    {
        var events = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 10_000_000;
        var users = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        var folder = Path.Combine(Path.GetTempPath(), $"selfsame-bench-floor-{Guid.NewGuid():N}");
        await using (var store = SqliteStore.Open(folder, TimeProvider.System))
        {
            await new Projects(store.Catalog, TimeProvider.System).EnsureDefaultAsync(CancellationToken.None);
        }
        SqliteConnection.ClearAllPools();
        var file = Directory.EnumerateFiles(folder, "*.db").Single();
        var connectionString = new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        Console.WriteLine($"floor-events: {events:N0} events over {users:N0} users of SQLite's own work, {Environment.ProcessorCount} cores");
        var project = ProjectId.Default.Value;
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var times = new Dictionary<string, TimeSpan>();
        TimeSpan elapsed;
        using (var checkpointer = new SqliteCheckpointer(connectionString))
        using (var sql = new SqliteStatements(SqliteStore.Open(connectionString, readOnly: false)))
        {
            for (var at = 0; at < users; at += Chunk)
            {
                var slice = Enumerable.Range(at, Math.Min(Chunk, users - at)).ToList();
                sql.Execute("BEGIN IMMEDIATE");
                sql.InsertRows(Records, project, slice, static (ref SqliteStatements.RowValues v, int u) => { v.Int(u + 1); v.Int(u + 1); v.Int(Now); v.Int(Now); });
                sql.InsertRows(Identifiers, project, slice.OrderBy(u => $"user-{u}", StringComparer.Ordinal).ToList(), static (ref SqliteStatements.RowValues v, int u) =>
                {
                    v.Text(IdentifierTypes.UserId);
                    v.Text($"user-{u}");
                    v.Text($"user-{u}");
                    v.Int(u + 1);
                    v.Int(Now);
                });
                sql.Execute("COMMIT");
            }
            sql.Execute("PRAGMA wal_checkpoint(TRUNCATE)");
            SqliteWriterTimings.Reset();
            var clock = Stopwatch.StartNew();
            for (long at = 0; at < events; at += Chunk)
            {
                var group = new List<(long Id, long Record, string InsertId, long Time)>(Chunk);
                for (var i = at; i < Math.Min(events, at + Chunk); i++)
                {
                    var user = i % 1000 == 0 ? 0 : 1 + i % (users - 1); // the events bench's senders
                    group.Add((i + 1, user + 1, $"e{i}", start + (long)(i * 86_400_000.0 * 30 / events)));
                }
                sql.Execute("BEGIN IMMEDIATE");
                var reading = Stopwatch.GetTimestamp();
                foreach (var slice in group.Select(e => $"user-{e.Record - 1}").Distinct().Order(StringComparer.Ordinal).Chunk(SqliteMultiRowInsert.MaxRows))
                {
                    var text = "SELECT i.value, i.display, i.record_id, i.created_at, r.profile_id, r.created_at, r.last_seen_at FROM identifiers i " +
                        "LEFT JOIN records r ON r.record_id = i.record_id AND r.project_id = i.project_id WHERE i.project_id = @p0 AND i.type = @p1 AND i.value IN (" +
                        Parameters(2, slice.Length) + ")";
                    using var found = sql.Query(text, [project, IdentifierTypes.UserId, .. slice]);
                    var count = 0;
                    while (found.Read())
                    {
                        count++;
                    }
                    if (count != slice.Length)
                    {
                        throw new InvalidOperationException("a sender was not found");
                    }
                }
                foreach (var slice in group.Select(e => e.InsertId).Order(StringComparer.Ordinal).Chunk(SqliteMultiRowInsert.MaxRows))
                {
                    var text = "SELECT e.event_id, e.record_id, e.name, e.time, e.properties, e.insert_id, e.surface, e.received_at FROM events e " +
                        "WHERE e.project_id = @p0 AND e.insert_id IN (" + Parameters(1, slice.Length) + ")";
                    using var found = sql.Query(text, [project, .. slice]);
                    if (found.Read())
                    {
                        throw new InvalidOperationException("an insert_id was found");
                    }
                }
                times["look-ups"] = times.GetValueOrDefault("look-ups") + Stopwatch.GetElapsedTime(reading);
                sql.InsertRows(Events, project, group, static (ref SqliteStatements.RowValues v, (long Id, long Record, string InsertId, long Time) e) =>
                {
                    v.Int(e.Id);
                    v.Int(e.Record);
                    v.Text(e.Id % 7 == 1 ? "purchase" : "page_view");
                    v.Int(e.Time);
                    v.Text($$"""{"n":{{e.Id - 1}}}""");
                    v.Text(e.InsertId);
                    v.Text("bench");
                    v.Int(Now);
                });
                var touching = Stopwatch.GetTimestamp();
                foreach (var slice in group.Select(e => e.Record).Distinct().Order().Chunk(SqliteMultiRowInsert.MaxRows))
                {
                    sql.Execute("UPDATE records NOT INDEXED SET last_seen_at = @p1 WHERE project_id = @p0 AND record_id IN (" + Parameters(2, slice.Length) + ")",
                        [project, Now, .. slice.Select(r => (object?)r)]);
                }
                times["last-seen updates"] = times.GetValueOrDefault("last-seen updates") + Stopwatch.GetElapsedTime(touching);
                var committing = Stopwatch.GetTimestamp();
                sql.Execute("COMMIT");
                times["COMMIT"] = times.GetValueOrDefault("COMMIT") + Stopwatch.GetElapsedTime(committing);
                SQLitePCL.raw.sqlite3_db_status(sql.Connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_WRITE, out var written, out _, 1);
                checkpointer.Committed(written);
            }
            elapsed = clock.Elapsed;
            foreach (var (phase, time) in SqliteWriterTimings.Snapshot())
            {
                times[phase] = time;
            }
        }
        SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
        Console.WriteLine($"ingest: {elapsed.TotalSeconds:F1} s, {events / elapsed.TotalSeconds:N0} events/s, {elapsed.TotalMicroseconds / events:F2} µs an event; per event:");
        foreach (var (phase, time) in times.OrderByDescending(p => p.Value))
        {
            Console.WriteLine($"  {phase}: {time.TotalMicroseconds / events:F2} µs");
        }
        return 0;
    }

    private static string Parameters(int first, int count) =>
        string.Join(", ", Enumerable.Range(first, count).Select(i => "@p" + i.ToString(CultureInfo.InvariantCulture)));
}
