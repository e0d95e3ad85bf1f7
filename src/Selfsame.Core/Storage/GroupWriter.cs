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
        }
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
        while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (group.Count < _maxGroup && _queue.Reader.TryRead(out var item))
            {
                if (item.CancellationToken.IsCancellationRequested)
                {
                    item.Fail(new OperationCanceledException(item.CancellationToken));
                    continue;
                }
                group.Add(item);
            }
            if (group.Count > 0)
            {
                Commit(group);
                group.Clear();
            }
        }
    }
}
