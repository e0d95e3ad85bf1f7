using System.Diagnostics;
using System.Globalization;
using Selfsame.Graph;
using Selfsame.Imports;
using Selfsame.Storage.Sqlite;

namespace Selfsame.Bench;

/// <summary>Imports the workload file through the same code as 'selfsame import' into a fresh SQLite store, several times.</summary>
public static class ImportBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var file = Workload.WriteFile(rows);
        Console.WriteLine($"import: {rows:N0} identify rows from {file} ({new FileInfo(file).Length / 1024 / 1024} MiB), {runs} runs, {Environment.ProcessorCount} cores");
        var rates = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            var folder = Path.Combine(Path.GetTempPath(), $"selfsame-bench-import-{Guid.NewGuid():N}");
            await using (var store = SqliteStore.Open(folder, TimeProvider.System))
            {
                var projects = new Projects(store.Catalog, TimeProvider.System);
                await projects.EnsureDefaultAsync(CancellationToken.None);
                var import = new NdjsonImport(new IdentityEngine(store), ProjectId.Default, ProjectSettings.Default, new WriteOrigin("import", "bench"));
                await using var stream = File.OpenRead(file);
                var clock = Stopwatch.StartNew();
                var summary = await import.RunAsync(stream, null, CancellationToken.None);
                clock.Stop();
                var rate = summary.Lines / clock.Elapsed.TotalSeconds;
                rates.Add(rate);
                Console.WriteLine($"run {run}: {clock.Elapsed.TotalSeconds:F2} s, {rate:N0} rows/s; applied {summary.Applied:N0}, failed {summary.Failed:N0}, records {summary.RecordsCreated:N0}, merges {summary.Merges:N0}, refused {summary.RefusedIdentifiers:N0}");
                if (summary.Failed > 0)
                {
                    Console.WriteLine($"first error: line {summary.FirstErrors[0].Line}: {summary.FirstErrors[0].Reason}");
                    return 1;
                }
            }
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
        rates.Sort();
        Console.WriteLine($"median: {rates[rates.Count / 2]:N0} rows/s (min {rates[0]:N0}, max {rates[^1]:N0})");
        return 0;
    }
}
