using Selfsame.Graph;

namespace Selfsame.Events;

/// <summary>One event to ingest: who sent it (identified as by identify), what, when, and an optional idempotency key.</summary>
public sealed record TrackCommand(
    IdentifyCommand Identity,
    string Name,
    DateTimeOffset? Time,
    string PropertiesJson,
    string? InsertId)
{
    /// <summary>
    /// Stores the event on the record that already holds the sender's identifier, and nothing else: no record created, no
    /// identifier attached, no property written, no merge (PostHog's <c>$process_person_profile: false</c>). When no record
    /// holds any of the sender's identifiers, the event is refused: it has nobody to be stored on.
    /// </summary>
    public bool Personless { get; init; }
}

/// <summary>An event as stored, on the record that sent it.</summary>
public sealed record StoredEvent(
    long EventId,
    RecordId Record,
    string Name,
    DateTimeOffset Time,
    string PropertiesJson,
    string? InsertId,
    string Surface,
    DateTimeOffset ReceivedAt);

/// <summary>The outcome of one event: the identify part, and the stored event (or the earlier one with the same insert_id).</summary>
public sealed record TrackResult(IdentifyResult? Identity, long EventId, RecordId Record, ProfileId Profile, bool Duplicate);

/// <summary>A page of a stream: newest first, before a cursor, filtered by name and time (from inclusive, to exclusive).</summary>
public sealed record EventQuery(string? Name, DateTimeOffset? From, DateTimeOffset? To, EventCursor? Before, int Limit);

/// <summary>A position in a stream, newest first: events strictly older than (time, event id).</summary>
public readonly record struct EventCursor(long TimeMilliseconds, long EventId)
{
    public override string ToString() => $"{TimeMilliseconds}_{EventId}";

    public static bool TryParse(string? text, out EventCursor cursor)
    {
        cursor = default;
        var parts = text?.Split('_');
        if (parts is not { Length: 2 } || !long.TryParse(parts[0], out var time) || !long.TryParse(parts[1], out var id))
        {
            return false;
        }
        cursor = new EventCursor(time, id);
        return true;
    }
}

public sealed record EventPage(IReadOnlyList<StoredEvent> Events, EventCursor? Next);

/// <summary>Distinct users with events in a time range: profiles (identity resolution applied) and records (raw).</summary>
public sealed record UniqueUsers(long Merged, long Raw);

public sealed record UniqueUsersDay(DateOnly Day, long Merged, long Raw);

/// <summary>The events of one name on a profile: how many, and the first and last event times.</summary>
public sealed record EventSummary(string Name, long Count, DateTimeOffset First, DateTimeOffset Last);
