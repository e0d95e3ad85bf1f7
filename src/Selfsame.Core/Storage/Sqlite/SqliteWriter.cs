using System.Threading.Channels;
using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// The one writer of a SQLite store. Requests wait in a channel; the writer thread takes all that are waiting, applies
/// them in one transaction (group commit), commits, and only then completes them. When one of them throws, the group is
/// rolled back and applied again with a savepoint around each, so that the failing one alone is undone.
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

    internal SqliteGraphSession Session => _session;

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
            sql.Execute("BEGIN IMMEDIATE");
            _session.BeginUnitOfWork();
            if (!RunGroup(group, savepoints: false))
            {
                // Something threw, possibly after writing part of its work: undo the group and apply it again with a
                // savepoint around each item, so that only the failing item is rolled back.
                sql.Execute("ROLLBACK");
                sql.Execute("BEGIN IMMEDIATE");
                _session.BeginUnitOfWork();
                RunGroup(group, savepoints: true);
            }
            _session.Flush();
            sql.Execute("COMMIT");
        }
        catch (Exception e)
        {
            // The transaction could not be begun or committed: nothing of the group is kept, and every item says so.
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

    /// <summary>Runs each item; without savepoints, stops at the first item that throws and answers false.</summary>
    private bool RunGroup(List<WriteItem> group, bool savepoints)
    {
        foreach (var item in group)
        {
            _session.Bind(item.Project);
            if (!item.Run(_session, _time, savepoints) && !savepoints)
            {
                return false;
            }
        }
        return true;
    }

    private void TryRollback()
    {
        try
        {
            _session.Sql.Execute("ROLLBACK");
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

    /// <summary>Applies the work; false when a piece of it threw (without savepoints, it may have written part of its work).</summary>
    public abstract bool Run(SqliteGraphSession session, TimeProvider time, bool savepoints);
    public abstract void Complete();
    public abstract void Fail(Exception error);

    /// <summary>
    /// Runs one piece of work. With <paramref name="savepoints"/>, it runs in a savepoint and anything it throws is rolled
    /// back alone (<paramref name="clean"/> stays true); without, a throw leaves <paramref name="clean"/> false and the
    /// caller rolls back the whole group.
    /// </summary>
    protected static WriteOutcome<T> RunOne<T>(SqliteGraphSession session, TimeProvider time, Func<IGraphTransaction, T> work, bool savepoints, out bool clean)
    {
        session.Now = time.GetUtcNow();
        clean = true;
        if (savepoints)
        {
            session.Sql.Execute("SAVEPOINT item");
        }
        try
        {
            var value = work(session);
            if (savepoints)
            {
                session.Sql.Execute("RELEASE item");
            }
            return new WriteOutcome<T>(value, null);
        }
        catch (Exception e)
        {
            if (savepoints)
            {
                session.Sql.Execute("ROLLBACK TO item");
                session.Sql.Execute("RELEASE item");
            }
            else
            {
                clean = false;
            }
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

    public override bool Run(SqliteGraphSession session, TimeProvider time, bool savepoints)
    {
        _outcome = RunOne(session, time, work, savepoints, out var clean);
        return clean;
    }

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

    public override bool Run(SqliteGraphSession session, TimeProvider time, bool savepoints)
    {
        _outcomes.Clear();
        foreach (var piece in work)
        {
            _outcomes.Add(RunOne(session, time, piece, savepoints, out var clean));
            if (!clean)
            {
                return false;
            }
        }
        return true;
    }

    public override void Complete() => _done.TrySetResult(_outcomes);

    public override void Fail(Exception error) => _done.TrySetException(error);
}
