using Selfsame.Storage.Sqlite;

namespace Selfsame.Bench;

/// <summary>Prints where the SQLite writer's time went (<see cref="SqliteWriterTimings"/>), per unit of work.</summary>
public static class WriterTimings
{
    public static void Reset() => SqliteWriterTimings.Reset();

    /// <summary>Each phase's total, its time per <paramref name="unit"/> and its share of the writer's busy time.</summary>
    public static void Print(long units, string unit)
    {
        var phases = SqliteWriterTimings.Snapshot();
        var busy = phases.FirstOrDefault(p => p.Phase == SqliteWriterTimings.Groups).Time;
        Console.WriteLine($"writer time by phase, per {unit} ({units:N0} {unit}s):");
        foreach (var (phase, time) in phases)
        {
            var share = busy > TimeSpan.Zero ? $", {time / busy:P0} of the groups" : "";
            Console.WriteLine($"  {phase}: {time.TotalMilliseconds:N0} ms, {time.TotalMicroseconds / units:F2} µs{share}");
        }
    }
}
