using System.Text.Json.Nodes;
using Selfsame.Server.Hosting;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.MoEngage;

/// <summary>A server whose default project is a MoEngage workspace, with one delete a minute.</summary>
public sealed class MoEngageDeleteLimitServer : RunningServer
{
    protected override SelfsameOptions Options(string data) => base.Options(data) with
    {
        RateLimits = new Dictionary<string, RateLimitRule> { ["moengage.delete"] = new("moengage.delete", 1, TimeSpan.FromHours(1)) },
    };

    /// <summary>A MoEngage client of the default project: Basic base64("default":admin key).</summary>
    public HttpClient MoEngage()
    {
        var client = Client(null);
        client.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"default:{AdminKey}")));
        return client;
    }
}

/// <summary>Where MoEngage's documents and Selfsame differed (issue 24).</summary>
public sealed class MoEngageFidelityTests(MoEngageDeleteLimitServer server) : IClassFixture<MoEngageDeleteLimitServer>
{
    [Fact]
    public async Task StandardAttributeKeys_AreStoredUnderTheirNames()
    {
        using var moengage = server.MoEngage();
        var customer = Names.Unique("std");
        var (status, _) = await moengage.MoEngageAsync("/customer/default",
            $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"u_em":"Ann@acme.com","u_mb":"+14155550123","u_n":"Ann Lee","u_fn":"Ann","u_ln":"Lee","u_gd":"F","u_bd":"1990-04-01T00:00:00Z"}}""");
        Assert.Equal(200, status);

        var user = (await moengage.ExportUserAsync("default", customer))!;

        Assert.Equal(("Ann@acme.com", "+14155550123", "Ann Lee", "Ann", "Lee", "F"),
            (user["email"]!.GetValue<string>(), user["mobile"]!.GetValue<string>(), user["name"]!.GetValue<string>(),
             user["first_name"]!.GetValue<string>(), user["last_name"]!.GetValue<string>(), user["gender"]!.GetValue<string>()));
        Assert.NotNull(user["birthday"]);
        Assert.Null(user["u_em"]);
        // The server's own times as the seed writes them, UTC to the second.
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", user["created_time"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", user["last_seen"]!.GetValue<string>());
    }

    [Fact]
    public async Task MoreThan256Attributes_LimitBreached_AndNothingWritten()
    {
        using var moengage = server.MoEngage();
        var customer = Names.Unique("wide");
        string Payload(int count) => "{\"type\":\"customer\",\"customer_id\":\"" + customer + "\",\"attributes\":{"
            + string.Join(",", Enumerable.Range(0, count).Select(i => $"\"a{i}\":{i}")) + "}}";

        var (status, body) = await moengage.MoEngageAsync("/customer/default", Payload(257));

        Assert.Equal(400, status);
        Assert.Equal(("LimitBreached", "attributes"), (body.ErrorType(), body["error"]!["attribute"]!.GetValue<string>()));
        Assert.Null(await moengage.ExportUserAsync("default", customer));
        var (fits, _) = await moengage.MoEngageAsync("/customer/default", Payload(256));
        Assert.Equal(200, fits);
    }

    [Fact]
    public async Task IdentityResolution_IsOneSetting_AndTheSeedExampleThenWorks()
    {
        using var moengage = server.MoEngage();
        using var admin = server.Client(server.AdminKey);
        var mobile = $"+1415{Random.Shared.Next(1000000, 9999999)}";
        var seed = $$$"""{"type": "customer","attributes": {"moe_mobile": "{{{mobile}}}","first_name": "John"}}""";
        var (off, offBody) = await moengage.MoEngageAsync("/customer/default", seed);
        Assert.Equal(400, off);
        Assert.Contains("identity_resolution", offBody.ErrorMessage(), StringComparison.Ordinal);

        var (put, _) = await admin.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"identity_resolution":true}"""));
        Assert.Equal(200, put);
        try
        {
            var (status, body) = await moengage.MoEngageAsync("/customer/default", seed);
            Assert.Equal(200, status);
            Assert.Equal("created", body["result"]!["action"]!.GetValue<string>());
            using var native = server.Client(server.ReadKey);
            Assert.Equal(200, (await native.GetJsonAsync($"/v1/resolve?type=phone&value={Uri.EscapeDataString(mobile)}")).Status);
        }
        finally
        {
            await admin.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("{}"));
        }
    }

    [Fact]
    public async Task Delete_OverItsLimit_Is429InTheDeleteApisOwnShape()
    {
        using var moengage = server.MoEngage();
        var body = """{"identity_type":"customer_id","identity_value":"nobody-429"}""";
        await moengage.MoEngageAsync("/customer/delete?app_id=default", body);

        var (status, answer) = await moengage.MoEngageAsync("/customer/delete?app_id=default", body);

        Assert.Equal(429, status);
        Assert.Equal("""{"status":"fail","title":"Rate limit exceeded","description":"Exceeded rate limit for this url"}""", answer.ToJsonString());
    }
}
