using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Guardrails;

/// <summary>Each vendor surface reports an identifier a guardrail dropped in its own shape, and applies the rest.</summary>
public sealed class DroppedIdentifierTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _native = server.Client(server.ReadKey);

    private async Task<int> ResolveAsync(string type, string value) => (await _native.GetJsonAsync($"/v1/resolve?type={type}&value={Uri.EscapeDataString(value)}")).Status;

    [Fact]
    public async Task Braze_Track_ListsTheDroppedEmailAsAMinorError_AndWritesTheRest()
    {
        using var braze = server.Client(server.WriteKey);
        var user = Names.Unique("braze");
        var (status, body, _) = await braze.BrazeAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","email":"noreply@acme.com","plan":"pro"}]}""");

        Assert.Equal(201, status);
        Assert.Equal("success", body["message"]!.GetValue<string>());
        var error = Assert.Single(body["errors"]!.AsArray())!;
        Assert.Contains("deny_list.noreply_email", error["type"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(("attributes", 0), (error["input_array"]!.GetValue<string>(), error["index"]!.GetValue<int>()));
        Assert.Equal("pro", (await braze.ExportAsync(user))["users"]![0].Attribute("plan"));
    }

    [Fact]
    public async Task Braze_Track_ByAJunkEmailAlone_IsAnErrorOfThatObject()
    {
        using var braze = server.Client(server.WriteKey);
        var (status, body, _) = await braze.BrazeAsync("/users/track", """{"attributes":[{"email":"test@test.com","_update_existing_only":false,"plan":"pro"}]}""");

        Assert.Equal(201, status);
        Assert.Contains("deny_list.placeholder_email", body["errors"]![0]!["type"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(404, await ResolveAsync("email", "test@test.com"));
    }

    [Fact]
    public async Task Userpilot_Identify_OfAJunkUserId_Is409InUserpilotsShape_NamingTheRule()
    {
        using var userpilot = server.Userpilot(server.WriteKey);
        var (status, body) = await userpilot.UserpilotAsync("/identify", """{"user_id":"nil","metadata":{"plan":"pro"}}""");

        Assert.Equal(409, status);
        Assert.Equal("user_id", body!["errors"]![0]!["details"]!.GetValue<string>());
        Assert.Contains("deny_list.placeholder_value", body.ErrorMessage(), StringComparison.Ordinal);
        Assert.Equal(404, await ResolveAsync("user_id", "nil"));
    }

    [Fact]
    public async Task Amplitude_HttpApi_IngestsTheEvent_AndNamesTheDroppedUserId()
    {
        using var client = server.Client(null);
        var device = Names.Unique("amp-device");
        var payload = $$"""{"api_key":"{{server.WriteKey}}","events":[{"user_id":"[object Object]","device_id":"{{device}}","event_type":"Opened"}]}""";
        using var response = await client.PostAsync("/amplitude/2/httpapi", new StringContent(payload, Encoding.UTF8, "application/json"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(1, body["events_ingested"]!.GetValue<int>());
        Assert.Equal("deny_list.placeholder_value", body["dropped_identifiers"]![0]!["rule"]!.GetValue<string>());
        Assert.Equal(200, await ResolveAsync("device_id", device));
        Assert.Equal(404, await ResolveAsync("user_id", "[object Object]"));
    }

    [Fact]
    public async Task Amplitude_UserMap_OfAJunkGlobalId_IsRefusedWithTheRule()
    {
        using var client = server.Client(null);
        var user = Names.Unique("amp-user");
        var (status, body, _) = await client.MapInQueryAsync($$"""[{"user_id":"{{user}}","global_user_id":"unknown"}]""", server.WriteKey);

        Assert.Equal(200, status);
        Assert.False(body.Value<bool>("success"));
        Assert.Equal("deny_list.placeholder_value", body.Value<string>("refused.0.rule"));
    }

    [Fact]
    public async Task Cooladata_Tracker_NamesTheJunkUserIdAmongTheInvalidEvents()
    {
        using var client = server.Client(null);
        var good = Names.Unique("cd-user");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var payload = $$$"""{"events":[{"event_name":"view","user_id":"{{{good}}}","event_timestamp_epoch":{{{now}}}},{"event_name":"view","user_id":"none","event_timestamp_epoch":{{{now}}}}]}""";
        using var content = new StringContent(Uri.EscapeDataString(payload), Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await client.PostAsync($"/cooladata/v3/{Uri.EscapeDataString(server.WriteKey)}/track", content);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(1, body["accepted"]!.GetValue<int>());
        var invalid = Assert.Single(body["invalid"]!.AsArray())!;
        Assert.Equal(1, invalid["index"]!.GetValue<int>());
        Assert.Contains("deny_list.placeholder_value", invalid["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}

/// <summary>MoEngage's identity resolution drops a junk mobile number and names it in the answer's result.</summary>
public sealed class MoEngageDroppedIdentifierTests(MoEngageServer server) : IClassFixture<MoEngageServer>
{
    [Fact]
    public async Task Customer_WithAJunkMobile_IsStored_AndTheResultNamesTheDroppedNumber()
    {
        using var moengage = server.MoEngage(MoEngageServer.ResolvingWorkspace, server.ResolvingKey);
        var customer = Names.Unique("moe");
        var (status, body) = await moengage.MoEngageAsync($"/customer/{MoEngageServer.ResolvingWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"moe_mobile":"+1 111 111 1111","plan":"pro"}}""");

        Assert.Equal(200, status);
        var refused = Assert.Single(body["result"]!["refused"]!.AsArray())!;
        Assert.Equal("deny_list.repeated_digit_phone", refused["rule"]!.GetValue<string>());
        Assert.Equal("created", body["result"]!["action"]!.GetValue<string>());
    }
}
