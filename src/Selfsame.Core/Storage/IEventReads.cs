using Selfsame.Events;
using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>Reads of a project's events: a profile's stream, look-ups by insert_id, summaries and unique users.</summary>
public interface IEventReads : IProjectSession
{
    /// <summary>The events of every record of a profile (or of one record when <paramref name="record"/> is given), newest first.</summary>
    IReadOnlyList<StoredEvent> GetEvents(ProfileId profile, RecordId? record, EventQuery query);

    StoredEvent? FindEventByInsertId(string insertId);

    int CountRecordEvents(RecordId record);

    /// <summary>Per event name, over every record of the profile: how many, the first and the last time.</summary>
    IReadOnlyList<EventSummary> SummarizeEvents(ProfileId profile);

    /// <summary>Distinct profiles and records with events from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive).</summary>
    UniqueUsers CountUniqueUsers(DateTimeOffset from, DateTimeOffset to, string? name);

    /// <summary>The same per UTC day.</summary>
    IReadOnlyList<UniqueUsersDay> CountUniqueUsersPerDay(DateTimeOffset from, DateTimeOffset to, string? name);
}
