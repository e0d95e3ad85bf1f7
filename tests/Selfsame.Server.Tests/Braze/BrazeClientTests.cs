using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Braze;

/// <summary>The community Braze client for Node.js (braze-api), unchanged but for its base URL, against the real server.</summary>
public sealed class BrazeClientTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task BrazeApiClient_PointedAtSelfsame_AliasesIdentifiesMergesAndExports()
    {
        var prefix = Names.Unique("npm");
        var output = await NodeHarness.RunAsync("braze-client", "braze-api", "run.js", new Uri(server.BaseAddress, "/braze").ToString(), server.WriteKey, prefix);
        var results = JsonNode.Parse(output)!;

        Assert.Equal(1, results["aliasNew"]!["ok"]!["aliases_processed"]!.GetValue<int>());
        Assert.Equal(1, results["trackAlias"]!["ok"]!["attributes_processed"]!.GetValue<int>());
        Assert.Equal(1, results["trackUser"]!["ok"]!["events_processed"]!.GetValue<int>());
        Assert.Equal(1, results["identify"]!["ok"]!["aliases_processed"]!.GetValue<int>());
        Assert.Equal("success", results["merge"]!["ok"]!["message"]!.GetValue<string>());
        var export = results["export"]!["ok"]!;
        var user = Assert.Single(export["users"]!.AsArray())!;
        Assert.Equal($"{prefix}-user", user["external_id"]!.GetValue<string>());
        Assert.Equal($"{prefix}-visitor", user["user_aliases"]![0]!["alias_name"]!.GetValue<string>());
        Assert.Equal("pro", user.Attribute("plan"));
        Assert.Equal("red", user.Attribute("color"));
        Assert.Equal("Oslo", user.Attribute("city"));
        Assert.Equal($"{prefix}-nobody", export["invalid_user_ids"]![0]!.GetValue<string>());
        // The client turns a non-2xx answer into ResponseError(message, status): both must reach it.
        Assert.Equal(401, results["wrongKey"]!["error"]!["status"]!.GetValue<int>());
        Assert.Equal(400, results["tooMany"]!["error"]!["status"]!.GetValue<int>());
        Assert.Equal("The max number of external_ids and aliases per request was exceeded", results["tooMany"]!["error"]!["message"]!.GetValue<string>());
    }
}
