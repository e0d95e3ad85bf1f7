using Selfsame.Events;
using SQLitePCL;

namespace Selfsame.Storage.Sqlite;

// Distinct users with events in a range (IEventReads.CountUniqueUsers and its per-day form).
internal sealed partial class SqliteGraphSession
{
    /// <summary>The project's events from @p1 (inclusive) to @p2 (exclusive), of the name @p3 if not null, by the covering index.</summary>
    private const string EventsByTime =
        "FROM events e INDEXED BY events_by_time WHERE e.project_id = @p0 AND e.time >= @p1 AND e.time < @p2 AND (@p3 IS NULL OR e.name = @p3)";

    private const string EventsInRange = EventsByTime + ") d CROSS JOIN records r ON r.record_id = d.record_id AND r.project_id = @p0";

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
}
