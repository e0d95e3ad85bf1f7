using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Amplitude;

public sealed class HttpApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _client = server.Client(null);
    private readonly HttpClient _native = server.Client(server.ReadKey);

    private async Task<(int Status, JsonNode Body)> PostAsync(string body, string path = "/amplitude/2/httpapi")
    {
        using var response = await _client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal((int)response.StatusCode, json["code"]!.GetValue<int>());
        return ((int)response.StatusCode, json);
    }

    [Fact]
    public async Task OfficialNodeSdk_DeliversEvents_AndAnEventWithBothIdsLinksThem()
    {
        var (user, device) = (Names.Unique("sdk-user"), Names.Unique("sdk-device"));
        var output = await RunSdkAsync($"{server.BaseAddress}amplitude/2/httpapi", server.WriteKey, user, device);
        var results = JsonNode.Parse(output)!.AsArray();
        Assert.All(results, r => Assert.Equal(200, r!["code"]!.GetValue<int>()));

        var resolved = (await _native.GetJsonAsync($"/v1/resolve?type=device_id&value={device}")).Body;
        Assert.Contains(resolved!["identifiers"]!.AsArray(), i => i!["value"]!.GetValue<string>() == user);
        var stream = (await _native.GetJsonAsync($"/v1/profiles/{resolved.Value<long>("profile_id")}/events")).Body!["events"]!.AsArray();
        Assert.Equal(["Button Clicked", "Page Viewed"], stream.Select(e => e!["event"]!.GetValue<string>()).Order());
        Assert.Equal("blue", stream.Single(e => e!["event"]!.GetValue<string>() == "Button Clicked")!["properties"]!["color"]!.GetValue<string>());
        Assert.All(stream, e => Assert.Equal("amplitude", e!["surface"]!.GetValue<string>()));

        var rejected = JsonNode.Parse(await RunSdkAsync($"{server.BaseAddress}amplitude/2/httpapi", "123456789", user, device))!.AsArray();
        Assert.All(rejected, r => Assert.Equal((400, "Invalid API key"), (r!["code"]!.GetValue<int>(), r["message"]!.GetValue<string>())));
    }

    [Fact]
    public async Task HttpApi_InvalidEvents_AreNamedInTheFieldsTheSdkReads_AndNothingIsStored()
    {
        var device = Names.Unique("dev");
        var (status, body) = await PostAsync($$$"""
            {"api_key":"{{{server.WriteKey}}}","events":[
              {"device_id":"{{{device}}}","event_type":"ok"},
              {"device_id":"{{{device}}}"},
              {"device_id":"{{{device}}}","event_type":"t","time":"yesterday"},
              {"user_id":"undefined","event_type":"x"},
              {"user_id":"abc","event_type":"short"},
              {"device_id":"{{{device}}}","event_type":"nul","insert_id":"a\u0000b"}
            ]}
            """);

        Assert.Equal(400, status);
        Assert.Equal("Invalid field values on some events", body["error"]!.GetValue<string>());
        Assert.Equal([1], body["events_with_missing_fields"]!["event_type"]!.AsArray().Select(i => i!.GetValue<int>()));
        Assert.Equal([2], body["events_with_invalid_fields"]!["time"]!.AsArray().Select(i => i!.GetValue<int>()));
        Assert.Equal([3], body["events_with_invalid_fields"]!["user_id"]!.AsArray().Select(i => i!.GetValue<int>()));
        Assert.Equal([5], body["events_with_invalid_fields"]!["insert_id"]!.AsArray().Select(i => i!.GetValue<int>()));
        Assert.Equal([4], body["events_with_invalid_id_lengths"]!["user_id"]!.AsArray().Select(i => i!.GetValue<int>()));
        Assert.Equal(404, (await _native.GetJsonAsync($"/v1/resolve?type=device_id&value={device}")).Status);
    }

    [Fact]
    public async Task HttpApi_ATooShortIdBesideAValidOne_IsRemoved_AndTheEventIngested()
    {
        var device = Names.Unique("device");
        var (status, body) = await PostAsync($$$"""
            {"api_key":"{{{server.WriteKey}}}","events":[{"user_id":"abc","device_id":"{{{device}}}","event_type":"short user id"}]}
            """);

        Assert.Equal((200, 1), (status, body["events_ingested"]!.GetValue<int>()));
        var resolved = (await _native.GetJsonAsync($"/v1/resolve?type=device_id&value={device}")).Body;
        Assert.DoesNotContain(resolved!["identifiers"]!.AsArray(), i => i!["type"]!.GetValue<string>() == "user_id");
    }

    [Theory]
    [InlineData("\"device_id\":\"dev\\u0000ice-1\",\"event_type\":\"x", "device_id")]
    [InlineData("\"device_id\":\"device-1\",\"event_type\":\"na\\u0000me", "event_type")]
    public async Task HttpApi_TextNoStoreCanKeep_IsAnInvalidField_AndNothingIsStored(string fields, string field)
    {
        var user = Names.Unique("user");
        var (status, body) = await PostAsync($$$"""
            {"api_key":"{{{server.WriteKey}}}","events":[{"user_id":"{{{user}}}",{{{fields}}}"}]}
            """);

        Assert.Equal(400, status);
        Assert.Equal([0], body["events_with_invalid_fields"]![field]!.AsArray().Select(i => i!.GetValue<int>()));
        Assert.Equal(404, (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Status);
    }

    [Fact]
    public async Task HttpApi_TextOverItsLimits_IsAnInvalidField()
    {
        // An event_type over Amplitude's 1,024 characters; a device id under them but over 2,048 bytes in UTF-8.
        var (status, body) = await PostAsync($$$"""
            {"api_key":"{{{server.WriteKey}}}","events":[
              {"device_id":"{{{Names.Unique("d")}}}","event_type":"{{{new string('e', 1025)}}}"},
              {"device_id":"{{{new string('€', 700)}}}","event_type":"wide"}
            ]}
            """);

        Assert.Equal(400, status);
        Assert.Equal([0], body["events_with_invalid_fields"]!["event_type"]!.AsArray().Select(i => i!.GetValue<int>()));
        Assert.Equal([1], body["events_with_invalid_fields"]!["device_id"]!.AsArray().Select(i => i!.GetValue<int>()));
    }

    [Fact]
    public async Task HttpApi_AcceptedEvents_AnswerAsAmplitudeDoes_AndBatchIsTheSame()
    {
        var (user, device) = (Names.Unique("u"), Names.Unique("d"));
        var (status, body) = await PostAsync($$$$"""
            {"api_key":"{{{{server.WriteKey}}}}","events":[{"user_id":"{{{{user}}}}","device_id":"{{{{device}}}}","event_type":"open","time":1700000000000,"insert_id":"{{{{user}}}}-1","event_properties":{"n":1},"user_properties":{"$set":{"plan":"pro"}}}],"options":{"min_id_length":1}}
            """, "/amplitude/batch");

        Assert.Equal(200, status);
        Assert.Equal(1, body["events_ingested"]!.GetValue<int>());
        Assert.True(body["payload_size_bytes"]!.GetValue<int>() > 0);
        Assert.True(body["server_upload_time"]!.GetValue<long>() > 1700000000000);
        var record = (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Body.Value<long>("record_id");
        var stored = (await _native.GetJsonAsync($"/v1/records/{record}/events")).Body!["events"]![0]!;
        Assert.Equal("2023-11-14T22:13:20+00:00", stored["time"]!.GetValue<string>());
        Assert.Equal("pro", stored["properties"]!["$user_properties"]!["$set"]!["plan"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("", 400, "Missing request body")]
    [InlineData("{", 400, "Invalid JSON request body")]
    [InlineData("""{"events":[]}""", 400, "Request missing required field")]
    [InlineData("""{"api_key":"123456789","events":[]}""", 400, "Invalid API key")]
    [InlineData("""{"api_key":5,"events":[]}""", 400, "Request missing required field")]
    public async Task HttpApi_BadRequests(string body, int status, string error)
    {
        var (actual, answer) = await PostAsync(body);
        Assert.Equal((status, error), (actual, answer["error"]!.GetValue<string>()));
    }

    [Fact]
    public async Task HttpApi_MoreThan2000Events_Is413()
    {
        var events = string.Join(",", Enumerable.Range(0, 2001).Select(i => $$$"""{"device_id":"device-{{{i}}}","event_type":"e"}"""));
        var (status, _) = await PostAsync($$$"""{"api_key":"{{{server.WriteKey}}}","events":[{{{events}}}]}""");
        Assert.Equal(413, status);
    }

    private static Task<string> RunSdkAsync(string url, string key, string user, string device) =>
        NodeHarness.RunAsync("amplitude-sdk", "@amplitude/analytics-node", "send.js", url, key, user, device);

}
