using System.Net.Http.Headers;
using System.Text;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Cooladata;

public sealed class CooladataApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _native = server.Client(server.WriteKey);

    // The seed's sample payload, verbatim.
    private const string SamplePayload = """
        {
        "customer_user_id" : "458dsf832-4324h3-dsfsf34532-dsf73d",
         "alternative_user_id": "johdue@gmailtest.com"
        }
        """;

    private async Task<(int Status, string Body)> MatchAsync(string project, string? token, string payload)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/cooladata/api/v2/projects/{project}/users/identities")
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Token", token);
        }
        using var client = server.Client(null);
        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Identities_SamplePayload_UnknownCustomerFirst_ThenMatched_ThenNothingToUpdate()
    {
        Assert.Equal((400, "No customer user id 458dsf832-4324h3-dsfsf34532-dsf73d for project default"),
            await MatchAsync("default", server.AdminKey, SamplePayload));

        var customer = (await _native.PostAsync("/v1/identify", """{"user_id":"458dsf832-4324h3-dsfsf34532-dsf73d"}""")).Body.Value<long>("profile_id");
        Assert.Equal((200, "1"), await MatchAsync("default", server.AdminKey, SamplePayload));
        Assert.Equal((200, "0"), await MatchAsync("default", server.AdminKey, SamplePayload));

        var alternative = await _native.GetJsonAsync("/v1/resolve?type=alias&label=alternative_user_id&name=johdue@gmailtest.com");
        Assert.Equal(customer, alternative.Body.Value<long>("profile_id"));
        var explained = await _native.GetJsonAsync("/v1/explain?from_type=alias&from_label=alternative_user_id&from_name=johdue@gmailtest.com&to_type=user_id&to_value=458dsf832-4324h3-dsfsf34532-dsf73d");
        Assert.Equal("match", explained.Body.Value<string>("path.0.link.kind"));
        Assert.Equal("cooladata", explained.Body.Value<string>("path.0.link.surface"));
    }

    private async Task<(int Status, System.Text.Json.Nodes.JsonNode? Body)> TrackAsync(string appKey, string urlEncodedJson)
    {
        using var client = server.Client(null);
        using var content = new StringContent(urlEncodedJson, Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await client.PostAsync($"/cooladata/v3/{Uri.EscapeDataString(appKey)}/track", content);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, (int)response.StatusCode == 200 ? System.Text.Json.Nodes.JsonNode.Parse(text) : null);
    }

    [Fact]
    public async Task Track_EventsWithAnAlternativeId_MatchTheIds_AndLandInOneStream()
    {
        var (device1, device2, login) = ($"dev-{Guid.NewGuid():N}", $"dev-{Guid.NewGuid():N}", $"joe-{Guid.NewGuid():N}@x.com");
        // Times within the tracker's window: an hour ago in epoch milliseconds, and the start of yesterday as a date.
        var (hourAgo, yesterday) = (DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds(), DateTime.UtcNow.Date.AddDays(-1));
        var payload = $$$"""{"events":[{"event_name":"login","user_id":"{{{device1}}}","event_timestamp_epoch":{{{hourAgo}}},"user_alternative_id":"{{{login}}}","page":"/home"},{"event_name":"view","user_id":"{{{device2}}}","alternative_user_id":"{{{login}}}","event_timestamp_epoch":"{{{yesterday:yyyy-MM-dd}}}"},{"event_name":"bad"},{"event_name":"nested","user_id":"x","props":{"a":1}}]}""";

        var (status, body) = await TrackAsync(server.WriteKey, Uri.EscapeDataString(payload));

        Assert.Equal(200, status);
        Assert.Equal(2, body.Value<int>("accepted"));
        Assert.Equal([2, 3], body!["invalid"]!.AsArray().Select(i => i!["index"]!.GetValue<int>()));
        var profile = (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={device1}")).Body.Value<long>("profile_id");
        Assert.Equal(profile, (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={device2}")).Body.Value<long>("profile_id"));
        var stream = (await _native.GetJsonAsync($"/v1/profiles/{profile}/events")).Body!["events"]!.AsArray();
        Assert.Equal(["login", "view"], stream.Select(e => e!["event"]!.GetValue<string>()));
        Assert.Equal($"{yesterday:yyyy-MM-dd}T00:00:00+00:00", stream[1]!["time"]!.GetValue<string>());
        Assert.Equal("/home", stream[0]!["properties"]!["page"]!.GetValue<string>());

        // The tracker made device1 a user: the identities call now finds it.
        var match = $$$"""{"customer_user_id":"{{{device1}}}","alternative_user_id":"other-{{{login}}}"}""";
        Assert.Equal((200, "1"), await MatchAsync("default", server.AdminKey, match));
    }

    [Fact]
    public async Task Track_EventTimes_AreRequired_AndTakenFrom30DaysAgoToAnHourAhead()
    {
        var user = $"t-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        string Event(string name, TimeSpan? offset) => "{\"event_name\":\"" + name + "\",\"user_id\":\"" + user + "\""
            + (offset is { } o ? ",\"event_timestamp_epoch\":" + now.Add(o).ToUnixTimeMilliseconds() : "") + "}";
        var payload = "{\"events\":[" + string.Join(",", Event("none", null), Event("old", TimeSpan.FromDays(-31)), Event("ahead", TimeSpan.FromHours(2)),
            Event("month", TimeSpan.FromDays(-29)), Event("soon", TimeSpan.FromMinutes(50))) + "]}";

        var (status, body) = await TrackAsync(server.WriteKey, Uri.EscapeDataString(payload));

        Assert.Equal(200, status);
        Assert.Equal(2, body.Value<int>("accepted"));
        var invalid = body!["invalid"]!.AsArray();
        Assert.Equal([0, 1, 2], invalid.Select(i => i!["index"]!.GetValue<int>()));
        Assert.Equal("event_timestamp_epoch is required", invalid[0]!["reason"]!.GetValue<string>());
        Assert.Contains("30 days in the past to 1 hour in the future", invalid[1]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        var profile = (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Body.Value<long>("profile_id");
        var stream = (await _native.GetJsonAsync($"/v1/profiles/{profile}/events")).Body!["events"]!.AsArray();
        Assert.Equal(["soon", "month"], stream.Select(e => e!["event"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Identities_CountsEveryUserTheMatchUpdated()
    {
        // Two users already joined under one alternative id's profile, matched with a third: two users updated.
        var (customer, a, b, alternative) = ($"c-{Guid.NewGuid():N}", $"a-{Guid.NewGuid():N}", $"b-{Guid.NewGuid():N}", $"alt-{Guid.NewGuid():N}");
        await _native.PostAsync("/v1/identify", $$$"""{"user_id":"{{{customer}}}"}""");
        await _native.PostAsync("/v1/identify", $$$"""{"user_id":"{{{a}}}","identifiers":[{"type":"alias","label":"alternative_user_id","name":"{{{alternative}}}"}]}""");
        await _native.PostAsync("/v1/identify", $$$"""{"identifiers":[{"type":"device_id","value":"{{{b}}}"},{"type":"alias","label":"alternative_user_id","name":"{{{alternative}}}"}]}""");

        Assert.Equal((200, "2"), await MatchAsync("default", server.AdminKey, $$$"""{"customer_user_id":"{{{customer}}}","alternative_user_id":"{{{alternative}}}"}"""));
        Assert.Equal((200, "0"), await MatchAsync("default", server.AdminKey, $$$"""{"customer_user_id":"{{{customer}}}","alternative_user_id":"{{{alternative}}}"}"""));
    }

    [Fact]
    public async Task Track_BadAppKey_Is401_AndBadPayload_Is400()
    {
        Assert.Equal(401, (await TrackAsync("not-a-key", "%7B%7D")).Status);
        Assert.Equal(401, (await TrackAsync(server.ReadKey, "%7B%7D")).Status);
        Assert.Equal(400, (await TrackAsync(server.WriteKey, "%7Bnot%20json")).Status);
        Assert.Equal(400, (await TrackAsync(server.WriteKey, Uri.EscapeDataString("""{"events":[]}"""))).Status);
    }

    [Fact]
    public async Task Identities_NonAdminKey_OrAnotherProject_IsTheSeedsPermissionError()
    {
        var payload = """{"customer_user_id":"perm-user","alternative_user_id":"perm-alt"}""";
        Assert.Equal((400, "Operation requires admin permissions on project default"), await MatchAsync("default", server.WriteKey, payload));
        Assert.Equal((400, "Operation requires admin permissions on project default"), await MatchAsync("default", server.ReadKey, payload));
        Assert.Equal((400, "Operation requires admin permissions on project elsewhere"), await MatchAsync("elsewhere", server.AdminKey, payload));
    }

    [Fact]
    public async Task Identities_MissingToken_Is401_AndBadPayloads_Are400NamingTheField()
    {
        Assert.Equal(401, (await MatchAsync("default", null, SamplePayload)).Status);
        Assert.Equal(401, (await MatchAsync("default", "not-a-token", SamplePayload)).Status);
        var (status, body) = await MatchAsync("default", server.AdminKey, """{"customer_user_id":"x"}""");
        Assert.Equal(400, status);
        Assert.Contains("alternative_user_id", body, StringComparison.Ordinal);
        Assert.Equal((400, "alternative_user_id: is required (a string)"), await MatchAsync("default", server.AdminKey, """{"customer_user_id":"x"}"""));
        Assert.Equal((400, "customer_user_id: must be a string, not a number"), await MatchAsync("default", server.AdminKey, """{"customer_user_id":1,"alternative_user_id":"a"}"""));
        Assert.Equal(400, (await MatchAsync("default", server.AdminKey, """[1,2]""")).Status);
        Assert.Equal(400, (await MatchAsync("default", server.AdminKey, """{"customer_user_id":""")).Status);
    }
}
