using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>
/// One write inside the store's transaction. Runs on the store's writer, in a serial order with every other
/// write to the same project; nothing is visible to readers until the transaction commits.
/// </summary>
public interface IGraphTransaction : IGraphReadSession, IGraphWrites, IEventWrites, ICompanyWrites, IJobProgress, IAuditLog, IChangeLog, IReviewLog
{
    DateTimeOffset Now { get; }

    /// <summary>
    /// Runs <paramref name="work"/> so that, if it throws, what it wrote is undone and the rest of the transaction goes on
    /// (a savepoint); returns what it threw, or null.
    /// </summary>
    Exception? Attempt(Action<IGraphTransaction> work);

    /// <summary>
    /// Says which identifiers and insert_ids the coming work will look up, so that a store can read them together. Only
    /// speed depends on it: look-ups answer the same with or without it.
    /// </summary>
    void ReadAhead(IEnumerable<Identifier> identifiers, IEnumerable<string> insertIds);
}
