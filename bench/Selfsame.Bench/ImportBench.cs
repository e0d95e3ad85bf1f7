using System.Globalization;
using Selfsame.Imports;

namespace Selfsame.Bench;

/// <summary>Imports the workload file as a durable job, through the same code as 'selfsame import' and POST /v1/imports, into a fresh SQLite store, several times.</summary>
public static class ImportBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var file = Workload.WriteFile(rows);
        Console.WriteLine($"import: {rows:N0} identify rows from {file} ({new FileInfo(file).Length / 1024 / 1024} MiB), {runs} runs, {Environment.ProcessorCount} cores");
        return await JobBench.MeasureAsync(await File.ReadAllBytesAsync(file), new ImportJobKind(), runs);
    }
}
