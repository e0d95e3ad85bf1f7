using Microsoft.Data.Sqlite;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// Copies the WAL back into the database file on a thread of its own, so that the writer does not: left to SQLite, the
/// connection whose commit takes the WAL past 1,000 pages copies them itself (writes scattered over the file and an fsync)
/// while every request waits. The writer tells this how many pages each commit wrote; once they add up to
/// <see cref="Pages"/>, as often as SQLite would have, this thread runs a PASSIVE checkpoint, which never waits for nor
/// holds up the writer or a reader. Writing connections keep SQLite's own checkpoint at <see cref="WriterFallbackPages"/>:
/// under steady writes the WAL rarely starts over, so the writer still checkpoints at that size, though this thread has
/// copied most of it already.
/// </summary>
internal sealed class SqliteCheckpointer : IDisposable
{
    /// <summary>Pages written between two checkpoints (SQLite's default for its own).</summary>
    public const int Pages = 1000;

    /// <summary>The WAL size, in pages, at which a writing connection checkpoints itself after all (four times SQLite's default).</summary>
    public const int WriterFallbackPages = 4000;

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _nudges = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public SqliteCheckpointer(string connectionString)
    {
        _connection = SqliteStore.Open(connectionString, readOnly: false);
        _thread = new Thread(Run) { IsBackground = true, Name = "selfsame-sqlite-checkpoint" };
        _thread.Start();
    }

    private long _written;

    /// <summary>Called by the writer after each commit, with the pages that commit wrote to the WAL.</summary>
    public void Committed(long pages)
    {
        _written += pages;
        if (_written < Pages)
        {
            return;
        }
        _written = 0;
        if (_nudges.CurrentCount == 0)
        {
            try
            {
                _nudges.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already nudged.
            }
        }
    }

    private void Run()
    {
        try
        {
            while (true)
            {
                _nudges.Wait(_stop.Token);
                using var command = _connection.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                try
                {
                    command.ExecuteNonQuery();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Another checkpoint was running, or the disk failed: the next nudge tries again, and the writer's own
                    // checkpoint remains. The writer reports failures of the disk itself.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _stop.Cancel();
        _thread.Join();
        _connection.Dispose();
        _nudges.Dispose();
        _stop.Dispose();
    }
}
