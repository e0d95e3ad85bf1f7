using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Hosting;

/// <summary>One id per request: the client's X-Request-Id or a new one, returned on every answer and written everywhere alike.</summary>
public sealed class RequestIdTests(RunningServer server) : IClassFixture<RunningServer>
{
    private static string Header(HttpResponseMessage response) => Assert.Single(response.Headers.GetValues("X-Request-Id"));

    [Fact]
    public async Task Answer_WithoutAnIdSent_CarriesANewOne_AndErrorBodiesNameTheSameOne_OnEverySurface()
    {
        using var client = server.Client(server.WriteKey);
        using var ok = await client.PostAsync("/v1/identify", Http.Json($$"""{"user_id":"{{Names.Unique("u")}}"}"""));
        using var invalid = await client.PostAsync("/v1/identify", Http.Json("""{"user_id":42}"""));
        using var nowhere = await client.GetAsync("/nowhere");
        using var moengage = new HttpRequestMessage(HttpMethod.Post, "/moengage/v1/customer/default") { Content = Http.Json("""{"type":"customer"}""") };
        moengage.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"default:{server.WriteKey}")));
        using var moengageAnswer = await client.SendAsync(moengage);

        Assert.Equal(200, (int)ok.StatusCode);
        Assert.Equal(32, Header(ok).Length);
        Assert.NotEqual(Header(ok), Header(invalid));
        Assert.Equal(Header(invalid), JsonNode.Parse(await invalid.Content.ReadAsStringAsync())!["request_id"]!.GetValue<string>());
        var notFound = JsonNode.Parse(await nowhere.Content.ReadAsStringAsync())!;
        Assert.Equal(Header(nowhere), notFound["request_id"]!.GetValue<string>());
        Assert.Null(notFound["trace_id"]);
        Assert.Equal(Header(moengageAnswer), JsonNode.Parse(await moengageAnswer.Content.ReadAsStringAsync())!["error"]!["request_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task IdSentByTheClient_IsEchoed_AndRecordedOnTheLinkAndTheAuditEntry_WhileAnUnusableOneIsReplaced()
    {
        using var client = server.Client(server.WriteKey);
        var (from, into) = (Names.Unique("from"), Names.Unique("into"));
        using var link = new HttpRequestMessage(HttpMethod.Post, "/v1/link")
        {
            Content = Http.Json($$$"""{"from":{"type":"user_id","value":"{{{from}}}"},"into":{"type":"user_id","value":"{{{into}}}"}}"""),
            Headers = { { "X-Request-Id", "client-link-1" } },
        };
        using var linked = await client.SendAsync(link);
        using var unlink = new HttpRequestMessage(HttpMethod.Post, "/v1/unlink")
        {
            Content = Http.Json($$$"""{"from":{"type":"user_id","value":"{{{from}}}"},"into":{"type":"user_id","value":"{{{into}}}"}}"""),
            Headers = { { "X-Request-Id", "client-unlink-1" } },
        };
        using var unlinked = await client.SendAsync(unlink);
        using var spaced = new HttpRequestMessage(HttpMethod.Get, "/healthz") { Headers = { { "X-Request-Id", "two words" } } };
        using var replaced = await client.SendAsync(spaced);

        Assert.Equal("client-link-1", Header(linked));
        Assert.Equal("client-link-1", JsonNode.Parse(await linked.Content.ReadAsStringAsync())!["link"]!["request_id"]!.GetValue<string>());
        Assert.Equal("client-unlink-1", Header(unlinked));
        using var admin = server.Client(server.AdminKey);
        var audit = JsonNode.Parse(await admin.GetStringAsync("/v1/admin/audit?limit=50"))!["entries"]!.AsArray();
        Assert.Contains(audit, e => e!["action"]!.GetValue<string>() == "unlink" && e["request_id"]?.GetValue<string>() == "client-unlink-1");
        Assert.NotEqual("two words", Header(replaced));
        Assert.Equal(32, Header(replaced).Length);
    }
}
