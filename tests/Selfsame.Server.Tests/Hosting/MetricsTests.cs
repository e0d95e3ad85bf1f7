using System.Globalization;
using System.Text.RegularExpressions;
using Selfsame.Server.Hosting;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Hosting;

/// <summary>/metrics in Prometheus' text format: requests by surface, the writer, and graph changes by rule.</summary>
public sealed partial class MetricsTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _write = server.Client(server.WriteKey);

    private async Task<string> ScrapeAsync()
    {
        using var client = server.Client(null);
        using var response = await client.GetAsync("/metrics");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of one series (0 when it is not there yet): the instruments are the process's, so tests compare before and after.</summary>
    private static double Value(string scrape, string series) =>
        scrape.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal)) is { } line
            ? double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture)
            : 0;

    [Fact]
    public async Task Scrape_CountsRequestsBySurface_TheWriter_AndMergesAndRefusalsByRule()
    {
        var before = await ScrapeAsync();
        var device = Names.Unique("m-dev");
        await _write.PostAsync("/v1/identify", $$"""{"identifiers":[{"type":"device_id","value":"{{device}}"}]}""");
        var (status, _) = await _write.PostAsync("/v1/identify", $$"""{"user_id":"{{Names.Unique("m-user")}}","identifiers":[{"type":"device_id","value":"{{device}}"},{"type":"email","value":"test@test.com"}]}""");
        Assert.Equal(200, status);

        var after = await ScrapeAsync();

        Assert.True(Value(after, "selfsame_merges{kind=\"implicit\"}") >= Value(before, "selfsame_merges{kind=\"implicit\"}") + 1, after);
        Assert.True(Value(after, "selfsame_refusals{rule=\"deny_list.placeholder_email\"}") >= Value(before, "selfsame_refusals{rule=\"deny_list.placeholder_email\"}") + 1);
        Assert.Contains("selfsame_writer_commit_seconds_bucket", after, StringComparison.Ordinal);
        Assert.Contains("selfsame_writer_group_size", after, StringComparison.Ordinal);
        Assert.Matches(RequestSeries(), after);
    }

    [GeneratedRegex("http_request_duration_seconds_count\\{[^}]*surface=\"native\"[^}]*\\} [0-9]")]
    private static partial Regex RequestSeries();
}

/// <summary>A server with /metrics off.</summary>
public sealed class NoMetricsServer : RunningServer
{
    protected override SelfsameOptions Options(string data) => base.Options(data) with { Metrics = "off" };
}

public sealed class MetricsOffTests(NoMetricsServer server) : IClassFixture<NoMetricsServer>
{
    [Fact]
    public async Task MetricsOff_Is404()
    {
        using var client = server.Client(null);
        using var response = await client.GetAsync("/metrics");

        Assert.Equal(404, (int)response.StatusCode);
    }
}
