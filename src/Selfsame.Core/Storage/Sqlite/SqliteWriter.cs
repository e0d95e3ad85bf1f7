using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// The one writer of a SQLite store. Requests wait in a channel; the writer thread takes all that are waiting, applies
/// them in one transaction (group commit), commits, and only then completes them. When one of them throws, the group is
/// rolled back and applied again with a savepoint around each, so that the failing one alone is undone.
/// </summary>
internal sealed class SqliteWriter : GroupWriter
{
    private readonly SqliteGraphSession _session;
    private readonly TimeProvider _time;
    private readonly SqliteCheckpointer _checkpointer;

    public SqliteWriter(SqliteGraphSession session, TimeProvider time, SqliteCheckpointer checkpointer)
        : base("selfsame-sqlite-writer", maxGroup: 512)
    {
        _session = session;
        _time = time;
        _checkpointer = checkpointer;
    }

    internal SqliteGraphSession Session => _session;

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _checkpointer.Dispose();
        _session.Dispose();
    }

    protected override void Commit(List<WriteItem> group)
    {
        // A dry run goes after the group's writes, so that it sees every write sent before it.
        var dryRun = group.Find(i => i.DryRun);
        if (dryRun is not null)
        {
            group.Remove(dryRun);
        }
        if (group.Count > 0)
        {
            CommitWrites(group);
        }
        if (dryRun is not null)
        {
            DryRun(dryRun);
        }
    }

    private void CommitWrites(List<WriteItem> group)
    {
        var sql = _session.Sql;
        var started = SqliteWriterTimings.Start();
        try
        {
            sql.Execute("BEGIN IMMEDIATE");
            _session.BeginUnitOfWork();
            var requests = SqliteWriterTimings.Start();
            var ran = RunGroup(group, savepoints: false);
            SqliteWriterTimings.Add(SqliteWriterTimings.Requests, requests);
            if (!ran || !TryWritePending())
            {
                // Something threw, possibly after writing part of its work: undo the group and apply it again with a
                // savepoint around each item, so that only the failing item is rolled back.
                sql.Execute("ROLLBACK");
                sql.Execute("BEGIN IMMEDIATE");
                _session.BeginUnitOfWork();
                RunGroup(group, savepoints: true);
            }
            _session.Flush();
            var commit = SqliteWriterTimings.Start();
            sql.Execute("COMMIT");
            SqliteWriterTimings.Add(SqliteWriterTimings.Commit, commit);
            SqliteWriterTimings.Add(SqliteWriterTimings.Groups, started);
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
        _checkpointer.Committed(WrittenPages());
        foreach (var item in group)
        {
            item.Complete();
        }
    }

    /// <summary>
    /// Applies a dry run in a transaction of its own, its rows held back written out as a commit would (so that what the
    /// database refuses is refused here too), then rolls it back and forgets what the session read or counted in it.
    /// </summary>
    private void DryRun(WriteItem item)
    {
        try
        {
            _session.Sql.Execute("BEGIN IMMEDIATE");
            _session.BeginUnitOfWork();
            _session.Bind(item.Project);
            item.Run(_session, _time, savepoints: true);
            _session.WritePending();
        }
        catch (Exception e)
        {
            TryRollback();
            _session.BeginUnitOfWork();
            item.Fail(e);
            return;
        }
        TryRollback();
        _session.BeginUnitOfWork();
        item.Complete();
    }

    /// <summary>Pages the connection wrote to the WAL since the last call (SQLite's count of cache pages written).</summary>
    private long WrittenPages()
    {
        SQLitePCL.raw.sqlite3_db_status(_session.Sql.Connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_WRITE, out var written, out _, 1);
        return written;
    }

    /// <summary>Runs each item; without savepoints, stops at the first item that throws and answers false.</summary>
    private bool RunGroup(List<WriteItem> group, bool savepoints)
    {
        foreach (var item in group)
        {
            // Rows held back are the bound project's: write them out before the next item's project is bound.
            if (item.Project != _session.Project && !savepoints && !TryWritePending())
            {
                return false;
            }
            _session.Bind(item.Project);
            if (!item.Run(_session, _time, savepoints) && !savepoints)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Writes out the rows the group's items held back. Without savepoints an item's rows may be written after the item
    /// returned; if that fails, the group is applied again with savepoints, where each item writes its own inside its own.
    /// </summary>
    private bool TryWritePending()
    {
        try
        {
            _session.WritePending();
            return true;
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or StoreUnavailableException or StoreValueRejectedException or InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }

    private void TryRollback()
    {
        try
        {
            _session.Sql.Execute("ROLLBACK");
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or StoreUnavailableException)
        {
            // No transaction left to roll back.
        }
    }
}
