using System.Net;
using System.Net.Sockets;

namespace Selfsame.Cli.Tests;

/// <summary>What a person at a terminal meets when something is wrong: one line that says what and where, an exit code, nothing left behind.</summary>
public sealed class CliErrorTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "selfsame-tests", $"cli-errors-{Guid.NewGuid():N}");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing was created.
        }
    }

    private static IReadOnlyList<string> Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task Serve_OnAnAddressInUse_FailsInOneLineNamingItAndUrls_AndCreatesNoData()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}";

        var (exit, output, error) = await SelfsameProcess.RunAsync("serve", "--data", _data, "--urls", url);

        Assert.Equal(1, exit);
        var line = Assert.Single(Lines(error));
        Assert.Contains(url, line, StringComparison.Ordinal);
        Assert.Contains("--urls", line, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.False(Directory.Exists(_data), "the data folder was created by a server that could not listen");
    }

    [Fact]
    public async Task Export_ToAFolderThatDoesNotExist_FailsInOneLine()
    {
        var missing = Path.Combine(_data, "missing", "x.ndjson");

        var (exit, _, error) = await SelfsameProcess.RunAsync("export", "--data", _data, "--output", missing);

        Assert.Equal(1, exit);
        Assert.StartsWith($"error: cannot write {missing}", Assert.Single(Lines(error)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "'frobnicate'", "see 'selfsame --help'")]
    [InlineData(new[] { "key", "create", "--role", "god" }, "'god'", "see 'selfsame key create --help'")]
    public async Task WrongCommandOrValue_SaysWhatIsWrongAndWhereHelpIs_WithoutTheWholeHelp(string[] args, string named, string help)
    {
        var (exit, output, error) = await SelfsameProcess.RunAsync(args);

        Assert.Equal(1, exit);
        Assert.Empty(output);
        var lines = Lines(error);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(named, lines[0], StringComparison.Ordinal);
        Assert.Equal(help, lines[^1]);
        Assert.DoesNotContain(lines, l => l.StartsWith("Description", StringComparison.Ordinal) || l.Contains("Required command", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("key", "create")]
    [InlineData("serve")]
    [InlineData("import")]
    public async Task Help_FitsIn100Columns(params string[] command)
    {
        var (exit, output, _) = await SelfsameProcess.RunAsync([.. command, "--help"]);

        Assert.Equal(0, exit);
        Assert.All(output.Split('\n'), line => Assert.True(line.TrimEnd().Length <= 100, $"{line.Length} columns: {line}"));
    }

    [Fact]
    public async Task KeyList_JobListAndShow_ShowWhatIsThere_AndAnImportPrintsNoProgressOffATerminal()
    {
        var (_, created, _) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--role", "read", "--name", "dashboard");
        var keyId = created.Split('\n')[0].Split(' ')[2];
        var file = Path.Combine(Path.GetTempPath(), $"selfsame-jobs-{Guid.NewGuid():N}.ndjson");
        await File.WriteAllTextAsync(file, "{\"user_id\":\"a\"}\n{\"user_id\":7}\n");
        try
        {
            var (importExit, imported, importErrors) = await SelfsameProcess.RunAsync("import", file, "--data", _data);
            var (_, keys, _) = await SelfsameProcess.RunAsync("key", "list", "--data", _data);
            var (_, jobs, _) = await SelfsameProcess.RunAsync("job", "list", "--data", _data);
            var jobId = imported.Split('\n')[0].Split(' ')[1].TrimEnd(':');
            var (showExit, shown, _) = await SelfsameProcess.RunAsync("job", "show", jobId, "--data", _data);
            var (missingExit, _, missing) = await SelfsameProcess.RunAsync("job", "show", "no-such-job", "--data", _data);

            Assert.Equal(2, importExit);
            Assert.DoesNotContain("%", imported, StringComparison.Ordinal);
            Assert.DoesNotContain("%", importErrors, StringComparison.Ordinal);
            Assert.Contains(Lines(keys), l => l.StartsWith($"{keyId}\tread\tlive\t", StringComparison.Ordinal) && l.Contains("\tdashboard\t", StringComparison.Ordinal));
            Assert.DoesNotContain("ss_", keys, StringComparison.Ordinal);
            Assert.Contains(Lines(jobs), l => l.StartsWith($"{jobId}\timport\tcompleted\t", StringComparison.Ordinal));
            Assert.Equal(0, showExit);
            Assert.Contains("lines: 2, applied: 1, failed: 1", shown, StringComparison.Ordinal);
            Assert.Contains("line 2: ", shown, StringComparison.Ordinal);
            Assert.Equal(1, missingExit);
            Assert.Contains("no job 'no-such-job'", missing, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}

/// <summary>What the server's log says, as an operator reads it.</summary>
public sealed class ServerLogTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "selfsame-tests", $"cli-log-{Guid.NewGuid():N}");

    public void Dispose()
    {
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
    public async Task JsonLog_HasALinePerRequestWithItsEndpointStatusAndId_AndNeverTheKeyOrTheBody()
    {
        var (_, created, _) = await SelfsameProcess.RunAsync("key", "create", "--data", _data, "--role", "write");
        var key = created.TrimEnd().Split('\n')[^1];
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var (server, address) = await SelfsameProcess.ServeAsync(["--data", _data, "--log-format", "json", "--log-requests"], lines.Enqueue);
        try
        {
            using var client = new HttpClient { BaseAddress = address };
            using var identify = new HttpRequestMessage(HttpMethod.Post, "/v1/identify")
            {
                Content = new StringContent("""{"user_id":"secret-body-value"}""", System.Text.Encoding.UTF8, "application/json"),
                Headers = { { "Authorization", $"Bearer {key}" }, { "X-Request-Id", "log-test-1" } },
            };
            using var answered = await client.SendAsync(identify);
            using var tracked = await client.PostAsync($"/cooladata/v3/{key}/track",
                new StringContent("""{"events":[{"event_name":"e","user_id":"u"}]}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(200, (int)answered.StatusCode);
            Assert.Equal(200, (int)tracked.StatusCode);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline && !lines.Any(l => l.Contains("/cooladata/v3/", StringComparison.Ordinal)))
            {
                await Task.Delay(100);
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }

        var entries = lines.Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToList();
        var request = Assert.Single(entries, e => e["Category"]?.GetValue<string>() == "Selfsame.Requests"
            && e["State"]?["RequestId"]?.GetValue<string>() == "log-test-1");
        Assert.Equal("/v1/identify", request["State"]!["Endpoint"]!.GetValue<string>());
        Assert.Equal("200", request["State"]!["Status"]!.ToString());
        Assert.Equal("native", request["State"]!["Surface"]!.GetValue<string>());
        Assert.Contains(entries, e => e["State"]?["Endpoint"]?.GetValue<string>() == "/cooladata/v3/{appKey}/track");
        var all = string.Join('\n', lines);
        Assert.DoesNotContain(key, all, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-body-value", all, StringComparison.Ordinal);
    }
}
