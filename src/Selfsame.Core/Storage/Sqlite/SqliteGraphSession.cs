using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// The graph reads and writes of one SQLite connection. The writer's session runs inside its transaction;
/// a read session is a pooled query-only connection.
/// Joins from records to identifiers, links and properties are written as CROSS JOIN, which SQLite keeps in the written
/// order: records of one profile first (records_by_profile), then their rows. Left to itself, the planner drove these
/// joins from the other table by project_id alone, reading every row of the project on each merge; and for identifiers
/// it preferred the primary key by project_id alone to identifiers_by_record, hence the INDEXED BY.
/// </summary>
/// <remarks>One file a capability: the unit of work here, then .Graph, .ReadAhead, .Events, .UniqueUsers, .Companies, .Jobs, .Audit.</remarks>
internal sealed partial class SqliteGraphSession : ITimedTransaction, IDisposable
{
    public SqliteGraphSession(SqliteStatements sql)
    {
        Sql = sql;
        _readProperties = ReadProperties;
    }

    private readonly Dictionary<ProjectId, ProjectSettings> _settings = [];
    private string _project = "";
    private readonly Dictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyCounters = new(StringComparer.Ordinal);
    private readonly SqlitePendingWrites _pending = new();
    private readonly Func<long, string?> _readProperties;

    public SqliteStatements Sql { get; }
    public ProjectId Project { get; private set; }
    public DateTimeOffset Now { get; set; }

    public ProjectSettings Settings
    {
        get
        {
            if (!_settings.TryGetValue(Project, out var settings))
            {
                var json = Sql.Scalar("SELECT settings FROM projects WHERE project_id = @p0", _project) as string
                    ?? throw new GraphException(GraphErrorKind.NotFound, "project", $"no project '{Project}'");
                settings = ProjectSettings.FromJson(json);
                _settings[Project] = settings;
            }
            return settings;
        }
    }

    public void Bind(ProjectId project)
    {
        if (!_pending.IsEmpty && project != Project)
        {
            throw new InvalidOperationException("the session holds writes of another project; write them out before binding");
        }
        if (project != Project)
        {
            // Copies of another project's rows are not this one's.
            _pending.ForgetKept();
            _anySuppressed = null;
        }
        Project = project;
        _project = project.Value;
    }

    /// <summary>Forgets what was read in an earlier transaction (settings, the sequence).</summary>
    public void BeginUnitOfWork()
    {
        _settings.Clear();
        _anySuppressed = null;
        _counters.Clear();
        _dirtyCounters.Clear();
        _pending.Clear();
    }

    /// <summary>
    /// Writes out the rows held back so far (<see cref="SqlitePendingWrites"/>). Every read and write that the held-back
    /// rows could change calls this first; the writer calls it at the end of a group, and <see cref="Attempt"/> inside its
    /// savepoint, so that a failure there is the attempt's own.
    /// </summary>
    public void WritePending()
    {
        if (_pending.IsEmpty)
        {
            _pending.WriteTo(Sql, _project);
            return;
        }
        var started = SqliteWriterTimings.Start();
        _pending.WriteTo(Sql, _project);
        SqliteWriterTimings.Add(SqliteWriterTimings.WriteOut, started);
    }

    /// <summary>Writes back what the unit of work kept in memory; call before COMMIT.</summary>
    public void Flush()
    {
        WritePending();
        foreach (var name in _dirtyCounters)
        {
            Sql.Execute("UPDATE counters SET value = @p1 WHERE name = @p0", name, _counters[name]);
        }
        _dirtyCounters.Clear();
    }

    public long NextSequence() => Next("property_seq");

    /// <summary>
    /// The next value of a persisted counter. Only the writer holding the database's write lock calls this, so the
    /// counter is read once per transaction and written back by <see cref="Flush"/>; values are never handed out twice.
    /// </summary>
    private long Next(string name)
    {
        if (!_counters.TryGetValue(name, out var value))
        {
            value = (long)Sql.Scalar("SELECT value FROM counters WHERE name = @p0", name)!;
        }
        _counters[name] = ++value;
        _dirtyCounters.Add(name);
        return value;
    }

    public Exception? Attempt(Action<IGraphTransaction> work)
    {
        WritePending();
        Sql.Execute("SAVEPOINT attempt");
        try
        {
            work(this);
            WritePending();
            Sql.Execute("RELEASE attempt");
            return null;
        }
        catch (Exception e)
        {
            // What the work held back was held back inside the savepoint: it goes with it.
            _pending.Clear();
            Sql.Execute("ROLLBACK TO attempt");
            Sql.Execute("RELEASE attempt");
            return e;
        }
    }

    /// <summary>
    /// Lends this session a second read session of the same store for the length of a call (set on the store's read
    /// sessions; null on the writer's, which counts on its own).
    /// </summary>
    internal ISqliteReaders? Readers { get; init; }

    public void Dispose() => Sql.Dispose();

    private static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);
}
