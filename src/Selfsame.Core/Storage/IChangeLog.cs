using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>The project's change feed, as a write sees it (docs/changes.md).</summary>
public interface IChangeLog
{
    /// <summary>
    /// Appends a change to the project's feed in this transaction: kept if and only if the write is, numbered after every
    /// change committed before it.
    /// </summary>
    void AddChange(string kind, WriteOrigin origin, string detailJson);
}
