using System.Diagnostics;
using System.Globalization;
using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Storage.Sqlite;

namespace Selfsame.Bench;

/// <summary>
/// Ingests EVENTS events over RECORDS users through the engine (the code behind POST /v1/track), in groups of 2,000 with
/// the next group prepared while the previous one commits; then times unique users over all of them, and the newest 100
/// events of the profile of user 0, which sends every 1,000th event (10,000 of 10,000,000).
/// </summary>
public static class EventBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var events = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 10_000_000;
        var records = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        var folder = Path.Combine(Path.GetTempPath(), $"selfsame-bench-events-{Guid.NewGuid():N}");
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Console.WriteLine($"events: {events:N0} events over {records:N0} users, {Environment.ProcessorCount} cores");
        await using (var store = SqliteStore.Open(folder, TimeProvider.System))
        {
            await new Projects(store.Catalog, TimeProvider.System).EnsureDefaultAsync(CancellationToken.None);
            var engine = new IdentityEngine(store);
            var origin = new WriteOrigin("bench", null);
            WriterTimings.Reset();
            var writtenBefore = WrittenBytes();
            var clock = Stopwatch.StartNew();
            Task<IReadOnlyList<Storage.WriteOutcome<object>>>? pending = null;
            for (long at = 0; at < events; at += 2000)
            {
                var group = new List<GraphOperation>(2000);
                for (var i = at; i < Math.Min(events, at + 2000); i++)
                {
                    var user = Sender(i, records);
                    var sender = new IdentifierInput(new Identifier(IdentifierTypes.UserId, $"user-{user}"), $"user-{user}", "user_id");
                    var identity = new IdentifyCommand(sender, [], new Dictionary<string, PropertyValue>(), new Dictionary<string, PropertyValue>(), []);
                    group.Add(new GraphOperation.TrackOp(new TrackCommand(identity, i % 7 == 0 ? "purchase" : "page_view",
                        start.AddSeconds(i * 86_400.0 * 30 / events), $$"""{"n":{{i}}}""", $"e{i}")));
                }
                if (pending is not null)
                {
                    Check(await pending);
                }
                pending = engine.ApplyAsync(ProjectId.Default, group, origin, CancellationToken.None);
            }
            Check(await pending!);
            clock.Stop();
            Console.WriteLine($"ingest: {clock.Elapsed.TotalSeconds:F1} s, {events / clock.Elapsed.TotalSeconds:N0} events/s" +
                (WrittenBytes() - writtenBefore is { } written ? $"; the process wrote {written / 1024.0 / 1024 / 1024:N1} GiB to storage meanwhile" : ""));

            WriterTimings.Print(events, "event");

            // Unique users read in two halves at once (the store's default on more than one core) and in one walk,
            // calls alternating, so that both medians come from the same minutes of this machine.
            var uniqueTimes = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
            UniqueUsers total = new(0, 0);
            var shared = store.SharedSnapshots;
            for (var run = 0; run < 10; run++)
            {
                store.ReadInHalves = run % 2 == 0;
                var watch = Stopwatch.StartNew();
                total = (await engine.UniqueUsersAsync(ProjectId.Default, start, start.AddDays(31), null, perDay: false, CancellationToken.None)).Total;
                uniqueTimes[store.ReadInHalves].Add(watch.Elapsed.TotalMilliseconds);
            }
            store.ReadInHalves = Environment.ProcessorCount > 1;
            foreach (var (halves, times) in uniqueTimes.OrderByDescending(t => t.Key))
            {
                times.Sort();
                Console.WriteLine($"unique users over all events{(halves ? ", in two halves" : ", in one walk")}: merged {total.Merged:N0}, raw {total.Raw:N0}; median {times[2]:F0} ms of 5 (min {times[0]:F0}, max {times[^1]:F0})");
            }
            Console.WriteLine($"halves read on a shared snapshot: {store.SharedSnapshots - shared} (of {2 * uniqueTimes[true].Count} asked for)");

            var heavy = (await engine.ResolveAsync(ProjectId.Default, new Identifier(IdentifierTypes.UserId, "user-0"), CancellationToken.None))!;
            var pageTimes = new List<double>();
            var count = 0;
            for (var run = 0; run < 21; run++)
            {
                var watch = Stopwatch.StartNew();
                count = (await engine.EventsAsync(ProjectId.Default, heavy.Profile.Value, false, new EventQuery(null, null, null, null, 100), CancellationToken.None))!.Events.Count;
                pageTimes.Add(watch.Elapsed.TotalMilliseconds);
            }
            pageTimes.Sort();
            Console.WriteLine($"newest {count} events of a profile holding {HeavyEvents(events, records):N0}: median {pageTimes[10]:F2} ms of 21 (min {pageTimes[0]:F2}, max {pageTimes[^1]:F2})");
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Console.WriteLine($"database: {new DirectoryInfo(folder).EnumerateFiles().Sum(f => f.Length) / 1024 / 1024:N0} MiB");
        Directory.Delete(folder, recursive: true);
        return 0;
    }

    /// <summary>Every 1,000th event is user 0's (10,000 of 10,000,000); the others go round the remaining users.</summary>
    private static long Sender(long i, int records) => i % 1000 == 0 ? 0 : 1 + i % (records - 1);

    private static long HeavyEvents(long events, int records) => records > 1 ? (events + 999) / 1000 : events;

    private static void Check(IReadOnlyList<Storage.WriteOutcome<object>> outcomes)
    {
        if (outcomes.FirstOrDefault(o => !o.Succeeded) is { Error: { } error })
        {
            throw error;
        }
    }

    /// <summary>Bytes this process has written to storage (Linux /proc/self/io write_bytes), or null elsewhere.</summary>
    private static long? WrittenBytes()
    {
        const string file = "/proc/self/io";
        if (!File.Exists(file))
        {
            return null;
        }
        var line = File.ReadLines(file).FirstOrDefault(l => l.StartsWith("write_bytes:", StringComparison.Ordinal));
        return line is null ? null : long.Parse(line["write_bytes:".Length..].Trim(), CultureInfo.InvariantCulture);
    }
}
