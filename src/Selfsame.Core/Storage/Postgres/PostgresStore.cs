using System.Data;
using Npgsql;
using Selfsame.Graph;

namespace Selfsame.Storage.Postgres;

/// <summary>
/// The store for several server nodes on one PostgreSQL database. Writes go through the node's <see cref="PostgresWriter"/>:
/// each transaction first takes a transaction-level advisory lock on its project (<c>pg_advisory_xact_lock</c>), so the
/// writes to one project are applied one at a time, in one order, whichever node receives them: the same serial order per
/// project that the SQLite store's single writer gives. A read runs in one REPEATABLE READ transaction (one snapshot).
/// </summary>
public sealed class PostgresStore : IGraphStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly PostgresWriter _writer;

    private PostgresStore(NpgsqlDataSource dataSource, TimeProvider time)
    {
        _dataSource = dataSource;
        _time = time;
        _writer = new PostgresWriter(dataSource, time);
        var catalog = new PostgresCatalog(dataSource);
        Catalog = catalog;
        Jobs = new PostgresJobStore(catalog);
    }

    public IProjectCatalog Catalog { get; }

    public Jobs.IJobStore Jobs { get; }

    /// <summary>Opens the store over <paramref name="connectionString"/> and applies pending migrations (one node at a time).</summary>
    public static PostgresStore Open(string connectionString, TimeProvider time)
    {
        var dataSource = CreateDataSource(connectionString);
        try
        {
            PostgresMigrations.Apply(dataSource, time);
        }
        catch (Exception e)
        {
            dataSource.Dispose();
            if (e is NpgsqlException && PostgresErrors.Translate(e) is { } store)
            {
                throw store;
            }
            throw;
        }
        return new PostgresStore(dataSource, time);
    }

    /// <summary>The store over <paramref name="connectionString"/> without reaching the database (no migrations): for tests of a database that cannot be reached.</summary>
    internal static PostgresStore OpenWithoutMigrations(string connectionString, TimeProvider time) => new(CreateDataSource(connectionString), time);

    private static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // What the connection string itself sets (NpgsqlConnectionStringBuilder.ContainsKey answers true for every keyword it knows).
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        bool Set(params string[] keys) => keys.Any(given.ContainsKey);
        if (!Set("Timeout"))
        {
            builder.Timeout = 5;
        }
        if (!Set("Command Timeout", "CommandTimeout"))
        {
            builder.CommandTimeout = 30;
        }
        if (!Set("Max Auto Prepare", "MaxAutoPrepare"))
        {
            // The store runs a few dozen statements over and over: prepared once per connection, they skip parsing and planning.
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }
        if (!Set("Keepalive"))
        {
            // A node that vanishes in the middle of a transaction is noticed within a minute, and its project lock freed.
            builder.KeepAlive = 15;
        }
        if (!Set("Options"))
        {
            // A transaction left idle (a node gone) ends after a minute; a write waits at most 10 s for its project's lock (then 503).
            builder.Options = "-c idle_in_transaction_session_timeout=60000 -c lock_timeout=10000";
        }
        // A read's statements run synchronously on the request's thread (the engine's reads are synchronous delegates): more
        // threads from the start keep requests waiting on the database from starving the pool.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 128), io);
        return NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public Task<T> WriteAsync<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken) =>
        _writer.WriteAsync(project, work, cancellationToken);

    public Task<T> DryRunAsync<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken) =>
        _writer.DryRunAsync(project, work, cancellationToken);

    public Task<IReadOnlyList<WriteOutcome<T>>> WriteEachAsync<T>(ProjectId project, IReadOnlyList<Func<IGraphTransaction, T>> work, CancellationToken cancellationToken) =>
        _writer.WriteEachAsync(project, work, cancellationToken);

    /// <summary>
    /// Opens the connection and begins the transaction without holding a thread; the read's statements then run on this
    /// thread, one after another (the read is synchronous). A cancelled token cancels the statement running.
    /// </summary>
    public async Task<T> ReadAsync<T>(ProjectId project, Func<IGraphReadSession, T> read, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
            var session = new PostgresGraphSession(connection, transaction, project, _time.GetUtcNow(), cancellationToken);
            T result;
            // Undone before the connection goes back to the pool (a running cancellation is waited for).
            using (cancellationToken.Register(session.CancelRunning))
            {
                result = read(session);
            }
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        catch (NpgsqlException e) when (!cancellationToken.IsCancellationRequested && PostgresErrors.Translate(e) is { } store)
        {
            throw store;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync();
        await _dataSource.DisposeAsync();
    }
}

/// <summary>Applies the numbered scripts in Migrations/ (embedded) not yet applied, each in its own transaction, under a session advisory lock.</summary>
internal static class PostgresMigrations
{
    private const long LockKey = 0x5e1f5a3e;

    public static void Apply(NpgsqlDataSource dataSource, TimeProvider time)
    {
        using var connection = dataSource.OpenConnection();
        Execute(connection, null, "SET lock_timeout = 0");
        Execute(connection, null, $"SELECT pg_advisory_lock({LockKey})");
        try
        {
            Execute(connection, null, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)");
            foreach (var (version, name, sql) in Scripts)
            {
                using var transaction = connection.BeginTransaction();
                using var check = new NpgsqlCommand("SELECT count(*) FROM schema_migrations WHERE version = $1", connection, transaction);
                check.Parameters.Add(new NpgsqlParameter { Value = version });
                if ((long)check.ExecuteScalar()! == 0)
                {
                    Execute(connection, transaction, sql);
                    using var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", connection, transaction);
                    record.Parameters.Add(new NpgsqlParameter { Value = version });
                    record.Parameters.Add(new NpgsqlParameter { Value = name });
                    record.Parameters.Add(new NpgsqlParameter { Value = time.GetUtcNow().ToUnixTimeMilliseconds() });
                    record.ExecuteNonQuery();
                }
                transaction.Commit();
            }
        }
        finally
        {
            Execute(connection, null, $"SELECT pg_advisory_unlock({LockKey})");
        }
    }

    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql)
    {
        // No statement timeout: a node waits as long as another takes to migrate, and a long migration is not cut short.
        using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
        command.ExecuteNonQuery();
    }

    public static IReadOnlyList<(int Version, string Name, string Sql)> Scripts { get; } = MigrationScripts.Load("Selfsame.Storage.Postgres.Migrations.");
}
