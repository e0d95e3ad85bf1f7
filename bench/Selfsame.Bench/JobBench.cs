using System.Diagnostics;
using System.Globalization;
using System.Text;
using Selfsame.Graph;
using Selfsame.Jobs;
using Selfsame.Server.Userpilot;
using Selfsame.Storage.Sqlite;

namespace Selfsame.Bench;

/// <summary>
/// A Userpilot bulk-identify job of the seed's row shape (user_id, company_id, seven metadata strings), run by the job
/// processor the server uses, into a fresh SQLite store, several times.
/// </summary>
public static class JobBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        // "without-company" leaves company_id out of every row, to show what the membership costs.
        var withCompany = args.Length <= 2 || args[2] != "without-company";
        var payload = new StringBuilder();
        for (var i = 0; i < rows; i++)
        {
            var company = withCompany ? $"\"company_id\":\"comp{i % 1000}\"," : "";
            payload.Append(CultureInfo.InvariantCulture, $$$"""{"user_id":"user_{{{i}}}",{{{company}}}"metadata":{"last_ticket_created":"2025-02-01T10:20:30Z","tickets_created":"{{{i % 50}}}","tickets_resolved":"14","tickets_pending":"1","avg_resolution_time":"2h","customer_satisfaction":"4.8","escalation_count":"1"}}""").Append('\n');
        }
        var bytes = Encoding.UTF8.GetBytes(payload.ToString());
        Console.WriteLine($"jobs: {rows:N0} Userpilot user rows{(withCompany ? "" : " without company_id")} ({bytes.Length / 1024 / 1024} MiB), {runs} runs, {Environment.ProcessorCount} cores");
        return await MeasureAsync(bytes, new UserpilotJobs.Users(), runs);
    }

    /// <summary>Runs the payload as one job of <paramref name="kind"/> in a fresh store, <paramref name="runs"/> times; prints each rate and the median.</summary>
    public static async Task<int> MeasureAsync(byte[] payload, IJobKind kind, int runs)
    {
        // A server runs for long: one uncounted job of the first 20,000 rows first, so that the measured runs see the code
        // as the JIT's tiered compilation leaves it (run 1 was about 20% slower than the others without this).
        var warmUp = payload.AsSpan(0, Math.Min(payload.Length, IndexOfLine(payload, 20_000))).ToArray();
        var rates = new List<double>();
        long measuredRows = 0;
        for (var run = 0; run <= runs; run++)
        {
            var measured = run > 0;
            if (run == 1)
            {
                WriterTimings.Reset();
            }
            var folder = Path.Combine(Path.GetTempPath(), $"selfsame-bench-jobs-{Guid.NewGuid():N}");
            var schema = $"bench{Guid.NewGuid():N}";
            var postgres = Environment.GetEnvironmentVariable("SELFSAME_BENCH_POSTGRES");
            await using (Selfsame.Storage.IGraphStore store = postgres is null
                ? SqliteStore.Open(folder, TimeProvider.System)
                : Selfsame.Storage.Postgres.PostgresStore.Open(HttpLoad.PostgresSchema(postgres, schema, create: true), TimeProvider.System))
            {
                await new Projects(store.Catalog, TimeProvider.System).EnsureDefaultAsync(CancellationToken.None);
                var job = await JobProcessor.SubmitAsync(store.Jobs, ProjectId.Default, kind.Name, "bench", null, measured ? payload : warmUp, null, TimeProvider.System, CancellationToken.None);
                var processor = new JobProcessor(store, TimeProvider.System, [kind]);
                var (gen0, gen1, gen2, paused) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
                var clock = Stopwatch.StartNew();
                var ended = await processor.RunAsync(job, ProjectSettings.Default, null, CancellationToken.None);
                clock.Stop();
                var collections = $"garbage collections {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2} (gen 0/1/2), paused {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds:F0} ms";
                var rate = ended.TotalRows / clock.Elapsed.TotalSeconds;
                if (measured)
                {
                    rates.Add(rate);
                    measuredRows += ended.TotalRows;
                }
                Console.WriteLine($"{(measured ? $"run {run}" : "warm-up")}: {ended.TotalRows:N0} rows, {clock.Elapsed.TotalSeconds:F2} s, {rate:N0} rows/s; applied {ended.CompletedRows:N0}, failed {ended.FailedRows:N0}; {collections}");
                if (ended.FailedRows > 0)
                {
                    var first = (await store.Jobs.ListErrorsAsync(ProjectId.Default, job.JobId, 0, 1, CancellationToken.None))[0];
                    Console.WriteLine($"first error: line {first.Line}: {first.Reason}");
                    return 1;
                }
            }
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (postgres is null)
            {
                Directory.Delete(folder, recursive: true);
            }
            else
            {
                HttpLoad.PostgresSchema(postgres, schema, create: false);
            }
        }
        WriterTimings.Print(measuredRows, "row");
        rates.Sort();
        Console.WriteLine($"median: {rates[rates.Count / 2]:N0} rows/s (min {rates[0]:N0}, max {rates[^1]:N0})");
        return 0;
    }

    /// <summary>The offset just after the <paramref name="lines"/>-th newline, or the payload's length.</summary>
    private static int IndexOfLine(byte[] payload, int lines)
    {
        var at = 0;
        for (var line = 0; line < lines; line++)
        {
            var next = Array.IndexOf(payload, (byte)'\n', at);
            if (next < 0)
            {
                return payload.Length;
            }
            at = next + 1;
        }
        return at;
    }
}
