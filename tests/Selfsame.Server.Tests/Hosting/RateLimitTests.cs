using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Hosting;

/// <summary>A configured limit on a surface that documents none: the native API, 2 requests a minute here.</summary>
public sealed class RateLimitTests(BrazeRateLimitServer server) : IClassFixture<BrazeRateLimitServer>
{
    [Fact]
    public async Task Native_ConfiguredLimit_429ProblemWithHeaders_UntilTheWindowResets()
    {
        using var native = server.Client(server.ReadKey);
        using var first = await native.GetAsync("/v1/resolve?type=user_id&value=nobody");
        Assert.Equal(404, (int)first.StatusCode);
        Assert.Equal("1", first.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal(404, (await native.GetJsonAsync("/v1/resolve?type=user_id&value=nobody")).Status);

        using var refused = await native.GetAsync("/v1/resolve?type=user_id&value=nobody");

        Assert.Equal(429, (int)refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        Assert.Equal("2", refused.Headers.GetValues("X-RateLimit-Limit").Single());
        Assert.NotNull(refused.Headers.RetryAfter);
        server.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(404, (await native.GetJsonAsync("/v1/resolve?type=user_id&value=nobody")).Status);
    }
}
