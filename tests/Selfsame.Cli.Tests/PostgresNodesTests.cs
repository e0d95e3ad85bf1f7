using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

namespace Selfsame.Cli.Tests;

/// <summary>
/// Several <c>selfsame serve</c> processes on one PostgreSQL database (a schema of its own on the server that
/// SELFSAME_TEST_POSTGRES names; ./test starts one).
/// </summary>
public sealed class PostgresNodesTests : IDisposable
{
    private readonly string _schema = $"n{Guid.NewGuid():N}";
    private readonly string _connection;
    private readonly List<Process> _nodes = [];

    public PostgresNodesTests()
    {
        var server = Environment.GetEnvironmentVariable("SELFSAME_TEST_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("SELFSAME_TEST_POSTGRES is not set: run ./test, which starts a throwaway PostgreSQL and sets it");
        using (var connection = new NpgsqlConnection(server))
        {
            connection.Open();
            using var create = new NpgsqlCommand($"CREATE SCHEMA {_schema}", connection);
            create.ExecuteNonQuery();
        }
        _connection = new NpgsqlConnectionStringBuilder(server) { SearchPath = _schema }.ConnectionString;
    }

    public void Dispose()
    {
        foreach (var node in _nodes)
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
                node.WaitForExit();
            }
        }
        NpgsqlConnection.ClearAllPools();
        using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable("SELFSAME_TEST_POSTGRES"));
        connection.Open();
        using var drop = new NpgsqlCommand($"DROP SCHEMA {_schema} CASCADE", connection);
        drop.ExecuteNonQuery();
    }

    /// <summary>What the nodes wrote to standard output, for the messages of failed assertions.</summary>
    private readonly ConcurrentQueue<string> _log = new();

    /// <summary>The last lines of the nodes' output that report a failure.</summary>
    private string Failures() => string.Join('\n', _log.Where(l => l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("error", StringComparison.OrdinalIgnoreCase)).TakeLast(5));

    private async Task<Uri> StartNodeAsync()
    {
        var (process, address) = await SelfsameProcess.ServeAsync(["--store", "postgres", "--connection", _connection], _log.Enqueue);
        _nodes.Add(process);
        return address;
    }

    private async Task<string> WriteKeyAsync()
    {
        var (exit, output, error) = await SelfsameProcess.RunAsync("key", "create", "--store", "postgres", "--connection", _connection, "--project", "default", "--role", "write");
        Assert.True(exit == 0, error);
        return output.TrimEnd().Split('\n')[^1];
    }

    private static HttpClient Client(Uri address, string key)
    {
        var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(15) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    [Fact]
    public async Task TwoNodes_ConcurrentIdentifyLinkUnlinkOnOverlappingIdentifiers_KeepTheGraphsInvariants()
    {
        var nodes = new[] { await StartNodeAsync(), await StartNodeAsync() };
        var key = await WriteKeyAsync();
        var clients = nodes.Select(n => Client(n, key)).ToArray();
        var acknowledged = new ConcurrentBag<string>();
        var answers = new ConcurrentDictionary<int, int>();
        string[] users = [.. Enumerable.Range(0, 8).Select(i => $"u{i}")];
        string[] emails = [.. Enumerable.Range(0, 8).Select(i => $"e{i}@x.com")];
        string[] devices = [.. Enumerable.Range(0, 8).Select(i => $"d{i}")];

        var workers = Enumerable.Range(0, 12).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            for (var i = 0; i < 60; i++)
            {
                var client = clients[(w + i) % 2];
                string path, body;
                var roll = random.Next(10);
                if (roll < 5)
                {
                    var (user, email, device) = (users[random.Next(8)], emails[random.Next(8)], devices[random.Next(8)]);
                    path = "/v1/identify";
                    body = $$"""{"user_id":"{{user}}","identifiers":[{"type":"email","value":"{{email}}"},{"type":"device_id","value":"{{device}}"}]}""";
                    acknowledged.Add(Acked(await PostAsync(client, path, body, answers), $"user_id:{user}"));
                    continue;
                }
                var from = random.Next(2) == 0 ? $$"""{"type":"device_id","value":"{{devices[random.Next(8)]}}"}""" : $$"""{"type":"email","value":"{{emails[random.Next(8)]}}"}""";
                var into = $$"""{"type":"user_id","value":"{{users[random.Next(8)]}}"}""";
                path = roll < 8 ? "/v1/link" : "/v1/unlink";
                body = $$"""{"from":{{from}},"into":{{into}}}""";
                await PostAsync(client, path, body, answers);
            }
        })).ToList();
        await Task.WhenAll(workers);

        Assert.True(answers.GetValueOrDefault(200) > 300, $"answers: {string.Join(", ", answers.Select(a => $"{a.Key}×{a.Value}"))}");
        Assert.DoesNotContain(answers.Keys, status => status >= 500);
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync();
        var records = await RowsAsync(connection, "SELECT record_id, profile_id FROM records", r => (r.GetInt64(0), r.GetInt64(1)));
        var links = await RowsAsync(connection, "SELECT from_record, into_record FROM links", r => (r.GetInt64(0), r.GetInt64(1)));
        var identifiers = await RowsAsync(connection, "SELECT type || ':' || value, record_id FROM identifiers", r => (r.GetString(0), r.GetInt64(1)));
        var profileOf = records.ToDictionary(r => r.Item1, r => r.Item2);

        // Every identifier belongs to exactly one record, and that record exists.
        Assert.Equal(identifiers.Count, identifiers.Select(i => i.Item1).Distinct().Count());
        Assert.All(identifiers, i => Assert.True(profileOf.ContainsKey(i.Item2), $"{i.Item1} names record {i.Item2}, which does not exist"));
        // A link never crosses profiles, and each profile is exactly one connected component whose id is one of its records.
        Assert.All(links, l => Assert.Equal(profileOf[l.Item1], profileOf[l.Item2]));
        foreach (var profile in records.GroupBy(r => r.Item2))
        {
            var members = profile.Select(r => r.Item1).ToHashSet();
            Assert.Contains(profile.Key, members);
            var reached = new HashSet<long> { members.First() };
            var queue = new Queue<long>(reached);
            while (queue.TryDequeue(out var record))
            {
                foreach (var next in links.Where(l => l.Item1 == record || l.Item2 == record).Select(l => l.Item1 == record ? l.Item2 : l.Item1))
                {
                    if (reached.Add(next))
                    {
                        queue.Enqueue(next);
                    }
                }
            }
            Assert.True(reached.SetEquals(members), $"profile {profile.Key} is not one connected component: {members.Count} records, {reached.Count} reached");
        }
        // Every acknowledged identify's user is there.
        var held = identifiers.Select(i => i.Item1).ToHashSet();
        Assert.All(acknowledged.Where(a => a.Length > 0).Distinct(), user => Assert.Contains(user, held));
    }

    [Fact]
    public async Task DatabaseRestart_RequestsGet503MeanwhileAndTheNodeRecoversByItself()
    {
        var node = await StartNodeAsync();
        var key = await WriteKeyAsync();
        using var client = Client(node, key);
        var acknowledged = new ConcurrentBag<string>();
        var statuses = new ConcurrentBag<int>();
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var clock = Stopwatch.StartNew();
                try
                {
                    using var response = await client.PostAsync("/v1/identify", Json($$"""{"user_id":"r{{i}}"}"""));
                    statuses.Add((int)response.StatusCode);
                    if (response.IsSuccessStatusCode)
                    {
                        acknowledged.Add($"r{i}");
                    }
                    else if ((int)response.StatusCode >= 500)
                    {
                        Assert.True((int)response.StatusCode == 503,
                            $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}\n{Failures()}");
                        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
                    }
                }
                catch (TaskCanceledException)
                {
                    statuses.Add(0);
                }
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"a request took {clock.Elapsed.TotalSeconds:F1} s during the outage");
                await Task.Delay(20);
            }
        });

        await Task.Delay(1000);
        await PgCtlAsync("stop", "-m", "fast");
        try
        {
            await Task.Delay(1500);
            using var ready = await new HttpClient { BaseAddress = node }.GetAsync("/readyz");
            Assert.Equal(503, (int)ready.StatusCode);
        }
        finally
        {
            await PgCtlAsync("start", "-w", "-t", "60");
        }
        var recovered = Stopwatch.StartNew();
        while (true)
        {
            using var ready = await new HttpClient { BaseAddress = node }.GetAsync("/readyz");
            if (ready.IsSuccessStatusCode)
            {
                break;
            }
            Assert.True(recovered.Elapsed < TimeSpan.FromSeconds(15), "the node did not become ready within 15 s of the database being back");
            await Task.Delay(100);
        }
        using (var after = await client.PostAsync("/v1/identify", Json("{\"user_id\":\"after-restart\"}")))
        {
            Assert.Equal(200, (int)after.StatusCode);
        }
        await Task.Delay(500);
        await stop.CancelAsync();
        await load;

        Assert.Contains(503, statuses);
        Assert.DoesNotContain(500, statuses);
        Assert.DoesNotContain(0, statuses);
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync();
        var users = (await RowsAsync(connection, "SELECT value FROM identifiers WHERE type = 'user_id'", r => r.GetString(0))).ToHashSet();
        var missing = acknowledged.Where(a => !users.Contains(a)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged writes were lost, e.g. {string.Join(", ", missing.Take(5))}");
    }

    /// <summary>Runs pg_ctl on the test cluster (as the OS user postgres when this process is root, as ./test started it).</summary>
    private static async Task PgCtlAsync(params string[] args)
    {
        var bin = Environment.GetEnvironmentVariable("SELFSAME_TEST_PG_BIN") ?? throw new InvalidOperationException("SELFSAME_TEST_PG_BIN is not set: run ./test");
        var data = Environment.GetEnvironmentVariable("SELFSAME_TEST_PG_DATA") ?? throw new InvalidOperationException("SELFSAME_TEST_PG_DATA is not set: run ./test");
        var asRoot = Environment.UserName == "root";
        var info = new ProcessStartInfo(asRoot ? "runuser" : Path.Combine(bin, "pg_ctl")) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (asRoot)
        {
            foreach (var arg in new[] { "-u", "postgres", "--", Path.Combine(bin, "pg_ctl") })
            {
                info.ArgumentList.Add(arg);
            }
        }
        info.ArgumentList.Add("-D");
        info.ArgumentList.Add(data);
        if (args[0] == "start")
        {
            // Started again with the options ./test started it with (its port, socket folder, settings).
            info.ArgumentList.Add("-o");
            info.ArgumentList.Add(Environment.GetEnvironmentVariable("SELFSAME_TEST_PG_OPTIONS") ?? throw new InvalidOperationException("SELFSAME_TEST_PG_OPTIONS is not set: run ./test"));
            info.ArgumentList.Add("-l");
            info.ArgumentList.Add(Path.Combine(Path.GetDirectoryName(data)!, "log"));
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"pg_ctl {string.Join(' ', args)}: {await error}");
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<int> PostAsync(HttpClient client, string path, string body, ConcurrentDictionary<int, int> answers)
    {
        using var response = await client.PostAsync(path, Json(body));
        var status = (int)response.StatusCode;
        answers.AddOrUpdate(status, 1, (_, n) => n + 1);
        return status;
    }

    private static string Acked(int status, string user) => status == 200 ? user : "";

    private static async Task<List<T>> RowsAsync<T>(NpgsqlConnection connection, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }
        return rows;
    }
}
