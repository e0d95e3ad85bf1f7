using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// SQLite's errors as the store's callers see them: <see cref="StoreUnavailableException"/> and
/// <see cref="StoreValueRejectedException"/>, with the <see cref="SqliteException"/> inside; any other stays as it is
/// (a constraint that a row breaks, a corrupt file, a statement the store got wrong).
/// </summary>
internal static class SqliteErrors
{
    /// <summary>
    /// The store's own exception for <paramref name="e"/>, or null when it is neither kind: the database busy or locked after
    /// the busy timeout, a disk error, a full disk or out of memory (a retry may succeed); or a value longer than SQLite
    /// keeps (SQLITE_TOOBIG). SQLite has no limit on an index entry's size: what PostgreSQL refuses as too long for its
    /// index, SQLite keeps.
    /// </summary>
    public static Exception? Translate(SqliteException e) => (e.SqliteErrorCode & 0xFF) switch
    {
        raw.SQLITE_BUSY or raw.SQLITE_LOCKED or raw.SQLITE_IOERR or raw.SQLITE_FULL or raw.SQLITE_NOMEM =>
            new StoreUnavailableException($"the store is unavailable: {e.Message}", e),
        raw.SQLITE_TOOBIG => new StoreValueRejectedException(e.Message, e),
        _ => null,
    };
}
