using System.Net.Sockets;
using Npgsql;

namespace Selfsame.Storage.Postgres;

/// <summary>
/// Npgsql's exceptions as the store's callers see them: <see cref="StoreUnavailableException"/> and
/// <see cref="StoreValueRejectedException"/>, with the driver's exception inside; any other stays as it is.
/// </summary>
internal static class PostgresErrors
{
    /// <summary>
    /// The store's own exception for <paramref name="e"/>, or null when it is neither kind: the database down or restarting
    /// (class 57P), a broken or refused connection (class 08, a socket or I/O error, a transient error), a timeout, a lock
    /// timeout (55P03), a deadlock (40P01), a serialization failure (40001), out of resources (class 53); or a value that
    /// PostgreSQL refused itself (class 22, data exception, and 54, program limit, such as an index row too large).
    /// </summary>
    public static Exception? Translate(Exception e) =>
        IsUnavailable(e) ? new StoreUnavailableException($"the store is unavailable: {e.Message}", e)
        : IsDataError(e) ? new StoreValueRejectedException(e.Message, e)
        : null;

    /// <summary><paramref name="e"/> as the store's callers see it: the store's own exception where there is one.</summary>
    /// <remarks>
    /// A driver's error may come wrapped: a transaction whose connection the database broke (57P01 on a fast shutdown)
    /// throws ObjectDisposedException with that error inside when rolled back; the error inside is what counts.
    /// </remarks>
    public static Exception AtBoundary(Exception e) => Driver(e) is { } driver ? Translate(driver) ?? e : e;

    /// <summary>The driver's error that <paramref name="e"/> is or wraps (one level: a disposed transaction of a broken connection).</summary>
    private static Exception? Driver(Exception e) => e is NpgsqlException or TimeoutException ? e
        : e is ObjectDisposedException or InvalidOperationException && e.InnerException is NpgsqlException inner ? inner
        : null;

    public static bool IsDataError(Exception e) =>
        e is PostgresException p && (p.SqlState.StartsWith("22", StringComparison.Ordinal) || p.SqlState.StartsWith("54", StringComparison.Ordinal));

    /// <summary>Whether the database could not be reached at all (rather than refusing one transaction): the driver's error, or the one inside the store's.</summary>
    public static bool IsUnreachable(Exception e) =>
        (e is StoreUnavailableException { InnerException: { } driver } ? driver : Driver(e) ?? e) is NpgsqlException { IsTransient: true } or NpgsqlException { InnerException: SocketException or TimeoutException or IOException };

    private static bool IsUnavailable(Exception e) => e switch
    {
        NpgsqlException { IsTransient: true } => true,
        PostgresException p => p.SqlState.StartsWith("57P", StringComparison.Ordinal) || p.SqlState.StartsWith("08", StringComparison.Ordinal)
            || p.SqlState is "55P03" or "40P01" or "40001" || p.SqlState.StartsWith("53", StringComparison.Ordinal),
        NpgsqlException { InnerException: SocketException or IOException or TimeoutException } => true,
        TimeoutException => true,
        _ => false,
    };
}
