using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file (WAL) in the data folder. Writes go through one <see cref="SqliteWriter"/>;
/// reads use a pool of query-only connections.
/// </summary>
public sealed class SqliteStore : IGraphStore, ISqliteReaders
{
    public const string FileName = "selfsame.db";

    private readonly string _connectionString;
    private readonly string _readConnectionString;
    private readonly ConcurrentBag<SqliteGraphSession> _readers = [];
    private readonly SqliteWriter _writer;

    static SqliteStore()
    {
        // Every connection here is used by one thread at a time (the writer's by its thread, a read session by whoever took
        // it from the pool), so SQLite's own per-connection mutex is not needed: multi-thread mode leaves it out of every
        // call. It can only be chosen before SQLite starts: if something in the process started it already, the call is
        // refused and SQLite keeps its serialized mode, slower but as correct, so its answer is not needed.
        SQLitePCL.Batteries_V2.Init();
        _ = SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MULTITHREAD);
    }

    private SqliteStore(string path, TimeProvider time)
    {
        // Two connection strings, so that Microsoft.Data.Sqlite pools the query-only connections apart from the others.
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, DefaultTimeout = 30 }.ToString();
        // The store pools its read sessions itself; Microsoft.Data.Sqlite's pool would hand a closed session's handle to
        // someone else in whatever transaction state the session left it.
        _readConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, DefaultTimeout = 30, Pooling = false }.ToString();
        var connection = Open(_connectionString, readOnly: false);
        SqliteMigrations.Apply(connection, time);
        var checkpointer = new SqliteCheckpointer(new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString());
        _writer = new SqliteWriter(new SqliteGraphSession(new SqliteStatements(connection)), time, checkpointer);
        var catalog = new SqliteCatalog(_connectionString, _readConnectionString);
        Catalog = catalog;
        Jobs = new SqliteJobStore(catalog);
        DatabasePath = path;
    }

    public string DatabasePath { get; }

    public IProjectCatalog Catalog { get; }

    public Jobs.IJobStore Jobs { get; }

    /// <summary>Opens (creating where needed) the store in <paramref name="dataFolder"/> and applies pending migrations.</summary>
    public static SqliteStore Open(string dataFolder, TimeProvider time)
    {
        Directory.CreateDirectory(dataFolder);
        return new SqliteStore(Path.GetFullPath(Path.Combine(dataFolder, FileName)), time);
    }

    public Task<T> WriteAsync<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken) =>
        _writer.WriteAsync(project, work, cancellationToken);

    public Task<T> DryRunAsync<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken) =>
        _writer.DryRunAsync(project, work, cancellationToken);

    public Task<IReadOnlyList<WriteOutcome<T>>> WriteEachAsync<T>(ProjectId project, IReadOnlyList<Func<IGraphTransaction, T>> work, CancellationToken cancellationToken) =>
        _writer.WriteEachAsync(project, work, cancellationToken);

    /// <summary>
    /// Runs the read here, on the caller's thread, and returns it done: SQLite's calls are synchronous (Microsoft.Data.Sqlite's
    /// async ones too), and a look-up costs microseconds. A token cancelled before the read starts cancels it.
    /// </summary>
    public Task<T> ReadAsync<T>(ProjectId project, Func<IGraphReadSession, T> read, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }
        try
        {
            return Task.FromResult(Read(project, read));
        }
        catch (Exception e)
        {
            return Task.FromException<T>(e);
        }
    }

    private T Read<T>(ProjectId project, Func<IGraphReadSession, T> read)
    {
        try
        {
            return WithReader(session =>
            {
                // One read transaction for the whole read: every query sees the same committed snapshot (a merge committed
                // between two of them cannot tear the answer), and SQLite takes its WAL read lock once instead of per query.
                session.Sql.Execute("BEGIN");
                session.BeginUnitOfWork();
                session.Bind(project);
                var result = read(session);
                session.Sql.Execute("COMMIT");
                return result;
            });
        }
        catch (SqliteException e) when (SqliteErrors.Translate(e) is { } store)
        {
            // Opening a read session's connection, the one step not run through its statements.
            throw store;
        }
    }

    /// <summary>Whether a long read (unique users) is cut in halves read at once; on by default with more than one core.</summary>
    internal bool ReadInHalves { get; set; } = Environment.ProcessorCount > 1;

    bool ISqliteReaders.ReadInHalves => ReadInHalves;

    private long _sharedSnapshots;

    /// <summary>Halves read by a second session on another's snapshot, so far.</summary>
    internal long SharedSnapshots => Interlocked.Read(ref _sharedSnapshots);

    void ISqliteReaders.SharedSnapshot() => Interlocked.Increment(ref _sharedSnapshots);

    T ISqliteReaders.WithReader<T>(Func<SqliteGraphSession, T> use) => WithReader(use);

    /// <summary>Runs <paramref name="use"/> with a pooled read session (a new one if none is free) and puts it back.</summary>
    private T WithReader<T>(Func<SqliteGraphSession, T> use)
    {
        if (!_readers.TryTake(out var session))
        {
            session = new SqliteGraphSession(new SqliteStatements(Open(_readConnectionString, readOnly: true))) { Readers = this };
        }
        T result;
        try
        {
            result = use(session);
        }
        catch
        {
            // The read failed (a read that refuses throws too): end its transaction and keep the session if that works;
            // close it if not. Either way the read's own exception goes on.
            try
            {
                if (SQLitePCL.raw.sqlite3_get_autocommit(session.Sql.Connection.Handle!) == 0)
                {
                    session.Sql.Execute("ROLLBACK");
                }
                _readers.Add(session);
            }
            catch (Exception e) when (e is SqliteException or StoreUnavailableException)
            {
                session.Dispose();
            }
            throw;
        }
        _readers.Add(session);
        return result;
    }

    /// <summary>The SQL of every statement the writer and the pooled readers prepared (for the query-plan test).</summary>
    internal IReadOnlyCollection<string> PreparedSql() =>
        _writer.Session.Sql.Texts.Concat(_readers.SelectMany(r => r.Sql.Texts)).Distinct().ToList();

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync();
        while (_readers.TryTake(out var session))
        {
            session.Dispose();
        }
    }

    internal static SqliteConnection Open(string connectionString, bool readOnly)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        // Pages are read through a memory map of up to 2 GB (SQLite's ceiling in this build) rather than copied in by read
        // calls: with 10,000,000 events the file is about that size, and ingest ran about 10% faster than with 256 MB.
        pragma.CommandText = readOnly
            ? "PRAGMA busy_timeout = 30000; PRAGMA query_only = ON; PRAGMA cache_size = -16384; PRAGMA mmap_size = 2147418112;"
            : "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; PRAGMA mmap_size = 2147418112; " +
              $"PRAGMA wal_autocheckpoint = {SqliteCheckpointer.WriterFallbackPages};";
        pragma.ExecuteNonQuery();
        return connection;
    }
}
