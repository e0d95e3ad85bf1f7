namespace Selfsame.Storage.Sqlite;

/// <summary>The store's pool of read sessions, as a session sees it: a second session to work beside it.</summary>
internal interface ISqliteReaders
{
    /// <summary>Whether a long read is cut in two halves read at once (on a machine of more than one core).</summary>
    bool ReadInHalves { get; }

    /// <summary>
    /// Runs <paramref name="use"/> with a pooled read session (outside any transaction; <paramref name="use"/> begins and
    /// ends its own) and puts the session back.
    /// </summary>
    T WithReader<T>(Func<SqliteGraphSession, T> use);

    /// <summary>Counts a half read by a second session on the first one's snapshot.</summary>
    void SharedSnapshot();
}
