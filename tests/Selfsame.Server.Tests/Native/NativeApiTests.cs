using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Native;

public sealed class NativeApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _write = server.Client(server.WriteKey);
    private readonly HttpClient _read = server.Client(server.ReadKey);

    [Fact]
    public async Task Walkthrough_IdentifyLinkResolveExplainUnlink()
    {
        var (u1, u2) = (Names.Unique("u1"), Names.Unique("u2"));
        var email = $"{Names.Unique("a")}@x.com";
        var (s1, first) = await _write.PostAsync("/v1/identify", $$$"""{"user_id":"{{{u1}}}","identifiers":[{"type":"email","value":"{{{email.ToUpperInvariant()}}}"}],"properties":{"plan":"pro"}}""");
        var (s2, second) = await _write.PostAsync("/v1/identify", $$$"""{"user_id":"{{{u2}}}","identifiers":[{"type":"device_id","value":"{{{u2}}}-phone"}]}""");
        Assert.Equal((200, 200), (s1, s2));
        var p1 = first.Value<long>("profile_id");
        var p2 = second.Value<long>("profile_id");
        Assert.NotEqual(p1, p2);

        var (linkStatus, link) = await _write.PostAsync("/v1/link", $$$"""{"from":{"type":"user_id","value":"{{{u2}}}"},"into":{"type":"user_id","value":"{{{u1}}}"}}""");
        Assert.Equal(200, linkStatus);
        Assert.Equal(p1, link.Value<long>("profile_id"));
        Assert.Equal(p2, link!["merged_profile_ids"]!.AsArray().Single()!.GetValue<long>());

        var (resolveStatus, resolved) = await _read.GetJsonAsync($"/v1/resolve?type=device_id&value={u2}-phone");
        Assert.Equal(200, resolveStatus);
        Assert.Equal(p1, resolved.Value<long>("profile_id"));
        Assert.Contains(resolved!["identifiers"]!.AsArray(), i => i!["type"]!.GetValue<string>() == "email" && i["value"]!.GetValue<string>() == email);

        var (explainStatus, explained) = await _read.GetJsonAsync($"/v1/explain?from_type=device_id&from_value={u2}-phone&to_type=email&to_value={email}");
        Assert.Equal(200, explainStatus);
        Assert.True(explained.Value<bool>("joined"));
        Assert.Equal("link", explained.Value<string>("path.0.link.kind"));

        var (profileStatus, profile) = await _read.GetJsonAsync($"/v1/profiles/{p1}");
        Assert.Equal(200, profileStatus);
        Assert.Equal("pro", profile.Value<string>("properties.plan.value"));
        Assert.Equal(2, profile!["records"]!.AsArray().Count);

        var (unlinkStatus, unlinked) = await _write.PostAsync("/v1/unlink", $$$"""{"from":{"type":"user_id","value":"{{{u2}}}"},"into":{"type":"user_id","value":"{{{u1}}}"}}""");
        Assert.Equal(200, unlinkStatus);
        Assert.False(unlinked.Value<bool>("still_joined"));
        Assert.Equal(p2, (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={u2}")).Body.Value<long>("profile_id"));
        Assert.Equal(p1, (await _read.GetJsonAsync($"/v1/resolve?type=email&value={email}")).Body.Value<long>("profile_id"));
    }

    [Fact]
    public async Task Identify_ImplicitMergeRefused_SaysWhichIdentifierAndWhy()
    {
        var shared = $"{Names.Unique("s")}@x.com";
        await _write.PostAsync("/v1/identify", $$$"""{"user_id":"{{{Names.Unique("a")}}}","identifiers":[{"type":"email","value":"{{{shared}}}"}]}""");
        var (status, body) = await _write.PostAsync("/v1/identify", $$$"""{"user_id":"{{{Names.Unique("b")}}}","identifiers":[{"type":"email","value":"{{{shared}}}"}]}""");

        Assert.Equal(200, status);
        Assert.Equal("identifiers[0]", body.Value<string>("refused.0.field"));
        Assert.Contains("max_per_type.user_id", body.Value<string>("refused.0.reason"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_Unknown_Is404ProblemDetails()
    {
        using var response = await _read.GetAsync($"/v1/resolve?type=email&value={Names.Unique("n")}@x.com");
        Assert.Equal(404, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Profile_ByMergedAwayId_FindsTheProfileThatAbsorbedIt()
    {
        var (a, b) = (Names.Unique("a"), Names.Unique("b"));
        var older = (await _write.PostAsync("/v1/identify", $$$"""{"user_id":"{{{a}}}"}""")).Body.Value<long>("profile_id");
        var kept = (await _write.PostAsync("/v1/link", $$$"""{"from":{"type":"user_id","value":"{{{a}}}"},"into":{"type":"user_id","value":"{{{b}}}"}}""")).Body.Value<long>("profile_id");

        var (status, profile) = await _read.GetJsonAsync($"/v1/profiles/{older}");
        Assert.Equal(200, status);
        Assert.Equal(kept, profile.Value<long>("profile_id"));
        Assert.Equal(404, (await _read.GetJsonAsync("/v1/profiles/999999999")).Status);
    }

    [Fact]
    public async Task Batch_AppliesEachOperation_AndReportsFailuresPerOperation()
    {
        var (a, b) = (Names.Unique("a"), Names.Unique("b"));
        var (status, body) = await _write.PostAsync("/v1/batch", $$$"""
            {"operations":[
              {"op":"identify","user_id":"{{{a}}}"},
              {"op":"identify","user_id":17},
              {"op":"link","from":{"type":"user_id","value":"{{{b}}}"},"into":{"type":"user_id","value":"{{{a}}}"}},
              {"op":"unlink","from":{"type":"user_id","value":"{{{a}}}"},"into":{"type":"user_id","value":"{{{Names.Unique("none")}}}"}},
              {"op":"teleport"}
            ]}
            """);

        Assert.Equal(200, status);
        Assert.Equal(2, body.Value<int>("applied"));
        Assert.Equal(3, body.Value<int>("failed"));
        var results = body!["results"]!.AsArray();
        Assert.Equal([true, false, true, false, false], results.Select(r => r!["ok"]!.GetValue<bool>()));
        Assert.Equal("operations[1].user_id", results[1]!["error"]!["errors"]![0]!["field"]!.GetValue<string>());
        Assert.Equal(404, results[3]!["error"]!["status"]!.GetValue<int>());
        Assert.Equal(200, (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={b}")).Status);
    }

    [Fact]
    public async Task Delete_RecordAndProfile()
    {
        var (a, b) = (Names.Unique("a"), Names.Unique("b"));
        var link = (await _write.PostAsync("/v1/link", $$$"""{"from":{"type":"user_id","value":"{{{a}}}"},"into":{"type":"user_id","value":"{{{b}}}"}}""")).Body;
        var (recordStatus, deleted) = await _write.SendAsync(HttpMethod.Delete, $"/v1/records/{link.Value<long>("from_record_id")}");
        Assert.Equal(200, recordStatus);
        Assert.Single(deleted!["deleted_record_ids"]!.AsArray());
        Assert.Equal(404, (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={a}")).Status);

        Assert.Equal(200, (await _write.SendAsync(HttpMethod.Delete, $"/v1/profiles/{link.Value<long>("profile_id")}")).Status);
        Assert.Equal(404, (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={b}")).Status);
        Assert.Equal(404, (await _write.SendAsync(HttpMethod.Delete, $"/v1/profiles/{link.Value<long>("profile_id")}")).Status);
    }

    [Fact]
    public async Task Export_StreamsEveryProfileAsOneLine()
    {
        var (a, b, c) = (Names.Unique("a"), Names.Unique("b"), Names.Unique("c"));
        await _write.PostAsync("/v1/identify", $$$"""{"user_id":"{{{a}}}","properties":{"n":1}}""");
        await _write.PostAsync("/v1/link", $$$"""{"from":{"type":"user_id","value":"{{{b}}}"},"into":{"type":"user_id","value":"{{{c}}}"}}""");

        var lines = (await _read.GetStringAsync("/v1/export")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var profiles = lines.Select(l => JsonNode.Parse(l)!).ToList();

        Assert.Equal(profiles.Count, profiles.Select(p => p["profile_id"]!.GetValue<long>()).Distinct().Count());
        Assert.Contains(profiles, p => p["identifiers"]!.AsArray().Count == 2 && p["links"]!.AsArray().Count == 1 &&
                                       p["identifiers"]!.AsArray().Any(i => i!["value"]!.GetValue<string>() == b));
        Assert.Contains(profiles, p => p["identifiers"]!.AsArray().Any(i => i!["value"]!.GetValue<string>() == a));
    }

    [Fact]
    public async Task Health_AndOpenApi()
    {
        using var anonymous = server.Client(null);
        Assert.Equal(200, (await anonymous.GetJsonAsync("/healthz")).Status);
        Assert.Equal("ready", (await anonymous.GetJsonAsync("/readyz")).Body.Value<string>("status"));
        var (status, document) = await anonymous.GetJsonAsync("/openapi/v1.json");
        Assert.Equal(200, status);
        Assert.NotNull(document!["paths"]!["/v1/identify"]);
    }

    [Fact]
    public async Task OpenApi_DescribesEverySurface_WithWhereItsKeyGoes_AndItsErrorAnswers()
    {
        using var anonymous = server.Client(null);
        var document = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!;
        var paths = document["paths"]!.AsObject();
        var operations = paths.SelectMany(p => p.Value!.AsObject().Where(m => m.Key is "get" or "post" or "put" or "delete").Select(m => (Path: p.Key, Operation: m.Value!))).ToList();

        string Scheme(string path, string method = "post") =>
            Assert.Single(paths[path]![method]!["security"]!.AsArray()[0]!.AsObject()).Key;
        Assert.Equal("bearer", Scheme("/v1/identify"));
        Assert.Equal("bearer", Scheme("/braze/users/track"));
        Assert.Equal("api_key", Scheme("/amplitude/usermap"));
        Assert.Equal("basic_key_pair", Scheme("/amplitude/api/2/usermap", "get"));
        Assert.Equal("basic_workspace", Scheme("/moengage/v1/customer/{workspaceId}"));
        Assert.Equal("token", Scheme("/userpilot/v1/identify"));
        Assert.Equal("token", Scheme("/cooladata/api/v2/projects/{projectId}/users/identities"));
        Assert.Equal("basic_user_name", Scheme("/segment/v1/batch"));
        var schemes = document["components"]!["securitySchemes"]!;
        Assert.Equal("query", schemes["api_key"]!["in"]!.GetValue<string>());
        // Amplitude's ingestion reads its key from the JSON body alone, which no OpenAPI scheme can name: none is claimed.
        Assert.Null(paths["/amplitude/2/httpapi"]!["post"]!["security"]);
        Assert.Equal("basic", schemes["basic_workspace"]!["scheme"]!.GetValue<string>());
        foreach (var tag in new[] { "Identity", "Admin", "Amplitude", "Braze", "Cooladata", "MoEngage", "Userpilot", "Segment" })
        {
            Assert.Contains(operations, o => o.Operation["tags"]!.AsArray().Any(t => t!.GetValue<string>() == tag));
        }
        // Native failures are problem details, each status its own answer; a vendor's failures are its own shape.
        var link = paths["/v1/link"]!["post"]!["responses"]!;
        Assert.NotNull(link["409"]!["content"]!["application/problem+json"]);
        Assert.NotNull(paths["/v1/resolve"]!["get"]!["responses"]!["404"]);
        Assert.Contains("docs/braze.md", paths["/braze/users/track"]!["post"]!["responses"]!["default"]!["description"]!.GetValue<string>());
        Assert.NotNull(paths["/braze/users/track"]!["post"]!["responses"]!["201"]);
        // Only the endpoints that can refuse say 409, and only those that read a body say 413.
        Assert.Null(paths["/v1/identify"]!["post"]!["responses"]!["409"]);
        Assert.NotNull(paths["/v1/review/{id}/approve"]!["post"]!["responses"]!["409"]);
        Assert.NotNull(paths["/v1/identify"]!["post"]!["responses"]!["413"]);
        Assert.Null(paths["/v1/review/{id}/approve"]!["post"]!["responses"]!["413"]);
        Assert.NotNull(paths["/v1/identifiers"]!["delete"]!["responses"]!["404"]);
    }

    [Fact]
    public async Task OpenApi_MatchesTheCommittedDocument()
    {
        using var anonymous = server.Client(null);
        var served = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var committedPath = Path.Combine(Repository.Root(), "docs", "openapi.json");
        if (Environment.GetEnvironmentVariable("SELFSAME_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(committedPath, served + "\n");
        }
        Assert.True(File.Exists(committedPath), "docs/openapi.json is missing: run the tests once with SELFSAME_UPDATE_OPENAPI=1");
        Assert.Equal((await File.ReadAllTextAsync(committedPath)).TrimEnd(), served.TrimEnd());
    }
}
