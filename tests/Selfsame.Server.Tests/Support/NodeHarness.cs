using System.Diagnostics;

namespace Selfsame.Server.Tests.Support;

/// <summary>Runs a script of one of the Node.js harnesses under tests/ (a vendor's own client) and returns what it printed.</summary>
public static class NodeHarness
{
    public static async Task<string> RunAsync(string harness, string package, params string[] arguments)
    {
        var folder = Path.Combine(Repository.Root(), "tests", harness);
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", package)),
            $"{package} is not installed: run ./test, which runs 'npm ci' in tests/{harness}");
        var info = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, await error);
        return (await output).Trim();
    }
}
