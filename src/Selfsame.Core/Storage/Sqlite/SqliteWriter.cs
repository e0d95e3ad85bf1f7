using System.Threading.Channels;
using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// The one writer of a SQLite store. Requests wait in a channel; the writer thread takes all that are waiting,
/// applies each inside its own savepoint of one transaction (group commit), commits, and only then completes them.
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private const int MaxGroup = 512;

    private readonly Channel<WriteItem> _queue = Channel.CreateUnbounded<WriteItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteGraphSession _session;
    private readonly TimeProvider _time;
    private readonly Thread _thread;

    public SqliteWriter(SqliteGraphSession session, TimeProvider time)
    {
        _session = session;
        _time = time;
        _thread = new Thread(Run) { IsBackground = true, Name = "selfsame-sqlite-writer" };
        _thread.Start();
    }

    public void Enqueue(WriteItem item)
    {
        if (!_queue.Writer.TryWrite(item))
        {
            item.Fail(new ObjectDisposedException(nameof(SqliteWriter), "the store is closed"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.Run(_thread.Join);
        _session.Dispose();
    }

    private void Run()
    {
        var group = new List<WriteItem>(MaxGroup);
        while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (group.Count < MaxGroup && _queue.Reader.TryRead(out var item))
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

    private void Commit(List<WriteItem> group)
    {
        var sql = _session.Sql;
        try
        {
            sql.Raw("BEGIN IMMEDIATE");
        }
        catch (Exception e)
        {
            foreach (var item in group)
            {
                item.Fail(e);
            }
            return;
        }
        _session.BeginUnitOfWork();
        foreach (var item in group)
        {
            _session.Bind(item.Project);
            item.Run(_session, _time);
        }
        try
        {
            _session.Flush();
            sql.Raw("COMMIT");
        }
        catch (Exception e)
        {
            TryRollback();
            foreach (var item in group)
            {
                item.Fail(e);
            }
            return;
        }
        foreach (var item in group)
        {
            item.Complete();
        }
    }

    private void TryRollback()
    {
        try
        {
            _session.Sql.Raw("ROLLBACK");
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            // No transaction left to roll back.
        }
    }
}

/// <summary>One request to the writer.</summary>
internal abstract class WriteItem(ProjectId project, CancellationToken cancellationToken)
{
    public ProjectId Project { get; } = project;
    public CancellationToken CancellationToken { get; } = cancellationToken;

    public abstract void Run(SqliteGraphSession session, TimeProvider time);
    public abstract void Complete();
    public abstract void Fail(Exception error);

    /// <summary>Runs one piece of work in a savepoint: kept if it returns, rolled back alone if it throws.</summary>
    protected static WriteOutcome<T> RunInSavepoint<T>(SqliteGraphSession session, TimeProvider time, Func<IGraphTransaction, T> work)
    {
        session.Now = time.GetUtcNow();
        session.Sql.Raw("SAVEPOINT item");
        try
        {
            var value = work(session);
            session.Sql.Raw("RELEASE item");
            return new WriteOutcome<T>(value, null);
        }
        catch (Exception e)
        {
            session.Sql.Raw("ROLLBACK TO item");
            session.Sql.Raw("RELEASE item");
            // Counters stay as they are: a value handed out to rolled-back work is skipped, never reused.
            return new WriteOutcome<T>(default, e);
        }
    }
}

internal sealed class SingleWrite<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken)
    : WriteItem(project, cancellationToken)
{
    private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WriteOutcome<T> _outcome;

    public Task<T> Task => _done.Task;

    public override void Run(SqliteGraphSession session, TimeProvider time) => _outcome = RunInSavepoint(session, time, work);

    public override void Complete()
    {
        if (_outcome.Error is { } error)
        {
            _done.TrySetException(error);
        }
        else
        {
            _done.TrySetResult(_outcome.Value!);
        }
    }

    public override void Fail(Exception error) => _done.TrySetException(error);
}

internal sealed class EachWrite<T>(ProjectId project, IReadOnlyList<Func<IGraphTransaction, T>> work, CancellationToken cancellationToken)
    : WriteItem(project, cancellationToken)
{
    private readonly TaskCompletionSource<IReadOnlyList<WriteOutcome<T>>> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<WriteOutcome<T>> _outcomes = new(work.Count);

    public Task<IReadOnlyList<WriteOutcome<T>>> Task => _done.Task;

    public override void Run(SqliteGraphSession session, TimeProvider time)
    {
        _outcomes.Clear();
        foreach (var piece in work)
        {
            _outcomes.Add(RunInSavepoint(session, time, piece));
        }
    }

    public override void Complete() => _done.TrySetResult(_outcomes);

    public override void Fail(Exception error) => _done.TrySetException(error);
}
