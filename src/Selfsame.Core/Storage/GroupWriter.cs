using System.Threading.Channels;

namespace Selfsame.Storage;

/// <summary>
/// A store's writer thread: requests wait in a channel; the thread takes all that are waiting (up to a group's size),
/// drops those already cancelled, and hands the group to <see cref="Commit"/>, which applies it in as few transactions as
/// the store allows and completes each request only after its commit.
/// </summary>
internal abstract class GroupWriter : IAsyncDisposable
{
    private readonly Channel<WriteItem> _queue = Channel.CreateUnbounded<WriteItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _maxGroup;
    private readonly Thread _thread;

    protected GroupWriter(string name, int maxGroup)
    {
        _maxGroup = maxGroup;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public Task<T> WriteAsync<T>(Graph.ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken)
    {
        var item = new SingleWrite<T>(project, work, cancellationToken);
        Enqueue(item);
        return item.Task;
    }

    /// <summary>Applies <paramref name="work"/> in a transaction of its own, never grouped with others, and rolls it back.</summary>
    public Task<T> DryRunAsync<T>(Graph.ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken)
    {
        var item = new SingleWrite<T>(project, work, cancellationToken) { DryRun = true };
        Enqueue(item);
        return item.Task;
    }

    public Task<IReadOnlyList<WriteOutcome<T>>> WriteEachAsync<T>(Graph.ProjectId project, IReadOnlyList<Func<IGraphTransaction, T>> work, CancellationToken cancellationToken)
    {
        var item = new EachWrite<T>(project, work, cancellationToken);
        Enqueue(item);
        return item.Task;
    }

    public void Enqueue(WriteItem item)
    {
        if (!_queue.Writer.TryWrite(item))
        {
            item.Fail(new ObjectDisposedException(GetType().Name, "the store is closed"));
            return;
        }
        Telemetry.SelfsameMetrics.WriterQueueDepth.Add(1);
    }

    public virtual async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.Run(_thread.Join);
    }

    /// <summary>Applies the group and completes (or fails) every request in it.</summary>
    protected abstract void Commit(List<WriteItem> group);

    private void Run()
    {
        var group = new List<WriteItem>(_maxGroup);
        // At most one dry run a group: a dry run has a transaction of its own, and many of them waiting must not hold up
        // the writes behind them for longer than one each. The others wait here, in order, for the groups that follow.
        var dryRuns = new Queue<WriteItem>();
        while (dryRuns.Count > 0 || _queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            var dryRunTaken = dryRuns.TryDequeue(out var waiting);
            if (dryRunTaken)
            {
                group.Add(waiting!);
            }
            while (group.Count < _maxGroup && _queue.Reader.TryRead(out var item))
            {
                Telemetry.SelfsameMetrics.WriterQueueDepth.Add(-1);
                if (item.CancellationToken.IsCancellationRequested)
                {
                    item.Fail(new OperationCanceledException(item.CancellationToken));
                    continue;
                }
                if (item.DryRun && dryRunTaken)
                {
                    dryRuns.Enqueue(item);
                    continue;
                }
                dryRunTaken |= item.DryRun;
                group.Add(item);
            }
            if (group.Count > 0)
            {
                var (started, size) = (System.Diagnostics.Stopwatch.GetTimestamp(), group.Count);
                Commit(group);
                Telemetry.SelfsameMetrics.WriterGroupSize.Record(size);
                Telemetry.SelfsameMetrics.WriterCommitSeconds.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
                group.Clear();
            }
        }
    }
}
