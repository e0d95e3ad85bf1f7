using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>Writes of a project's graph: records, identifiers, links, profile ids and properties.</summary>
public interface IGraphWrites
{
    RecordId CreateRecord();
    void TouchRecord(RecordId record);
    void AttachIdentifier(RecordId record, Identifier identifier, string display);

    /// <summary>Removes an identifier from whichever record holds it; false when no record does.</summary>
    bool DetachIdentifier(Identifier identifier);

    Link AddLink(RecordId from, RecordId into, string kind, WriteOrigin origin);

    /// <summary>Removes every link between the two records, in either direction; returns what it removed.</summary>
    IReadOnlyList<Link> RemoveLinksBetween(RecordId a, RecordId b);

    void RemoveLink(LinkId link);

    /// <summary>Moves the given records to another profile id.</summary>
    void SetProfile(IEnumerable<RecordId> records, ProfileId profile);

    /// <summary>A number that grows with every write in the project; orders property writes ("latest write").</summary>
    long NextSequence();

    void SetProperty(RecordId record, string key, PropertyValue value);
    bool HasProperty(RecordId record, string key);
    bool RemoveProperty(RecordId record, string key);

    /// <summary>Deletes a record with its identifiers, properties, links and events, for good.</summary>
    void DeleteRecord(RecordId record);
}
