using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Native;

public sealed class EventApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _write = server.Client(server.WriteKey);
    private readonly HttpClient _read = server.Client(server.ReadKey);

    [Fact]
    public async Task Track_StitchesAnonymousAndIdentifiedEvents_IntoOneStream()
    {
        var (anon, user) = (Names.Unique("anon"), Names.Unique("user"));
        var (status, body) = await _write.PostAsync("/v1/track", $$$"""
            {"events":[
              {"identifiers":[{"type":"anonymous_id","value":"{{{anon}}}"}],"event":"page_view","time":"2026-03-01T10:00:00Z","properties":{"path":"/pricing"},"insert_id":"{{{anon}}}-1"},
              {"user_id":"{{{user}}}","identifiers":[{"type":"anonymous_id","value":"{{{anon}}}"}],"event":"signup","time":"2026-03-01T10:05:00Z"},
              {"user_id":"{{{user}}}","event":"purchase","time":"2026-03-01T10:10:00Z","insert_id":"{{{user}}}-p"},
              {"user_id":"{{{user}}}","event":"purchase","time":"2026-03-01T10:10:00Z","insert_id":"{{{user}}}-p"},
              {"user_id":"{{{user}}}","time":"yesterday"}
            ]}
            """);

        Assert.Equal(200, status);
        Assert.Equal((3, 1, 1), (body.Value<int>("accepted"), body.Value<int>("duplicates"), body.Value<int>("failed")));
        Assert.Equal("events[4].event", body!["results"]![4]!["error"]!["errors"]![0]!["field"]!.GetValue<string>());
        var profile = body.Value<long>("results.2.profile_id");

        var stream = (await _read.GetJsonAsync($"/v1/profiles/{profile}/events?limit=2")).Body;
        Assert.Equal(["purchase", "signup"], stream!["events"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()));
        var next = stream["next"]!.GetValue<string>();
        var rest = (await _read.GetJsonAsync($"/v1/profiles/{profile}/events?limit=2&cursor={next}")).Body;
        Assert.Equal("page_view", rest.Value<string>("events.0.event"));
        Assert.Equal("/pricing", rest.Value<string>("events.0.properties.path"));

        var anonRecord = rest.Value<long>("events.0.record_id");
        var own = (await _read.GetJsonAsync($"/v1/records/{anonRecord}/events")).Body;
        Assert.Equal(["page_view"], own!["events"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()));
    }

    [Fact]
    public async Task UniqueUsers_ReportsMergedAndRaw()
    {
        var (a, b) = (Names.Unique("a"), Names.Unique("b"));
        await _write.PostAsync("/v1/track", $$$"""
            {"events":[
              {"user_id":"{{{a}}}","event":"only-here","time":"2030-01-01T00:00:00Z"},
              {"identifiers":[{"type":"device_id","value":"{{{b}}}"}],"event":"only-here","time":"2030-01-01T01:00:00Z"},
              {"user_id":"{{{a}}}","identifiers":[{"type":"device_id","value":"{{{b}}}"}],"event":"only-here","time":"2030-01-02T00:00:00Z"}
            ]}
            """);
        var (status, body) = await _read.GetJsonAsync("/v1/stats/unique-users?from=2030-01-01T00:00:00Z&to=2030-01-03T00:00:00Z&event=only-here&per_day=true");
        Assert.Equal(200, status);
        Assert.Equal((1, 2), (body.Value<int>("merged"), body.Value<int>("raw")));
        Assert.Equal(["2030-01-01", "2030-01-02"], body!["days"]!.AsArray().Select(d => d!["day"]!.GetValue<string>()));

        // Empty values, as in ?from=&to=&event=, are absent ones: the last 30 days, and every event.
        Assert.Equal(200, (await _read.GetJsonAsync("/v1/stats/unique-users?from=&to=&event=")).Status);
        (status, body) = await _read.GetJsonAsync("/v1/stats/unique-users?from=2030-01-01T00:00:00Z&to=2030-01-03T00:00:00Z&event=");
        Assert.Equal(200, status);
        Assert.Null(body!["event"]);
        var (_, unfiltered) = await _read.GetJsonAsync("/v1/stats/unique-users?from=2030-01-01T00:00:00Z&to=2030-01-03T00:00:00Z");
        Assert.True(body.Value<int>("raw") >= 2);
        Assert.Equal((unfiltered.Value<int>("merged"), unfiltered.Value<int>("raw")), (body.Value<int>("merged"), body.Value<int>("raw")));
        var profile = (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={a}")).Body.Value<long>("profile_id");
        var (streamStatus, stream) = await _read.GetJsonAsync($"/v1/profiles/{profile}/events?event=&from=&to=&cursor=");
        Assert.Equal(200, streamStatus);
        Assert.Equal(3, stream!["events"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("/v1/track", """{"events":{}}""", "events")]
    [InlineData("/v1/track", """{"events":[{"event":"x"}]}""", "user_id")]
    [InlineData("/v1/track", """{"events":[{"user_id":"u","event":"x","properties":[1]}]}""", "properties")]
    [InlineData("/v1/track", """{"events":[{"user_id":"u","event":"x","colour":1}]}""", "colour")]
    public async Task Track_BadEvents_AreRefusedAlone_NamingTheField(string path, string body, string field)
    {
        var (status, answer) = await _write.PostAsync(path, body);
        var text = answer!.ToJsonString();
        Assert.True(status is 200 or 400, text);
        Assert.Contains(field, text, StringComparison.Ordinal);
        if (status == 200)
        {
            Assert.Equal(0, answer.Value<int>("accepted"));
        }
    }

    [Theory]
    [InlineData("/v1/profiles/1/events?limit=0", "limit")]
    [InlineData("/v1/profiles/1/events?cursor=abc", "cursor")]
    [InlineData("/v1/profiles/1/events?from=soon", "from")]
    [InlineData("/v1/stats/unique-users?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", "from")]
    [InlineData("/v1/profiles/1/events?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", "from")]
    [InlineData("/v1/records/1/events?from=2030-01-01T00:00:00Z&to=2030-01-01T00:00:00Z", "from")]
    public async Task Reads_BadQuery_Are400(string path, string field)
    {
        var (status, problem) = await _read.GetJsonAsync(path);
        Assert.Equal(400, status);
        Assert.Contains(field, problem.Value<string>("detail"), StringComparison.Ordinal);
    }
}
