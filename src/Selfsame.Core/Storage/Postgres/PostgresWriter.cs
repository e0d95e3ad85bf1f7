using System.Data;
using Npgsql;

namespace Selfsame.Storage.Postgres;

/// <summary>
/// A node's writer for PostgreSQL: the writes waiting are drained into groups (up to 256), one transaction and one commit per
/// project in the group, so that many writes share one commit's flush, as the SQLite store's writer does. Each transaction
/// first takes the project's advisory lock (writes to a project are serialized across nodes); a group is first applied
/// whole, and if a write throws, again with each write in a savepoint so that only the failing one is left out. Every write
/// completes after its commit.
/// </summary>
internal sealed class PostgresWriter(NpgsqlDataSource dataSource, TimeProvider time) : GroupWriter("selfsame-postgres-writer", maxGroup: 256)
{
    private readonly NpgsqlDataSource _dataSource = dataSource;
    private readonly TimeProvider _time = time;

    protected override void Commit(List<WriteItem> group)
    {
        // A dry run goes after the group's writes, so that it sees every write sent before it.
        var dryRuns = group.Where(i => i.DryRun).ToList();
        group.RemoveAll(i => i.DryRun);
        CommitWrites(group);
        foreach (var item in dryRuns)
        {
            DryRun(item);
        }
    }

    private void CommitWrites(List<WriteItem> group)
    {
        Exception? unreachable = null;
        foreach (var project in group.GroupBy(i => i.Project))
        {
            if (unreachable is not null)
            {
                // The database could not be reached for an earlier project of this group: the others fail at once rather
                // than each waiting out the connection timeout.
                foreach (var item in project)
                {
                    item.Fail(unreachable);
                }
                continue;
            }
            unreachable = Commit(project.Key, [.. project]);
        }
    }

    /// <summary>Commits one project's items; returns the error when the database could not be reached, else null.</summary>
    private Exception? Commit(Graph.ProjectId project, List<WriteItem> items)
    {
        try
        {
            using var connection = _dataSource.OpenConnection();
            if (!TryGroup(connection, project, items, savepoints: false))
            {
                TryGroup(connection, project, items, savepoints: true);
            }
        }
        catch (Exception e)
        {
            // The transaction could not be begun or committed: nothing of the group is kept, and every item says so.
            var error = PostgresErrors.AtBoundary(e);
            foreach (var item in items)
            {
                item.Fail(error);
            }
            return PostgresErrors.IsUnreachable(e) ? error : null;
        }
        foreach (var item in items)
        {
            item.Complete();
        }
        return null;
    }

    /// <summary>Runs the group in one transaction; without savepoints, gives up (rolled back) at the first item that throws.</summary>
    private bool TryGroup(NpgsqlConnection connection, Graph.ProjectId project, List<WriteItem> items, bool savepoints)
    {
        using var transaction = connection.BeginTransaction(IsolationLevel.ReadCommitted);
        LockProject(connection, transaction, project);
        var session = new PostgresGraphSession(connection, transaction, project, _time.GetUtcNow());
        foreach (var item in items)
        {
            if (!item.Run(session, _time, savepoints) && !savepoints)
            {
                transaction.Rollback();
                return false;
            }
        }
        transaction.Commit();
        return true;
    }

    /// <summary>Applies a dry run in a transaction of its own under the project's lock, and rolls it back.</summary>
    private void DryRun(WriteItem item)
    {
        try
        {
            using var connection = _dataSource.OpenConnection();
            using var transaction = connection.BeginTransaction(IsolationLevel.ReadCommitted);
            LockProject(connection, transaction, item.Project);
            item.Run(new PostgresGraphSession(connection, transaction, item.Project, _time.GetUtcNow()), _time, savepoints: true);
            transaction.Rollback();
        }
        catch (Exception e)
        {
            item.Fail(PostgresErrors.AtBoundary(e));
            return;
        }
        item.Complete();
    }

    /// <summary>Takes the project's write lock for the transaction: one writer per project across nodes.</summary>
    private static void LockProject(NpgsqlConnection connection, NpgsqlTransaction transaction, Graph.ProjectId project)
    {
        using var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", connection, transaction);
        lockCommand.Parameters.Add(new NpgsqlParameter { Value = $"selfsame:{project.Value}" });
        lockCommand.ExecuteNonQuery();
    }
}
