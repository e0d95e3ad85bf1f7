using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Selfsame.Cli.Tests;

/// <summary>Runs the built <c>selfsame</c> executable as a separate process, as a user would.</summary>
public static class SelfsameProcess
{
    private static string Dll => Path.Combine(AppContext.BaseDirectory, "selfsame.dll");

    public static Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) => RunWithAsync(new Dictionary<string, string>(), args);

    /// <summary>Runs the command with these environment variables set.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunWithAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = StartInfo(args);
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>Starts <c>selfsame serve</c> on a free loopback port and waits until /healthz answers.</summary>
    public static Task<(Process Process, Uri Address)> ServeAsync(string dataFolder) => ServeWithAsync("--data", dataFolder);

    /// <summary>Starts <c>selfsame serve</c> with these arguments on a free loopback port and waits until /healthz answers.</summary>
    public static Task<(Process Process, Uri Address)> ServeWithAsync(params string[] args) => ServeAsync(args, null);

    /// <summary>As <see cref="ServeWithAsync"/>, handing each line the server writes to standard output to <paramref name="output"/>.</summary>
    public static async Task<(Process Process, Uri Address)> ServeAsync(IEnumerable<string> args, Action<string>? output)
    {
        var port = FreePort();
        var address = new Uri($"http://127.0.0.1:{port}");
        var process = Process.Start(StartInfo(["serve", .. args, "--urls", address.ToString().TrimEnd('/')]))!;
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is not null)
            {
                output?.Invoke(line.Data);
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await client.GetAsync("/healthz")).IsSuccessStatusCode)
                {
                    return (process, address);
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }
            await Task.Delay(100);
        }
        process.Kill(entireProcessTree: true);
        throw new TimeoutException("selfsame serve did not answer /healthz within 30 s");
    }

    /// <summary>Starts a command that runs until it is stopped (<c>changes tail</c>), handing each line it prints to <paramref name="output"/>.</summary>
    public static Process Start(IEnumerable<string> args, Action<string> output)
    {
        var process = Process.Start(StartInfo(args))!;
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is not null)
            {
                output(line.Data);
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment.Remove("SELFSAME_DATA");
        info.Environment.Remove("SELFSAME_URLS");
        return info;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
