using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>Writes of a project's events.</summary>
public interface IEventWrites
{
    /// <summary>Adds an event to a record; returns its id.</summary>
    long AddEvent(RecordId record, string name, DateTimeOffset time, string propertiesJson, string? insertId, string surface);
}
