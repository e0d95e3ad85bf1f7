using System.Collections.Concurrent;
using System.Diagnostics;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// Where the SQLite writer's time goes, added up by phase since the process started (or the last <see cref="Reset"/>):
/// whole groups, the rules' work within them, read-ahead, writing out held-back rows (by table) and the COMMIT statement.
/// A few clock reads per group and per statement (so per row only where rows are written one at a time: a replay with a
/// savepoint per request, or rules that write out after each row), so it stays on; the benchmarks print it
/// (bench/README.md) to say which part of a workload's cost a change moved. Phases nest: requests and COMMIT within
/// groups; read-ahead and writing out mostly within requests; each table's writing out within writing out.
/// </summary>
internal static class SqliteWriterTimings
{
    /// <summary>BEGIN to the end of COMMIT for each group: the writer's busy time.</summary>
    public const string Groups = "groups (BEGIN to COMMIT)";

    /// <summary>The requests' own work in a group: rules, look-ups, and any write-out or statement they caused.</summary>
    public const string Requests = "requests (rules and the statements they run)";

    public const string ReadAhead = "read-ahead look-ups";
    public const string WriteOut = "writing out held-back rows";
    public const string LastSeen = WriteOut + ": records' last-seen times";
    public const string Commit = "COMMIT (WAL write and fsync)";

    private static readonly ConcurrentDictionary<string, long> Ticks = new(StringComparer.Ordinal);

    public static long Start() => Stopwatch.GetTimestamp();

    /// <summary>Adds the time since <paramref name="started"/> (a <see cref="Start"/>) to <paramref name="phase"/>.</summary>
    public static void Add(string phase, long started) =>
        Ticks.AddOrUpdate(phase, static (_, elapsed) => elapsed, static (_, total, elapsed) => total + elapsed, Stopwatch.GetTimestamp() - started);

    public static IReadOnlyList<(string Phase, TimeSpan Time)> Snapshot() =>
        Ticks.Select(p => (p.Key, TimeSpan.FromSeconds(p.Value / (double)Stopwatch.Frequency))).OrderByDescending(p => p.Item2).ToList();

    public static void Reset() => Ticks.Clear();
}
