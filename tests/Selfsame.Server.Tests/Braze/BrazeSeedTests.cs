using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Braze;

/// <summary>The seed's own example request (../shared/seeds/004), sent verbatim, on a server of its own.</summary>
public sealed class BrazeSeedTests(RunningServer server) : IClassFixture<RunningServer>
{
    private const string SeedRequest = """
        {
          "user_aliases" :[
            {
              "external_id": "external_identifier",
              "alias_name" : "example_name",
              "alias_label" : "example_label"
            }
          ]
        }
        """;

    [Fact]
    public async Task AliasNew_SeedExample_AddsTheAliasToTheIdentifiedUserOnceAndRepeatsChangeNothing()
    {
        using var braze = server.Client(server.WriteKey);
        using var native = server.Client(server.ReadKey);

        // Before the user exists, the seed says the alias is added to no user.
        var (status, body, _) = await braze.BrazeAsync("/users/alias/new", SeedRequest);
        Assert.Equal(201, status);
        Assert.Equal(0, body["aliases_processed"]!.GetValue<int>());
        Assert.Contains("external_identifier", body["errors"]![0]!["type"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(404, (await native.GetJsonAsync("/v1/resolve?type=alias&label=example_label&name=example_name")).Status);

        Assert.Equal(201, (await braze.BrazeAsync("/users/track", """{"attributes":[{"external_id":"external_identifier","first_name":"Ada"}]}""")).Status);
        (status, body, _) = await braze.BrazeAsync("/users/alias/new", SeedRequest);
        Assert.Equal(201, status);
        Assert.Equal("""{"aliases_processed":1,"message":"success"}""", body.ToJsonString());
        var (_, resolved) = await native.GetJsonAsync("/v1/resolve?type=alias&label=example_label&name=example_name");
        Assert.Contains(resolved!["identifiers"]!.AsArray(), i => i!["type"]!.GetValue<string>() == "user_id" && i["value"]!.GetValue<string>() == "external_identifier");

        // The pair is in use now: the same request still counts as processed and changes nothing.
        var before = await native.AllIdentifiersAsync();
        (status, body, _) = await braze.BrazeAsync("/users/alias/new", SeedRequest);
        Assert.Equal("""{"aliases_processed":1,"message":"success"}""", body.ToJsonString());
        Assert.Equal(before, await native.AllIdentifiersAsync());
    }

    [Fact]
    public async Task AliasNew_SeedPairAlreadyHeldByAnotherUser_ChangesNothing()
    {
        using var braze = server.Client(server.WriteKey);
        using var native = server.Client(server.ReadKey);
        Assert.Equal(201, (await braze.BrazeAsync("/users/alias/new", """{"user_aliases":[{"alias_name":"shared_name","alias_label":"shared_label"}]}""")).Status);
        Assert.Equal(201, (await braze.BrazeAsync("/users/track", """{"attributes":[{"external_id":"someone_else","plan":"pro"}]}""")).Status);

        var (_, body, _) = await braze.BrazeAsync("/users/alias/new",
            """{"user_aliases":[{"external_id":"someone_else","alias_name":"shared_name","alias_label":"shared_label"}]}""");

        Assert.Equal(1, body["aliases_processed"]!.GetValue<int>());
        var (_, resolved) = await native.GetJsonAsync("/v1/resolve?type=alias&label=shared_label&name=shared_name");
        Assert.DoesNotContain(resolved!["identifiers"]!.AsArray(), i => i!["type"]!.GetValue<string>() == "user_id");
    }
}
