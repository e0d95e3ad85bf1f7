using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Graph;
using Selfsame.Server.Tests.Support;
using Selfsame.Storage;

namespace Selfsame.Server.Tests.Native;

/// <summary>GET /v1/changes: the change feed, paged after a cursor, as NDJSON, and past retention's horizon.</summary>
public sealed class ChangesApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task Pages_AfterACursor_InOrder_AndTheLastPageSaysWhereToGoOn()
    {
        using var reader = server.Client(server.ReadKey);
        var start = await LastSeqAsync(reader);
        using var writer = server.Client(server.WriteKey);
        var users = Enumerable.Range(0, 3).Select(_ => Names.Unique("feed")).ToList();
        foreach (var user in users)
        {
            Assert.Equal(200, (await writer.PostAsync("/v1/identify", $$$"""{"user_id":"{{{user}}}"}""")).Status);
        }

        var (status, first) = await reader.GetJsonAsync($"/v1/changes?after={start}&limit=2");
        Assert.Equal(200, status);
        var page = first!["changes"]!.AsArray();
        Assert.Equal(2, page.Count);
        Assert.Equal(page[1]!["seq"]!.GetValue<long>(), first["next_after"]!.GetValue<long>());
        var (_, second) = await reader.GetJsonAsync($"/v1/changes?after={first["next_after"]}&limit=2");
        var rest = second!["changes"]!.AsArray();
        Assert.Equal(users, page.Concat(rest).Select(c => c!["detail"]!["identifier"]!["value"]!.GetValue<string>()));
        Assert.All(page.Concat(rest), c => Assert.Equal("identifier.attached", c!["kind"]!.GetValue<string>()));
        Assert.True(rest[0]!["seq"]!.GetValue<long>() > page[1]!["seq"]!.GetValue<long>());
        // Nothing more: an empty page whose next_after is the cursor itself.
        var (_, empty) = await reader.GetJsonAsync($"/v1/changes?after={second["next_after"]}");
        Assert.Empty(empty!["changes"]!.AsArray());
        Assert.Equal(second["next_after"]!.GetValue<long>(), empty["next_after"]!.GetValue<long>());
    }

    [Fact]
    public async Task Ndjson_StreamsEveryChangeAfterTheCursor()
    {
        using var reader = server.Client(server.ReadKey);
        var start = await LastSeqAsync(reader);
        using var writer = server.Client(server.WriteKey);
        var user = Names.Unique("nd");
        Assert.Equal(200, (await writer.PostAsync("/v1/identify", $$$"""{"user_id":"{{{user}}}","identifiers":[{"type":"email","value":"{{{user}}}@acme.com"}]}""")).Status);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/changes?after={start}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        using var response = await reader.SendAsync(request);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([$"user_id:{user}", $"email:{user}@acme.com"],
            lines.Select(l => $"{l["detail"]!["identifier"]!["type"]}:{l["detail"]!["identifier"]!["value"]}"));
    }

    [Fact]
    public async Task AVendorSurfacesMerge_IsInTheFeed_WithThatSurface()
    {
        using var reader = server.Client(server.ReadKey);
        var start = await LastSeqAsync(reader);
        var (anonymous, user) = (Names.Unique("anon"), Names.Unique("user"));
        using var segment = new HttpClient { BaseAddress = server.BaseAddress };
        segment.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(server.WriteKey + ":")));
        foreach (var body in new[] { $$$"""{"anonymousId":"{{{anonymous}}}","event":"Opened"}""", $$$"""{"userId":"{{{user}}}"}""" })
        {
            Assert.True((await segment.PostAsync(body.Contains("event") ? "/segment/v1/track" : "/segment/v1/identify", Http.Json(body))).IsSuccessStatusCode);
        }
        Assert.True((await segment.PostAsync("/segment/v1/alias", Http.Json($$$"""{"previousId":"{{{anonymous}}}","userId":"{{{user}}}"}"""))).IsSuccessStatusCode);

        var changes = (await reader.GetJsonAsync($"/v1/changes?after={start}")).Body!["changes"]!.AsArray();
        var merged = Assert.Single(changes, c => c!["kind"]!.GetValue<string>() == "profile.merged")!;
        Assert.Equal("segment", merged["surface"]!.GetValue<string>());
        Assert.Equal("alias", merged["detail"]!["link_kind"]!.GetValue<string>());
        Assert.All(changes, c => Assert.Equal("segment", c!["surface"]!.GetValue<string>()));
    }

    [Fact]
    public async Task BadCursorsAndLimits_Are400_AndAKeyIsNeeded()
    {
        using var reader = server.Client(server.ReadKey);
        var (status, problem) = await reader.GetJsonAsync("/v1/changes?limit=0");
        Assert.Equal(400, status);
        Assert.Equal("limit", problem!["errors"]![0]!["field"]!.GetValue<string>());
        Assert.Equal(400, (await reader.GetJsonAsync("/v1/changes?after=-1")).Status);
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.Equal(401, (await anonymous.GetJsonAsync("/v1/changes")).Status);
    }

    [Fact]
    public async Task ACursorOlderThanRetentionsHorizon_Is410_WithWhereToStartAgain()
    {
        using var writer = server.Client(server.WriteKey);
        var user = Names.Unique("old");
        Assert.Equal(200, (await writer.PostAsync("/v1/identify", $$$"""{"user_id":"{{{user}}}"}""")).Status);
        // What the retention sweep does after change_retention_days, here for every change made so far.
        var catalog = server.Services.GetRequiredService<IProjectCatalog>();
        Assert.True(await catalog.PruneChangesAsync(ProjectId.Default, DateTimeOffset.UtcNow.AddSeconds(1), CancellationToken.None) > 0);
        var later = Names.Unique("later");
        Assert.Equal(200, (await writer.PostAsync("/v1/identify", $$$"""{"user_id":"{{{later}}}"}""")).Status);

        using var reader = server.Client(server.ReadKey);
        var (status, problem) = await reader.GetJsonAsync("/v1/changes?after=0");
        Assert.Equal(410, status);
        var horizon = problem!["oldest_after"]!.GetValue<long>();
        Assert.True(horizon > 0);
        // From the horizon on, and without a cursor at all, the feed is whole again.
        var (fromHorizon, page) = await reader.GetJsonAsync($"/v1/changes?after={horizon}");
        Assert.Equal(200, fromHorizon);
        Assert.Equal(later, page!["changes"]!.AsArray()[^1]!["detail"]!["identifier"]!["value"]!.GetValue<string>());
        var (_, fromStart) = await reader.GetJsonAsync("/v1/changes");
        Assert.Equal(page["changes"]!.AsArray().Count, fromStart!["changes"]!.AsArray().Count);
    }

    /// <summary>The seq of the newest change so far (0 for none): a test reads what it wrote after it.</summary>
    private static async Task<long> LastSeqAsync(HttpClient reader)
    {
        var after = 0L;
        while (true)
        {
            var (status, page) = await reader.GetJsonAsync($"/v1/changes?limit=1000&after={after}");
            if (status == 410)
            {
                after = page!["oldest_after"]!.GetValue<long>();
                continue;
            }
            var next = page!["next_after"]!.GetValue<long>();
            if (page["changes"]!.AsArray().Count == 0)
            {
                return next;
            }
            after = next;
        }
    }
}
