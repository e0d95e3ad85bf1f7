using Microsoft.Data.Sqlite;
using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Graph;
using Selfsame.Storage.Sqlite;

namespace Selfsame.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "selfsame-tests", $"cli-{Guid.NewGuid():N}");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean.
        }
    }

    [Fact]
    public async Task KeyCreate_WhileTheServerRuns_PrintsAUsableKeyAsTheLastLine()
    {
        var (server, address) = await SelfsameProcess.ServeAsync(_data);
        try
        {
            var (exit, output, error) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--project", "default", "--role", "write");
            Assert.True(exit == 0, error);
            var key = output.TrimEnd().Split('\n')[^1];

            using var client = new HttpClient { BaseAddress = address };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await client.PostAsync("/v1/identify", new StringContent("""{"user_id":"from-cli-key"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(200, (int)response.StatusCode);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Metrics_CountWhatHappenedBeforeTheFirstScrape()
    {
        var (_, created, _) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--role", "write");
        var key = created.TrimEnd().Split('\n')[^1];
        var (server, address) = await SelfsameProcess.ServeAsync(_data);
        try
        {
            using var client = new HttpClient { BaseAddress = address };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            foreach (var body in new[]
            {
                """{"identifiers":[{"type":"device_id","value":"d-metrics"}]}""",
                """{"user_id":"u-metrics","identifiers":[{"type":"device_id","value":"d-metrics"},{"type":"email","value":"test@test.com"}]}""",
            })
            {
                using var response = await client.PostAsync("/v1/identify", new StringContent(body, Encoding.UTF8, "application/json"));
                Assert.Equal(200, (int)response.StatusCode);
            }

            var scrape = await client.GetStringAsync("/metrics");

            Assert.Contains("selfsame_merges{kind=\"implicit\"} 1\n", scrape, StringComparison.Ordinal);
            Assert.Contains("selfsame_refusals{rule=\"deny_list.placeholder_email\"} 1\n", scrape, StringComparison.Ordinal);
            Assert.Contains("selfsame_writer_group_size_count ", scrape, StringComparison.Ordinal);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task KeyRotate_PrintsTheNewKey_AndEndsTheOldOneAfterTheGrace()
    {
        var (_, created, _) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--role", "read");
        var oldId = created.TrimEnd().Split('\n')[^1].Split('_')[1];

        var (exit, output, error) = await SelfsameProcess.RunAsync("key", "rotate", oldId, "--data", _data, "--grace-minutes", "0");

        Assert.True(exit == 0, error);
        Assert.StartsWith("ss_", output.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
        await using var store = SqliteStore.Open(_data, TimeProvider.System);
        var old = await store.Catalog.FindKeyAsync(oldId, CancellationToken.None);
        Assert.False(old!.IsValidAt(DateTimeOffset.UtcNow));
        Assert.Equal(1, (await SelfsameProcess.RunAsync("key", "rotate", oldId, "--data", _data)).ExitCode);
    }

    [Fact]
    public async Task KeyCreate_WithPermissions_StoresOnlyThose_AndRefusesAnUnknownOne()
    {
        var (exit, output, error) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--role", "write",
            "--permission", "users.track", "--permission", "users.alias.new");

        Assert.True(exit == 0, error);
        Assert.Contains("holding only users.alias.new, users.track", output, StringComparison.Ordinal);
        var keyId = output.TrimEnd().Split('\n')[^1].Split('_')[1];
        await using (var store = SqliteStore.Open(_data, TimeProvider.System))
        {
            var key = await store.Catalog.FindKeyAsync(keyId, CancellationToken.None);
            Assert.Equal(["users.alias.new", "users.track"], key!.Permissions!);
        }
        var (refused, _, message) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--role", "write", "--permission", "users.everything");
        Assert.NotEqual(0, refused);
        Assert.Contains("users.everything", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_FromTheConfigFile_UnlessTheEnvironmentOrAFlagSaysOtherwise()
    {
        var config = Path.Combine(Path.GetTempPath(), $"selfsame-config-{Guid.NewGuid():N}.json");
        var elsewhere = _data + "-elsewhere";
        await File.WriteAllTextAsync(config, $$"""{"data": {{System.Text.Json.JsonSerializer.Serialize(_data)}}, "store": "sqlite"}""");
        try
        {
            var fromFile = new Dictionary<string, string> { ["SELFSAME_CONFIG"] = config };
            var (exit, output, error) = await SelfsameProcess.RunWithAsync(fromFile, "key", "create", "--role", "read");
            Assert.True(exit == 0, error);
            await using (var store = SqliteStore.Open(_data, TimeProvider.System))
            {
                var keyId = output.TrimEnd().Split('\n')[^1].Split('_')[1];
                Assert.NotNull(await store.Catalog.FindKeyAsync(keyId, CancellationToken.None));
            }
            SqliteConnection.ClearAllPools();

            // The environment wins over the file, and a flag over both.
            var (envExit, _, _) = await SelfsameProcess.RunWithAsync(new Dictionary<string, string> { ["SELFSAME_CONFIG"] = config, ["SELFSAME_DATA"] = elsewhere },
                "project", "create", "from-env");
            Assert.Equal(0, envExit);
            Assert.True(File.Exists(Path.Combine(elsewhere, SqliteStore.FileName)));
            var (_, listed, _) = await SelfsameProcess.RunWithAsync(fromFile, "project", "list", "--data", elsewhere);
            Assert.Contains("from-env", listed, StringComparison.Ordinal);

            var broken = new Dictionary<string, string> { ["SELFSAME_CONFIG"] = config + ".missing" };
            var (brokenExit, _, brokenError) = await SelfsameProcess.RunWithAsync(broken, "project", "list");
            Assert.NotEqual(0, brokenExit);
            Assert.Contains("SELFSAME_CONFIG", brokenError, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
            SqliteConnection.ClearAllPools();
            if (Directory.Exists(elsewhere))
            {
                Directory.Delete(elsewhere, recursive: true);
            }
        }
    }

    [Fact]
    public async Task KeyCreate_UnknownProject_FailsWithAClearMessage()
    {
        var (exit, _, error) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--project", "nope", "--role", "read");
        Assert.Equal(1, exit);
        Assert.Contains("no project 'nope'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChangesTail_PrintsTheFeedAsNdjson_AndFollowsTheWritesOfARunningServer()
    {
        var (_, created, _) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--role", "write");
        var key = created.TrimEnd().Split('\n')[^1];
        var (server, address) = await SelfsameProcess.ServeAsync(_data);
        var lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
        System.Diagnostics.Process? tail = null;
        try
        {
            using var client = new HttpClient { BaseAddress = address };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            Assert.True((await client.PostAsync("/v1/identify", new StringContent("""{"user_id":"before"}""", System.Text.Encoding.UTF8, "application/json"))).IsSuccessStatusCode);
            tail = SelfsameProcess.Start(["changes", "tail", "--data", _data, "--interval-ms", "50"], line => lines.Writer.TryWrite(line));
            var first = await NextChangeAsync(lines.Reader);
            Assert.Equal(("identifier.attached", "before"), (first["kind"]!.GetValue<string>(), first["detail"]!["identifier"]!["value"]!.GetValue<string>()));

            // Written after the tail started: it follows.
            Assert.True((await client.PostAsync("/v1/identify", new StringContent("""{"user_id":"after"}""", System.Text.Encoding.UTF8, "application/json"))).IsSuccessStatusCode);
            var next = await NextChangeAsync(lines.Reader);
            Assert.Equal("after", next["detail"]!["identifier"]!["value"]!.GetValue<string>());
            Assert.True(next["seq"]!.GetValue<long>() > first["seq"]!.GetValue<long>());
            Assert.Equal("native", next["surface"]!.GetValue<string>());

            // From a cursor, without following: only what came after it, and the command ends.
            var (exit, output, _) = await SelfsameProcess.RunAsync("changes", "tail", "--data", _data, "--no-follow", "--after", first["seq"]!.ToString());
            Assert.Equal(0, exit);
            var after = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(next["seq"]!.GetValue<long>(), JsonNode.Parse(after)!["seq"]!.GetValue<long>());
        }
        finally
        {
            tail?.Kill(entireProcessTree: true);
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static async Task<JsonNode> NextChangeAsync(System.Threading.Channels.ChannelReader<string> lines)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return JsonNode.Parse(await lines.ReadAsync(timeout.Token))!;
    }

    [Fact]
    public async Task ImportThenExportAndResolve()
    {
        var file = Path.Combine(Path.GetTempPath(), $"selfsame-import-{Guid.NewGuid():N}.ndjson");
        await File.WriteAllTextAsync(file, string.Join("\n",
            """{"user_id":"u1","identifiers":[{"type":"email","value":"one@x.com"}],"properties":{"plan":"pro"}}""",
            """{"user_id":"u2","identifiers":[{"type":"device_id","value":"d2"}]}""",
            """{"user_id":"u3","identifiers":"oops"}""",
            """{"op":"link","from":{"type":"user_id","value":"u2"},"into":{"type":"user_id","value":"u1"}}"""));
        try
        {
            // A dry run first: the whole file's effect as JSON, and nothing kept.
            var (dryExit, dry, _) = await SelfsameProcess.RunAsync("import", "--dry-run", file, "--data", _data);
            Assert.Equal(0, dryExit);
            var run = JsonNode.Parse(dry)!;
            Assert.Equal((4, 3, 1), (run["rows"]!.GetValue<int>(), run["applied"]!.GetValue<int>(), run["failed"]!.GetValue<int>()));
            Assert.Equal(1, run["totals"]!["profiles_merged"]!.GetValue<int>());
            Assert.Equal(3, run["errors"]![0]!["line"]!.GetValue<int>());
            Assert.Equal("", (await SelfsameProcess.RunAsync("export", "--data", _data)).Output.Trim());

            var (exit, output, _) = await SelfsameProcess.RunAsync("import", file, "--data", _data);
            Assert.Equal(2, exit);
            Assert.Contains("lines: 4, applied: 3, failed: 1", output, StringComparison.Ordinal);
            Assert.Contains("line 3: identifiers: expected an array", output, StringComparison.Ordinal);

            var (exportExit, exported, _) = await SelfsameProcess.RunAsync("export", "--data", _data);
            Assert.Equal(0, exportExit);
            var profiles = exported.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
            var profile = Assert.Single(profiles);
            Assert.Equal(4, profile["identifiers"]!.AsArray().Count);

            var (resolveExit, resolved, _) = await SelfsameProcess.RunAsync("resolve", "--data", _data, "--type", "device_id", "--value", "d2");
            Assert.Equal(0, resolveExit);
            Assert.Equal(profile["profile_id"]!.GetValue<long>(), JsonNode.Parse(resolved)!["profile_id"]!.GetValue<long>());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Kill9_DuringAnImportJob_TheRestartedServerResumesIt_AndAppliesNoRowTwice()
    {
        const int rows = 100_000;
        var (exit, output, _) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--role", "write");
        Assert.Equal(0, exit);
        var key = output.TrimEnd().Split('\n')[^1];
        var (server, address) = await SelfsameProcess.ServeAsync(_data);
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        // Track lines without insert_id: a row applied twice would leave two events.
        var payload = string.Join("\n", Enumerable.Range(0, rows).Select(i => $$"""{"op":"track","user_id":"u{{i % 500}}","event":"e{{i}}"}"""));
        using var submitted = await client.PostAsync("/v1/imports", new StringContent(payload, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(202, (int)submitted.StatusCode);
        var jobId = JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["job_id"]!.GetValue<string>();

        long doneAtKill;
        try
        {
            while (true)
            {
                var job = JsonNode.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}"))!;
                doneAtKill = job["completed_rows"]!.GetValue<long>();
                if (doneAtKill > 0)
                {
                    break;
                }
                await Task.Delay(10);
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true); // SIGKILL in the middle of the job
            await server.WaitForExitAsync();
        }
        // Read from the file, with the server dead: the kill must have come in the middle of the job.
        using (var dead = new SqliteConnection($"Data Source={Path.Combine(_data, SqliteStore.FileName)};Mode=ReadOnly;Pooling=False"))
        {
            dead.Open();
            using var state = dead.CreateCommand();
            state.CommandText = "SELECT next_line, status FROM jobs";
            using var row = state.ExecuteReader();
            row.Read();
            Assert.True(row.GetInt64(0) <= rows && row.GetString(1) == "processing",
                $"the job stood at line {row.GetInt64(0)} ({row.GetString(1)}) when killed; the test proves nothing");
        }

        (server, address) = await SelfsameProcess.ServeAsync(_data);
        JsonNode finished;
        try
        {
            using var again = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
            again.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var deadline = DateTime.UtcNow.AddSeconds(90);
            do
            {
                await Task.Delay(100);
                finished = JsonNode.Parse(await again.GetStringAsync($"/v1/jobs/{jobId}"))!;
            }
            while (finished["status"]!.GetValue<string>() != "completed" && DateTime.UtcNow < deadline);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }

        Assert.Equal("completed", finished["status"]!.GetValue<string>());
        Assert.Equal((rows, 0L), (finished["completed_rows"]!.GetValue<long>(), finished["failed_rows"]!.GetValue<long>()));
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_data, SqliteStore.FileName)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*), count(DISTINCT name) FROM events";
        using var reader = count.ExecuteReader();
        reader.Read();
        Assert.Equal((rows, rows), (reader.GetInt64(0), reader.GetInt64(1)));
    }

    [Fact]
    public async Task Import_OfAFileWhoseJobIsUnfinished_ResumesThatJobInsteadOfStartingAgain()
    {
        var file = Path.Combine(Path.GetTempPath(), $"selfsame-resume-{Guid.NewGuid():N}.ndjson");
        await File.WriteAllTextAsync(file, "{\"user_id\":\"r1\"}\n{\"user_id\":\"r2\"}");
        try
        {
            await SelfsameProcess.RunAsync("project", "list", "--data", _data);
            string jobId;
            await using (var store = SqliteStore.Open(_data, TimeProvider.System))
            {
                // As an interrupted 'selfsame import' leaves it: stored, not finished.
                var bytes = await File.ReadAllBytesAsync(file);
                jobId = (await Selfsame.Jobs.JobProcessor.SubmitAsync(store.Jobs, ProjectId.Default, "import", "cli", Path.GetFileName(file), bytes, null,
                    TimeProvider.System, CancellationToken.None)).JobId;
            }
            SqliteConnection.ClearAllPools();

            var (exit, output, error) = await SelfsameProcess.RunAsync("import", file, "--data", _data);

            Assert.True(exit == 0, error);
            Assert.Contains($"resuming job {jobId}", output, StringComparison.Ordinal);
            Assert.Contains("lines: 2, applied: 2, failed: 0", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Kill9_WhileWriting_LosesNothingAcknowledged()
    {
        var (exit, output, _) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--role", "write");
        Assert.Equal(0, exit);
        var key = output.TrimEnd().Split('\n')[^1];
        var (server, address) = await SelfsameProcess.ServeAsync(_data);
        var acknowledged = new ConcurrentBag<string>();
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var stop = new CancellationTokenSource();

        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = $"w{w}-{i}";
                try
                {
                    using var response = await client.PostAsync("/v1/identify",
                        new StringContent($$"""{"user_id":"{{id}}","identifiers":[{"type":"email","value":"{{id}}@x.com"}]}""", Encoding.UTF8, "application/json"));
                    if (response.IsSuccessStatusCode)
                    {
                        acknowledged.Add(id);
                    }
                }
                catch (HttpRequestException)
                {
                    return;
                }
                catch (TaskCanceledException)
                {
                    return;
                }
            }
        })).ToList();

        await Task.Delay(1500);
        server.Kill(entireProcessTree: true); // SIGKILL: no shutdown, no flush
        await server.WaitForExitAsync();
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.True(acknowledged.Count > 100, $"only {acknowledged.Count} writes were acknowledged before the kill");
        await using var store = SqliteStore.Open(_data, TimeProvider.System);
        var engine = new IdentityEngine(store);
        var missing = new List<string>();
        foreach (var id in acknowledged)
        {
            if (await engine.ResolveAsync(ProjectId.Default, new Identifier(IdentifierTypes.Email, $"{id}@x.com"), CancellationToken.None) is null)
            {
                missing.Add(id);
            }
        }
        Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged writes were lost, e.g. {string.Join(", ", missing.Take(5))}");
    }
}
