using Selfsame.Storage.Sqlite;

namespace Selfsame.Bench;

/// <summary>Prints where the SQLite writer's time went (<see cref="SqliteWriterTimings"/>), per unit of work.</summary>
public static class WriterTimings
{
    public static void Reset() => SqliteWriterTimings.Reset();

    /// <summary>
    /// Each phase's total, its time per <paramref name="unit"/> and its share of the writer's busy time, indented within the
    /// phase that holds it (read-ahead and writing out happen mostly within the requests' work).
    /// </summary>
    public static void Print(long units, string unit)
    {
        var phases = SqliteWriterTimings.Snapshot();
        var busy = phases.FirstOrDefault(p => p.Phase == SqliteWriterTimings.Groups).Time;
        Console.WriteLine($"writer time by phase, per {unit} ({units:N0} {unit}s):");
        foreach (var (phase, time) in phases.OrderBy(p => Rank(p.Phase)))
        {
            var share = busy > TimeSpan.Zero ? $", {time / busy:P0} of the groups" : "";
            Console.WriteLine($"{new string(' ', 2 + 2 * Depth(phase))}{phase}: {time.TotalMilliseconds:N0} ms, {time.TotalMicroseconds / units:F2} µs{share}");
        }
    }

    private static int Depth(string phase) => phase switch
    {
        SqliteWriterTimings.Groups => 0,
        SqliteWriterTimings.Requests or SqliteWriterTimings.Commit => 1,
        SqliteWriterTimings.ReadAhead or SqliteWriterTimings.WriteOut => 2,
        _ => 3,
    };

    /// <summary>The order printed: each phase before those within it (the snapshot comes longest first within a rank).</summary>
    private static int Rank(string phase) => phase switch
    {
        SqliteWriterTimings.Groups => 0,
        SqliteWriterTimings.Requests => 1,
        SqliteWriterTimings.ReadAhead => 2,
        SqliteWriterTimings.WriteOut => 3,
        SqliteWriterTimings.Commit => 5,
        _ => 4,
    };
}
