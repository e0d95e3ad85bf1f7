using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Selfsame.Bench;

/// <summary>
/// An HTTP load generator: starts 'selfsame serve' (the Release build) as its own process on a fresh data folder, drives it
/// with a fixed number of connections, each sending its next request when the previous one answered, and counts the
/// requests answered 200 in the measured window. Runs on the same machine as the server, so the two share its cores.
/// </summary>
public static class HttpLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        var scenario = args.ElementAtOrDefault(0) ?? "identify";
        var connections = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 64;
        var seconds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10;
        var runs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
        var nodes = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1;
        var postgres = Environment.GetEnvironmentVariable("SELFSAME_BENCH_POSTGRES");
        if (nodes > 1 && postgres is null)
        {
            Console.Error.WriteLine("several nodes need PostgreSQL: set SELFSAME_BENCH_POSTGRES to a connection string");
            return 2;
        }
        var cli = Path.Combine(RepositoryRoot(), "src", "Selfsame.Cli", "bin", "Release", "net10.0", "selfsame.dll");
        if (!File.Exists(cli))
        {
            Console.Error.WriteLine($"build the server first: dotnet build -c Release src/Selfsame.Cli (no {cli})");
            return 2;
        }
        Console.WriteLine($"http {scenario}: {connections} connections, {seconds} s measured after 2 s warm-up, {runs} runs, {Environment.ProcessorCount} cores, " +
                          $"{nodes} node(s) on {(postgres is null ? "SQLite" : "PostgreSQL")}");
        var rates = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            var data = Path.Combine(Path.GetTempPath(), $"selfsame-bench-http-{Guid.NewGuid():N}");
            var schema = $"bench{Guid.NewGuid():N}";
            string[] store = postgres is null ? ["--data", data] : ["--store", "postgres", "--connection", PostgresSchema(postgres, schema, create: true)];
            var key = (await RunCli(cli, ["key", "create", .. store, "--role", "write"])).TrimEnd().Split('\n')[^1];
            var servers = new List<Process>();
            var clients = new List<HttpClient>();
            try
            {
                for (var node = 0; node < nodes; node++)
                {
                    var port = FreePort();
                    servers.Add(Start(cli, ["serve", .. store, "--urls", $"http://127.0.0.1:{port}"]));
                    var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseProxy = false })
                    {
                        BaseAddress = new Uri($"http://127.0.0.1:{port}"),
                    };
                    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    clients.Add(client);
                    await WaitForHealth(client);
                }
                const int preloaded = 10_000;
                if (scenario == "resolve")
                {
                    await Preload(clients[0], preloaded);
                }
                var (ok, failed, elapsed, latencies) = await Drive(clients, connections, seconds, scenario, run, preloaded);
                var rate = ok / elapsed.TotalSeconds;
                rates.Add(rate);
                latencies.Sort();
                Console.WriteLine($"run {run}: {rate:N0} requests/s ({ok:N0} answered 200, {failed:N0} other), latency p50 {latencies[latencies.Count / 2]:F2} ms, p99 {latencies[(int)(latencies.Count * 0.99)]:F2} ms");
            }
            finally
            {
                foreach (var server in servers)
                {
                    server.Kill(entireProcessTree: true);
                    await server.WaitForExitAsync();
                    server.Dispose();
                }
                foreach (var client in clients)
                {
                    client.Dispose();
                }
                if (postgres is null)
                {
                    Directory.Delete(data, recursive: true);
                }
                else
                {
                    PostgresSchema(postgres, schema, create: false);
                }
            }
        }
        rates.Sort();
        Console.WriteLine($"median: {rates[rates.Count / 2]:N0} requests/s (min {rates[0]:N0}, max {rates[^1]:N0})");
        return 0;
    }

    /// <summary>Creates (or drops) a schema of its own for one run on the PostgreSQL server; returns the connection string into it.</summary>
    internal static string PostgresSchema(string server, string schema, bool create)
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        using var connection = new Npgsql.NpgsqlConnection(server);
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand(create ? $"CREATE SCHEMA {schema}" : $"DROP SCHEMA {schema} CASCADE", connection);
        command.ExecuteNonQuery();
        return new Npgsql.NpgsqlConnectionStringBuilder(server) { SearchPath = schema }.ConnectionString;
    }

    private static async Task<(long Ok, long Failed, TimeSpan Elapsed, List<double> Latencies)> Drive(
        List<HttpClient> clients, int connections, int seconds, string scenario, int run, int preloaded)
    {
        long ok = 0, failed = 0, sequence = 0;
        var measuring = false;
        var latencies = new List<double>[connections];
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, connections).Select(w => Task.Run(async () =>
        {
            latencies[w] = [];
            var random = new Random(w);
            var client = clients[w % clients.Count];
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                HttpResponseMessage response;
                try
                {
                    if (scenario == "resolve")
                    {
                        response = await client.GetAsync($"/v1/resolve?type=email&value=user{random.Next(preloaded)}@acme.com");
                    }
                    else
                    {
                        var n = Interlocked.Increment(ref sequence);
                        var body = $$$"""{"user_id":"h{{{run}}}-{{{n}}}","identifiers":[{"type":"email","value":"h{{{run}}}-{{{n}}}@acme.com"}],"properties":{"plan":"free"}}""";
                        response = await client.PostAsync("/v1/identify", new StringContent(body, Encoding.UTF8, "application/json"));
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                    continue;
                }
                using (response)
                {
                    await response.Content.ReadAsByteArrayAsync();
                    if (!Volatile.Read(ref measuring))
                    {
                        continue;
                    }
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref ok);
                        latencies[w].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            }
        })).ToList();
        await Task.Delay(TimeSpan.FromSeconds(2));
        Volatile.Write(ref measuring, true);
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref measuring, false);
        var elapsed = clock.Elapsed;
        var counted = Interlocked.Read(ref ok);
        var counteredFailed = Interlocked.Read(ref failed);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        return (counted, counteredFailed, elapsed, latencies.SelectMany(l => l).ToList());
    }

    private static async Task Preload(HttpClient client, int users)
    {
        for (var start = 0; start < users; start += 1000)
        {
            var operations = Enumerable.Range(start, 1000).Select(i =>
                $$$"""{"op":"identify","user_id":"user-{{{i}}}","identifiers":[{"type":"email","value":"user{{{i}}}@acme.com"}]}""");
            using var response = await client.PostAsync("/v1/batch",
                new StringContent($$$"""{"operations":[{{{string.Join(",", operations)}}}]}""", Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
        }
    }

    internal static async Task WaitForHealth(HttpClient client)
    {
        for (var i = 0; i < 300; i++)
        {
            try
            {
                using var response = await client.GetAsync("/healthz");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Still starting.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("the server did not start");
    }

    internal static Process Start(string dll, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"server: {e.Data}"); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    internal static async Task<string> RunCli(string dll, params string[] args)
    {
        using var process = Start(dll, args);
        process.CancelOutputRead();
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        await process.WaitForExitAsync();
        return output.ToString();
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Selfsame.slnx")))
        {
            folder = folder.Parent;
        }
        return folder?.FullName ?? throw new InvalidOperationException("run the bench from inside the repository");
    }
}
