using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Amplitude;

/// <summary>Where Amplitude's documents and Selfsame differed (issue 24): the lookup's answer, key spellings, user properties.</summary>
public sealed class AmplitudeFidelityTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _client = server.Client(null);
    private readonly HttpClient _native = server.Client(server.ReadKey);

    [Fact]
    public async Task Lookup_AnswersTheMapOfUserIdsAlone_SoAUserIdNamedCodeIsJustAUser()
    {
        var global = Names.Unique("g");
        await _client.MapInFormAsync($$$"""[{"user_id":"code","global_user_id":"{{{global}}}"}]""", server.WriteKey);

        var (status, body, _) = await _client.LookupAsync(server.ReadKey, server.ReadKey, "code", global);

        Assert.Equal(200, status);
        Assert.Equal(["code", global], body!.AsObject().Select(p => p.Key));
        Assert.Equal(global, body["code"]!["mapped_to"]![0]!["user_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Keys_AsTheSeedSpellsThem_ApiDashKey_AndApiKeySecretKeyParametersOnTheLookup()
    {
        var (user, global) = (Names.Unique("sp"), Names.Unique("spg"));
        using var map = new HttpRequestMessage(HttpMethod.Post, "/amplitude/usermap")
        {
            Content = new FormUrlEncodedContent([new("mapping", $$$"""{"user_id":"{{{user}}}","global_user_id":"{{{global}}}"}"""), new("api-key", server.WriteKey)]),
        };
        var (mapped, mapBody, _) = await _client.AmplitudeAsync(map);
        Assert.Equal((200, 1), (mapped, mapBody.Value<int>("mapped")));

        var query = $"/amplitude/api/2/usermap?api_key={Uri.EscapeDataString(server.ReadKey)}&secret_key={Uri.EscapeDataString(server.ReadKey)}&user_ids={Uri.EscapeDataString(user)}";
        var (status, body, _) = await _client.AmplitudeAsync(new HttpRequestMessage(HttpMethod.Get, query), lookup: true);
        Assert.Equal(200, status);
        Assert.Equal(global, body![user]!["mapped_to"]![0]!["user_id"]!.GetValue<string>());

        using var form = new HttpRequestMessage(HttpMethod.Post, "/amplitude/api/2/usermap")
        {
            Content = new FormUrlEncodedContent([new("api_key", server.ReadKey), new("secret_key", "wrong"), new("user_ids", user)]),
        };
        Assert.Equal(401, (await _client.AmplitudeAsync(form, lookup: true)).Item1);
    }

    [Fact]
    public async Task ReadKey_OnEventIngestion_IsTheSameInvalidApiKeyAnswerAsOnTheMappingApi()
    {
        using var response = await _client.PostAsync("/amplitude/2/httpapi", new StringContent(
            $$$"""{"api_key":"{{{server.ReadKey}}}","events":[{"device_id":"device-read","event_type":"e"}]}""", Encoding.UTF8, "application/json"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(400, (int)response.StatusCode);
        Assert.StartsWith("Invalid API key: ", body["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(404, (await _native.GetJsonAsync("/v1/resolve?type=device_id&value=device-read")).Status);
    }

    private async Task<(int Status, JsonNode? Body)> IdentifyAsync(string identification)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/amplitude/identify")
        {
            Content = new FormUrlEncodedContent([new("api_key", server.WriteKey), new("identification", identification)]),
        };
        var (status, body, _) = await _client.AmplitudeAsync(request);
        return (status, body);
    }

    /// <summary>The properties of the record that holds the identifier, by key (each property's value).</summary>
    private async Task<JsonObject> RecordPropertiesAsync(string type, string value)
    {
        var resolved = (await _native.GetJsonAsync($"/v1/resolve?type={type}&value={Uri.EscapeDataString(value)}")).Body!;
        var record = resolved.Value<long>("record_id");
        var profile = (await _native.GetJsonAsync($"/v1/profiles/{resolved.Value<long>("profile_id")}")).Body!;
        var properties = profile["records"]!.AsArray().Single(r => r!["record_id"]!.GetValue<long>() == record)!["properties"]!.AsObject();
        return new JsonObject(properties.Select(p => KeyValuePair.Create(p.Key, p.Value!["value"]?.DeepClone())));
    }

    [Fact]
    public async Task IdentifyApi_AppliesEveryOperation_ToTheUsersOwnRecord()
    {
        var user = Names.Unique("idn");
        var (first, _) = await IdentifyAsync($$$"""
            {"user_id":"{{{user}}}","platform":"iOS","user_properties":{"plan":"free","visits":1,"tags":["a"],"old":"x","kept":"k"}}
            """);
        Assert.Equal(200, first);

        var (status, body) = await IdentifyAsync("""
            [{"user_id":"@user@","user_properties":{
              "$set":{"plan":"pro"},"$setOnce":{"plan":"never","first_seen":"2026-01-01"},"$add":{"visits":2.5},
              "$append":{"tags":["b","a"]},"$prepend":{"tags":"z"},"$postInsert":{"tags":["b","c"]},"$unset":{"old":"-"}}},
             {"user_id":"@user@","user_properties":{"$remove":{"tags":"a"},"$preInsert":{"letters":["q"]}}}]
            """.Replace("@user@", user, StringComparison.Ordinal));

        Assert.Equal((200, 2), (status, body.Value<int>("identified")));
        var properties = await RecordPropertiesAsync("user_id", user);
        Assert.Equal("pro", properties["plan"]!.GetValue<string>());
        Assert.Equal("2026-01-01", properties["first_seen"]!.GetValue<string>());
        Assert.Equal(3.5m, properties["visits"]!.GetValue<decimal>());
        Assert.Equal(["z", "b", "c"], properties["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(["q"], properties["letters"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("iOS", properties["platform"]!.GetValue<string>());
        Assert.False(properties.ContainsKey("old"));

        await IdentifyAsync($$$"""{"user_id":"{{{user}}}","user_properties":{"$clearAll":"-"}}""");
        Assert.Empty(await RecordPropertiesAsync("user_id", user));
    }

    [Fact]
    public async Task IdentifyApi_UserIdOnAnAnonymousDevice_NamesThatRecord_AndMappedUsersKeepTheirOwnProperties()
    {
        var (device, user, global) = (Names.Unique("idd"), Names.Unique("idu"), Names.Unique("idg"));
        await IdentifyAsync("""{"device_id":"@device@","user_properties":{"$set":{"visits":1}}}""".Replace("@device@", device, StringComparison.Ordinal));
        await IdentifyAsync("""{"user_id":"@user@","device_id":"@device@","user_properties":{"$add":{"visits":1}}}""".Replace("@device@", device, StringComparison.Ordinal).Replace("@user@", user, StringComparison.Ordinal));
        var deviceProfile = (await _native.GetJsonAsync($"/v1/resolve?type=device_id&value={device}")).Body!;
        Assert.Equal(deviceProfile.Value<long>("record_id"), (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Body.Value<long>("record_id"));
        Assert.Equal(2, (await RecordPropertiesAsync("user_id", user))["visits"]!.GetValue<int>());

        // Mapped into a global user with visits of its own: an $add reads and writes the user's own record.
        await IdentifyAsync($$$"""{"user_id":"{{{global}}}","user_properties":{"visits":10}}""");
        await _client.MapInFormAsync($$$"""{"user_id":"{{{user}}}","global_user_id":"{{{global}}}"}""", server.WriteKey);
        await IdentifyAsync("""{"user_id":"@user@","user_properties":{"$add":{"visits":1}}}""".Replace("@user@", user, StringComparison.Ordinal));
        Assert.Equal(3, (await RecordPropertiesAsync("user_id", user))["visits"]!.GetValue<int>());
        Assert.Equal(10, (await RecordPropertiesAsync("user_id", global))["visits"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("""{"user_properties":{"a":1}}""", "identification.user_id")]
    [InlineData("""{"user_id":"idbad","user_properties":{"$set":{"a":1},"b":2}}""", "identification.user_properties")]
    [InlineData("""{"user_id":"idbad","user_properties":{"$merge":{"a":1}}}""", "identification.user_properties.$merge")]
    [InlineData("""{"user_id":"idbad","user_properties":{"$add":{"a":"one"}}}""", "identification.user_properties.$add.a")]
    [InlineData("""[{"user_id":"idbad"},{"device_id":7}]""", "identification[1].device_id")]
    public async Task IdentifyApi_BadIdentification_Is400NamingTheField_AndWritesNothing(string identification, string field)
    {
        var (status, body) = await IdentifyAsync(identification);

        Assert.Equal(400, status);
        Assert.Equal(field, body.Value<string>("field"));
        Assert.StartsWith("missing_event: ", body.Value<string>("error"), StringComparison.Ordinal);
        Assert.Equal(404, (await _native.GetJsonAsync("/v1/resolve?type=user_id&value=idbad")).Status);
    }

    [Fact]
    public async Task IdentifyApi_WithoutIdentification_IsMissingEvent()
    {
        var (status, body) = await IdentifyAsync("");
        Assert.Equal((400, "missing_event", "identification"), (status, body.Value<string>("error"), body.Value<string>("missing_field")));
    }

    [Fact]
    public async Task HttpApi_UserProperties_AreAppliedToTheUser_AndABadOperationMarksTheEvent()
    {
        var user = Names.Unique("evu");
        using var response = await _client.PostAsync("/amplitude/2/httpapi", new StringContent("""
            {"api_key":"@server.WriteKey@","events":[
              {"user_id":"@user@","event_type":"open","user_properties":{"plan":"pro"}},
              {"user_id":"@user@","event_type":"$identify","user_properties":{"$add":{"logins":1},"$setOnce":{"plan":"free"}}}]}
            """.Replace("@server.WriteKey@", server.WriteKey, StringComparison.Ordinal).Replace("@user@", user, StringComparison.Ordinal), Encoding.UTF8, "application/json"));
        Assert.Equal(200, (int)response.StatusCode);
        var properties = await RecordPropertiesAsync("user_id", user);
        Assert.Equal(("pro", 1), (properties["plan"]!.GetValue<string>(), properties["logins"]!.GetValue<int>()));

        using var bad = await _client.PostAsync("/amplitude/2/httpapi", new StringContent($$$"""
            {"api_key":"{{{server.WriteKey}}}","events":[{"user_id":"{{{user}}}","event_type":"e"},{"user_id":"{{{user}}}","event_type":"e","user_properties":{"$set":{"a":1},"b":1}}]}
            """, Encoding.UTF8, "application/json"));
        var body = JsonNode.Parse(await bad.Content.ReadAsStringAsync())!;
        Assert.Equal(400, (int)bad.StatusCode);
        Assert.Equal([1], body["events_with_invalid_fields"]!["user_properties"]!.AsArray().Select(i => i!.GetValue<int>()));
    }
}
