using Npgsql;
using Selfsame.Events;
using Selfsame.Graph;

namespace Selfsame.Storage.Postgres;

// A profile's events, insert_id look-ups, summaries and unique users (IEventReads, IEventWrites).
internal sealed partial class PostgresGraphSession : IEventReads, IEventWrites
{
    private const string EventColumns = "e.event_id, e.record_id, e.name, e.time, e.properties, e.insert_id, e.surface, e.received_at";

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

    public int CountRecordEvents(RecordId record) =>
        (int)(long)Scalar("SELECT count(*) FROM events WHERE project_id = $1 AND record_id = $2", _project, record.Value)!;

    private const string EventsInRange =
        "FROM events e WHERE e.project_id = $1 AND e.time >= $2 AND e.time < $3 AND ($4::text IS NULL OR e.name = $4::text)) d " +
        "JOIN records r ON r.project_id = $1 AND r.record_id = d.record_id";

    public UniqueUsers CountUniqueUsers(DateTimeOffset from, DateTimeOffset to, string? name) =>
        List($"SELECT count(DISTINCT r.profile_id), count(*) FROM (SELECT DISTINCT e.record_id {EventsInRange}",
            r => new UniqueUsers(r.GetInt64(0), r.GetInt64(1)), _project, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), name).Single();

    public IReadOnlyList<UniqueUsersDay> CountUniqueUsersPerDay(DateTimeOffset from, DateTimeOffset to, string? name) =>
        List($"SELECT d.day, count(DISTINCT r.profile_id), count(*) FROM (SELECT DISTINCT floor(e.time / 86400000.0)::bigint AS day, e.record_id {EventsInRange} " +
             "GROUP BY d.day ORDER BY d.day",
            r => new UniqueUsersDay(DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0) * 86400000).UtcDateTime), r.GetInt64(1), r.GetInt64(2)),
            _project, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), name);

    public IReadOnlyList<EventSummary> SummarizeEvents(ProfileId profile) =>
        List("SELECT e.name, count(*), min(e.time), max(e.time) FROM records r JOIN events e ON e.project_id = r.project_id AND e.record_id = r.record_id " +
             "WHERE r.project_id = $1 AND r.profile_id = $2 GROUP BY e.name ORDER BY e.name",
            r => new EventSummary(r.GetString(0), r.GetInt64(1), Time(r.GetInt64(2)), Time(r.GetInt64(3))), _project, profile.Value);

    public long AddEvent(RecordId record, string name, DateTimeOffset time, string propertiesJson, string? insertId, string surface)
    {
        var id = (long)Scalar("SELECT nextval('event_ids')")!;
        Execute("INSERT INTO events (project_id, event_id, record_id, name, time, properties, insert_id, surface, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7::text, $8, $9)",
            _project, id, record.Value, name, time.ToUnixTimeMilliseconds(), propertiesJson, insertId, surface, NowMs);
        return id;
    }

    private static StoredEvent ReadEvent(NpgsqlDataReader r) =>
        new(r.GetInt64(0), new RecordId(r.GetInt64(1)), r.GetString(2), Time(r.GetInt64(3)), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
            r.GetString(6), Time(r.GetInt64(7)));
}
