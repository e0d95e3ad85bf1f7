using Npgsql;
using Selfsame.Graph;

namespace Selfsame.Storage.Postgres;

/// <summary>
/// The graph reads and writes of one PostgreSQL transaction, scoped to one project. Statements take positional
/// parameters ($1, $2...); a parameter that may be null is cast in the statement so that PostgreSQL knows its type.
/// </summary>
/// <remarks>
/// A read's session carries the read's token: a statement does not start once it is cancelled, and
/// <see cref="CancelRunning"/> cancels the one running. One file a capability: the statements' plumbing here, then .Graph,
/// .Events, .Companies, .Jobs, .Audit.
/// </remarks>
internal sealed partial class PostgresGraphSession(
    NpgsqlConnection connection, NpgsqlTransaction transaction, ProjectId project, DateTimeOffset now, CancellationToken cancellationToken = default) : ITimedTransaction
{
    private readonly string _project = project.Value;
    private ProjectSettings? _settings;
    private NpgsqlCommand? _running;

    public ProjectId Project { get; } = project;
    public DateTimeOffset Now { get; set; } = now;

    public ProjectSettings Settings => _settings ??= Scalar("SELECT settings FROM projects WHERE project_id = $1", _project) is string json
        ? ProjectSettings.FromJson(json)
        : throw new GraphException(GraphErrorKind.NotFound, "project", $"no project '{Project}'");

    private long NowMs => Now.ToUnixTimeMilliseconds();

    public long NextSequence() => (long)Scalar("SELECT nextval('property_seq')")!;

    /// <summary>PostgreSQL reads each look-up when it comes.</summary>
    public void ReadAhead(IEnumerable<Identifier> identifiers, IEnumerable<string> insertIds)
    {
    }

    public Exception? Attempt(Action<IGraphTransaction> work)
    {
        try
        {
            transaction.Save("attempt");
            try
            {
                work(this);
                transaction.Release("attempt");
                return null;
            }
            catch (Exception e) when (e is not (NpgsqlException or StoreUnavailableException))
            {
                // A refusal by the rules, or the server refusing this work's data (StoreValueRejectedException): undone, the
                // rest goes on. A lost connection, a lock timeout or a deadlock is not caught: the whole transaction fails.
                transaction.Rollback("attempt");
                transaction.Release("attempt");
                return e;
            }
        }
        catch (NpgsqlException e) when (PostgresErrors.Translate(e) is { } store)
        {
            throw store;
        }
    }

    private NpgsqlCommand Command(string sql, object?[] args)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var arg in args)
        {
            // The surfaces refuse NUL in what they store; a value that still carries one is refused here as bad input, not
            // left to fail inside PostgreSQL, whose text cannot hold it.
            if (arg is string text && text.Contains('\0', StringComparison.Ordinal))
            {
                throw new GraphException(GraphErrorKind.Invalid, "(text)", "a value holds a NUL character, which the store cannot keep");
            }
            command.Parameters.Add(new NpgsqlParameter { Value = arg ?? DBNull.Value });
        }
        return command;
    }

    private List<T> List<T>(string sql, Func<NpgsqlDataReader, T> read, params object?[] args) =>
        Run(sql, args, read, static (command, read) =>
        {
            using var reader = command.ExecuteReader();
            var result = new List<T>();
            while (reader.Read())
            {
                result.Add(read(reader));
            }
            return result;
        });

    private object? Scalar(string sql, params object?[] args) =>
        Run(sql, args, 0, static (command, _) => command.ExecuteScalar() is var value and not DBNull ? value : null);

    private int Execute(string sql, params object?[] args) => Run(sql, args, 0, static (command, _) => command.ExecuteNonQuery());

    /// <summary>Cancels the statement running now, if any (from the thread that cancels the read's token): the read then ends with OperationCanceledException.</summary>
    public void CancelRunning() => Volatile.Read(ref _running)?.Cancel();

    /// <summary>
    /// Runs one statement, unless the read is cancelled; what the driver throws reaches the caller as the store's own
    /// exception where there is one, and as OperationCanceledException once the read is cancelled.
    /// </summary>
    private TResult Run<TState, TResult>(string sql, object?[] args, TState state, Func<NpgsqlCommand, TState, TResult> execute)
    {
        using var command = Command(sql, args);
        // Known as running before the token is looked at: a cancellation from now on reaches this statement.
        Volatile.Write(ref _running, command);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            return execute(command, state);
        }
        catch (Exception e) when (Failure(e) is { } failure)
        {
            throw failure;
        }
        finally
        {
            Volatile.Write(ref _running, null);
        }
    }

    private Exception? Failure(Exception e) => cancellationToken.IsCancellationRequested
        ? e is OperationCanceledException cancelled && cancelled.CancellationToken == cancellationToken ? null : new OperationCanceledException("the read was cancelled", e, cancellationToken)
        : e is NpgsqlException ? PostgresErrors.Translate(e) : null;

    private static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);
}
