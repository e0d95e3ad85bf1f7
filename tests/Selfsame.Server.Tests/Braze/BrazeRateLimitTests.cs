using System.Globalization;
using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Braze;

/// <summary>Braze's shared /users/* limit, here 3 requests a minute, on a clock the test moves.</summary>
public sealed class BrazeRateLimitTests(BrazeRateLimitServer server) : IClassFixture<BrazeRateLimitServer>
{
    [Fact]
    public async Task SharedFamily_FourthRequestAcrossEndpoints_429UntilTheWindowResets()
    {
        using var braze = server.Client(server.WriteKey);
        var prefix = Names.Unique("rl");
        string Alias(string name) => $$"""{"alias_name":"{{prefix}}-{{name}}","alias_label":"web"}""";

        var (status, _, first) = await braze.BrazeAsync("/users/alias/new", $$"""{"user_aliases":[{{Alias("a")}}]}""");
        Assert.Equal(201, status);
        Assert.Equal("2", first.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal(201, (await braze.BrazeAsync("/users/identify", $$"""{"aliases_to_identify":[{"external_id":"{{prefix}}","user_alias":{{Alias("a")}}}]}""")).Status);
        Assert.Equal(202, (await braze.BrazeAsync("/users/merge", """{"merge_updates":[]}""")).Status);
        // Track has a family of its own: not counted against /users/*.
        Assert.Equal(201, (await braze.BrazeAsync("/users/track", $$"""{"attributes":[{"external_id":"{{prefix}}","a":1}]}""")).Status);

        var (refused, body, response) = await braze.BrazeAsync("/users/delete", $$"""{"external_ids":["{{prefix}}"]}""");

        Assert.Equal(429, refused);
        Assert.StartsWith("Rate Limited", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("3", response.Headers.GetValues("X-RateLimit-Limit").Single());
        Assert.Equal("0", response.Headers.GetValues("X-RateLimit-Remaining").Single());
        // The clock stands at 10:00:10, so the window resets at 10:01:00, 50 s away.
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 10, 1, 0, TimeSpan.Zero).ToUnixTimeSeconds(),
            long.Parse(response.Headers.GetValues("X-RateLimit-Reset").Single(), CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.FromSeconds(50), response.Headers.RetryAfter!.Delta);
        Assert.Single((await braze.ExportAsync(prefix))["users"]!.AsArray());

        server.Clock.Advance(TimeSpan.FromSeconds(50));
        var (status2, deleted, _) = await braze.BrazeAsync("/users/delete", $$"""{"external_ids":["{{prefix}}"]}""");
        Assert.Equal(201, status2);
        Assert.Equal(1, deleted["deleted"]!.GetValue<int>());
    }
}
