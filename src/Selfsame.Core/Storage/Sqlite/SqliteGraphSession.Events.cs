using Selfsame.Events;
using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

// A profile's events, insert_id look-ups and summaries (IEventReads, IEventWrites); unique users in .UniqueUsers.
internal sealed partial class SqliteGraphSession : IEventReads, IEventWrites
{
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

    public long AddEvent(RecordId record, string name, DateTimeOffset time, string propertiesJson, string? insertId, string surface)
    {
        var id = Next("event_id");
        // Stored to the millisecond, as the database keeps it.
        _pending.AddEvent(new StoredEvent(id, record, name, Time(time.ToUnixTimeMilliseconds()), propertiesJson, insertId, surface, Time(Now.ToUnixTimeMilliseconds())));
        return id;
    }

    private static StoredEvent ReadEvent(SqliteStatements.Rows rows) =>
        new(rows.GetInt64(0), new RecordId(rows.GetInt64(1)), rows.GetString(2), Time(rows.GetInt64(3)), rows.GetString(4),
            rows.IsDBNull(5) ? null : rows.GetString(5), rows.GetString(6), Time(rows.GetInt64(7)));
}
