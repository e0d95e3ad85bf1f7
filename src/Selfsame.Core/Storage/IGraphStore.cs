using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>The outcome of one write in a group: its value, or the exception that rolled it back alone.</summary>
public readonly record struct WriteOutcome<T>(T? Value, Exception? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// The storage of identity graphs. All writes go through <see cref="WriteAsync{T}"/>, which applies them in one serial
/// order per project and completes each only after its transaction committed.
/// </summary>
/// <remarks>
/// A store speaks for itself: where its database cannot be reached or does not answer in time it throws
/// <see cref="StoreUnavailableException"/>, and where it refuses a value <see cref="StoreValueRejectedException"/> (in a
/// group of writes, as the outcome of that piece alone), each with the driver's exception inside. These come from every
/// call: writes, reads, the session's own calls inside them, <see cref="Catalog"/> and <see cref="Jobs"/>.
/// </remarks>
public interface IGraphStore : IAsyncDisposable
{
    /// <summary>Runs <paramref name="work"/> in a write transaction; if it throws, nothing it wrote is kept.</summary>
    Task<T> WriteAsync<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> as a write would run, in a transaction of its own that is then rolled back: it sees
    /// what it writes, and nothing of it is kept (records, links, events, audit, review entries, last-seen times, counters).
    /// </summary>
    Task<T> DryRunAsync<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken);

    /// <summary>Runs each piece of work in one transaction and one commit; a piece that throws is rolled back alone.</summary>
    Task<IReadOnlyList<WriteOutcome<T>>> WriteEachAsync<T>(ProjectId project, IReadOnlyList<Func<IGraphTransaction, T>> work, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="read"/> against committed data, in one snapshot. A cancelled token ends the read with
    /// <see cref="OperationCanceledException"/> (before it starts, or by cancelling the statement it is running where the
    /// store can). <paramref name="read"/> itself runs synchronously: each of its look-ups waits for its answer.
    /// </summary>
    Task<T> ReadAsync<T>(ProjectId project, Func<IGraphReadSession, T> read, CancellationToken cancellationToken);

    IProjectCatalog Catalog { get; }

    Jobs.IJobStore Jobs { get; }
}
