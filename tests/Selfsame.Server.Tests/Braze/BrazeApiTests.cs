using System.Text.Json.Nodes;
using Selfsame.Keys;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Braze;

public sealed class BrazeApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private HttpClient Braze() => server.Client(server.WriteKey);

    private static string Alias(string name, string label = "web") => $$"""{"alias_name":"{{name}}","alias_label":"{{label}}"}""";

    [Fact]
    public async Task Identify_AliasOnlyUserIntoIdentifiedUser_FoldsItKeepingTheIdentifiedValues()
    {
        using var braze = Braze();
        var visitor = Names.Unique("visitor");
        var user = Names.Unique("user");
        Assert.Equal(201, (await braze.BrazeAsync("/users/alias/new", $$"""{"user_aliases":[{{Alias(visitor)}}]}""")).Status);
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","plan":"pro"}]}""");
        // The anonymous user's values are written last: the identified user's must still win.
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"user_alias":{{Alias(visitor)}},"_update_existing_only":false,"plan":"trial","color":"red"}]}""");

        var (status, body, _) = await braze.BrazeAsync("/users/identify",
            $$"""{"aliases_to_identify":[{"external_id":"{{user}}","user_alias":{{Alias(visitor)}}}]}""");

        Assert.Equal(201, status);
        Assert.Equal("""{"aliases_processed":1,"message":"success"}""", body.ToJsonString());
        var exported = (await braze.ExportAsync(user))["users"]!.AsArray();
        var single = Assert.Single(exported)!;
        Assert.Equal(user, single["external_id"]!.GetValue<string>());
        Assert.Equal(visitor, single["user_aliases"]![0]!["alias_name"]!.GetValue<string>());
        Assert.Equal("pro", single.Attribute("plan"));
        Assert.Equal("red", single.Attribute("color"));
    }

    [Fact]
    public async Task Identify_NoUserHasTheExternalId_GivesItToTheAnonymousProfile()
    {
        using var braze = Braze();
        using var native = server.Client(server.ReadKey);
        var visitor = Names.Unique("visitor");
        var user = Names.Unique("user");
        await braze.SucceedsAsync("/users/alias/new", $$"""{"user_aliases":[{{Alias(visitor)}}]}""");
        var (_, before) = await native.GetJsonAsync($"/v1/resolve?type=alias&label=web&name={visitor}");

        var (_, body, _) = await braze.BrazeAsync("/users/identify", $$"""{"aliases_to_identify":[{"external_id":"{{user}}","user_alias":{{Alias(visitor)}}}]}""");

        Assert.Equal(1, body["aliases_processed"]!.GetValue<int>());
        var (_, after) = await native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}");
        Assert.Equal(before.Value<long>("profile_id"), after.Value<long>("profile_id"));
        Assert.Equal(2, after!["identifiers"]!.AsArray().Count);
    }

    [Fact]
    public async Task Identify_UserAlreadyHasAnAliasOfThatLabel_DoesNotCombine()
    {
        using var braze = Braze();
        using var native = server.Client(server.ReadKey);
        var user = Names.Unique("user");
        var first = Names.Unique("first");
        var second = Names.Unique("second");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","plan":"pro"}]}""");
        Assert.Equal(1, (await braze.BrazeAsync("/users/alias/new", $$"""{"user_aliases":[{"external_id":"{{user}}",{{Alias(first)[1..^1]}}}]}""")).Body["aliases_processed"]!.GetValue<int>());
        await braze.SucceedsAsync("/users/alias/new", $$"""{"user_aliases":[{{Alias(second)}}]}""");

        var (status, body, _) = await braze.BrazeAsync("/users/identify", $$"""{"aliases_to_identify":[{"external_id":"{{user}}","user_alias":{{Alias(second)}}}]}""");

        Assert.Equal(201, status);
        Assert.Equal(0, body["aliases_processed"]!.GetValue<int>());
        Assert.Contains("one alias per label", body["errors"]![0]!["type"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("aliases_to_identify", body["errors"]![0]!["input_array"]!.GetValue<string>());
        var (_, userProfile) = await native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}");
        var (_, secondProfile) = await native.GetJsonAsync($"/v1/resolve?type=alias&label=web&name={second}");
        Assert.NotEqual(userProfile.Value<long>("profile_id"), secondProfile.Value<long>("profile_id"));
    }

    [Fact]
    public async Task AliasNew_UnknownExternalId_AddsTheAliasToNobody()
    {
        using var braze = Braze();
        using var native = server.Client(server.ReadKey);
        var alias = Names.Unique("alias");
        var (status, body, _) = await braze.BrazeAsync("/users/alias/new", $$"""{"user_aliases":[{"external_id":"{{Names.Unique("nobody")}}",{{Alias(alias)[1..^1]}}}]}""");

        Assert.Equal(201, status);
        Assert.Equal(0, body["aliases_processed"]!.GetValue<int>());
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=alias&label=web&name={alias}")).Status);
    }

    [Fact]
    public async Task AliasNew_51Aliases_RefusedWholeWithBrazesMessage()
    {
        using var braze = Braze();
        using var native = server.Client(server.ReadKey);
        var prefix = Names.Unique("bulk");
        var aliases = string.Join(",", Enumerable.Range(0, 51).Select(i => Alias($"{prefix}-{i}")));

        var (status, body, _) = await braze.BrazeAsync("/users/alias/new", $$"""{"user_aliases":[{{aliases}}]}""");

        Assert.Equal(400, status);
        Assert.Equal("The max number of external_ids and aliases per request was exceeded", body["message"]!.GetValue<string>());
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=alias&label=web&name={prefix}-0")).Status);
    }

    [Fact]
    public async Task Merge_ThenExportOfBothIdentifiers_FindsOneUserWithTheKeptValuesAndTheGapsFilled()
    {
        using var braze = Braze();
        var keep = Names.Unique("keep");
        var merge = Names.Unique("merge");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{keep}}","first_name":"Kept","plan":"pro"}]}""");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{merge}}","first_name":"Merged","city":"Oslo"}]}""");

        var (status, body, _) = await braze.BrazeAsync("/users/merge",
            $$$"""{"merge_updates":[{"identifier_to_merge":{"external_id":"{{{merge}}}"},"identifier_to_keep":{"external_id":"{{{keep}}}"}}]}""");

        Assert.Equal(202, status);
        Assert.Equal("""{"message":"success"}""", body.ToJsonString());
        var export = await braze.ExportAsync(merge, keep);
        var user = Assert.Single(export["users"]!.AsArray())!;
        Assert.Empty(export["invalid_user_ids"]!.AsArray());
        Assert.Equal(keep, user["external_id"]!.GetValue<string>());
        Assert.Equal("Kept", user["first_name"]!.GetValue<string>());
        Assert.Equal("Oslo", user.Attribute("city"));
        Assert.Equal("pro", user.Attribute("plan"));
    }

    [Fact]
    public async Task Merge_UndoneOnTheNativeApi_ExportFindsTwoUsersAgain()
    {
        using var braze = Braze();
        using var native = server.Client(server.WriteKey);
        var keep = Names.Unique("keep");
        var merge = Names.Unique("merge");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{keep}}","plan":"pro"}]}""");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{merge}}","plan":"free"}]}""");
        await braze.SucceedsAsync("/users/merge", $$$"""{"merge_updates":[{"identifier_to_merge":{"external_id":"{{{merge}}}"},"identifier_to_keep":{"external_id":"{{{keep}}}"}}]}""");

        var (status, _) = await native.PostAsync("/v1/unlink", $$$"""{"from":{"type":"user_id","value":"{{{merge}}}"},"into":{"type":"user_id","value":"{{{keep}}}"}}""");

        Assert.Equal(200, status);
        var users = (await braze.ExportAsync(merge, keep))["users"]!.AsArray();
        Assert.Equal(2, users.Count);
        Assert.Equal("free", users.Single(u => u!["external_id"]!.GetValue<string>() == merge).Attribute("plan"));
    }

    [Theory]
    [InlineData("""{"merge_updates":{"identifier_to_merge":{"external_id":"a"}}}""", "'merge_updates' must be an array of objects")]
    [InlineData("""{"merge_updates":[{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"external_id":"b"},"extra":1}]}""",
        "'merge_updates' must only have 'identifier_to_merge' and 'identifier_to_keep'")]
    [InlineData("""{"merge_updates":[{"identifier_to_merge":{"external_id":5},"identifier_to_keep":{"external_id":"b"}}]}""",
        "identifiers must be objects with an 'external_id' property that is a string, or 'user_alias' property that is an object")]
    [InlineData("""{"merge_updates":[{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"user_alias":{"alias_name":"n","alias_label":"l"}}}]}""",
        "identifiers must be objects of the same type")]
    public async Task Merge_MalformedRequest_400WithBrazesExactMessage(string request, string message)
    {
        using var braze = Braze();
        var (status, body, _) = await braze.BrazeAsync("/users/merge", request);
        Assert.Equal(400, status);
        Assert.Equal(message, body["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Merge_51Updates_400WithBrazesExactMessageAndNothingMerged()
    {
        using var braze = Braze();
        var prefix = Names.Unique("m");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{prefix}}-a","x":1},{"external_id":"{{prefix}}-b","x":2}]}""");
        var updates = string.Join(",", Enumerable.Range(0, 51).Select(_ =>
            $$$"""{"identifier_to_merge":{"external_id":"{{{prefix}}}-a"},"identifier_to_keep":{"external_id":"{{{prefix}}}-b"}}"""));

        var (status, body, _) = await braze.BrazeAsync("/users/merge", $$"""{"merge_updates":[{{updates}}]}""");

        Assert.Equal(400, status);
        Assert.Equal("a single request may not contain more than 50 merge updates", body["message"]!.GetValue<string>());
        Assert.Equal(2, (await braze.ExportAsync($"{prefix}-a", $"{prefix}-b"))["users"]!.AsArray().Count);
    }

    [Fact]
    public async Task Delete_ThenExport_TheUserIsInvalid()
    {
        using var braze = Braze();
        var user = Names.Unique("gone");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","plan":"pro"}]}""");

        var (status, body, _) = await braze.BrazeAsync("/users/delete", $$"""{"external_ids":["{{user}}","{{Names.Unique("never")}}"]}""");

        Assert.Equal(201, status);
        Assert.Equal(1, body["deleted"]!.GetValue<int>());
        var export = await braze.ExportAsync(user);
        Assert.Empty(export["users"]!.AsArray());
        Assert.Equal(user, export["invalid_user_ids"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Delete_TwoKindsOfIdsInOneRequest_Refused()
    {
        using var braze = Braze();
        var (status, body, _) = await braze.BrazeAsync("/users/delete", """{"external_ids":["a"],"braze_ids":["1"]}""");
        Assert.Equal(400, status);
        Assert.Contains("exactly one of", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Track_AttributesEventsAndPurchases_CountedAndExported()
    {
        using var braze = Braze();
        var user = Names.Unique("shopper");
        var (status, body, _) = await braze.BrazeAsync("/users/track", $$$"""
            {"attributes":[{"external_id":"{{{user}}}","email":"Shopper@Acme.com","visits":{"inc":2},"tags":["a","b","a"]},
                           {"external_id":"{{{user}}}","visits":{"inc":3},"tags":{"add":["c"],"remove":["a"]}}],
             "events":[{"external_id":"{{{user}}}","name":"viewed","time":"2026-11-01T10:00:00Z"},
                       {"external_id":"{{{user}}}","name":"viewed","time":"2026-11-03T10:00:00Z","properties":{"page":"/home"}}],
             "purchases":[{"external_id":"{{{user}}}","product_id":"book","currency":"USD","price":12.5,"quantity":2,"time":"2026-11-02T10:00:00Z"}]}
            """);

        Assert.Equal(201, status);
        Assert.Equal(2, body["attributes_processed"]!.GetValue<int>());
        Assert.Equal(2, body["events_processed"]!.GetValue<int>());
        Assert.Equal(1, body["purchases_processed"]!.GetValue<int>());
        var exported = (await braze.ExportAsync(user))["users"]![0]!;
        Assert.Equal("Shopper@Acme.com", exported["email"]!.GetValue<string>());
        Assert.Equal(5, exported["custom_attributes"]!["visits"]!.GetValue<int>());
        Assert.Equal("""["b","c"]""", exported["custom_attributes"]!["tags"]!.ToJsonString());
        var viewed = exported["custom_events"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "viewed")!;
        Assert.Equal(2, viewed["count"]!.GetValue<int>());
        // Times as the vendors' documents write them, UTC to the second.
        Assert.Equal("2026-11-01T10:00:00Z", viewed["first"]!.GetValue<string>());
        Assert.Equal("book", exported["purchases"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("2026-11-02T10:00:00Z", exported["purchases"]![0]!["last"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", exported["created_at"]!.GetValue<string>());
        Assert.Equal(25m, exported["total_revenue"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Track_NullAttribute_RemovesIt()
    {
        using var braze = Braze();
        var user = Names.Unique("user");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","plan":"pro","color":"red"}]}""");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","plan":null}]}""");

        var attributes = (await braze.ExportAsync(user))["users"]![0]!["custom_attributes"]!.AsObject();
        Assert.False(attributes.ContainsKey("plan"));
        Assert.Equal("red", attributes["color"]!.GetValue<string>());
    }

    [Fact]
    public async Task Track_AliasWithoutUpdateExistingOnlyFalse_CreatesNobodyAndSaysSo()
    {
        using var braze = Braze();
        using var native = server.Client(server.ReadKey);
        var alias = Names.Unique("alias");

        var (status, body, _) = await braze.BrazeAsync("/users/track", $$"""{"attributes":[{"user_alias":{{Alias(alias)}},"plan":"trial"}]}""");

        Assert.Equal(201, status);
        Assert.Equal(0, body["attributes_processed"]!.GetValue<int>());
        Assert.Equal("attributes", body["errors"]![0]!["input_array"]!.GetValue<string>());
        Assert.Contains("_update_existing_only", body["errors"]![0]!["type"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=alias&label=web&name={alias}")).Status);
    }

    [Fact]
    public async Task Track_76Events_MaxInputLengthExceededAndNothingStored()
    {
        using var braze = Braze();
        using var native = server.Client(server.ReadKey);
        var user = Names.Unique("user");
        var events = string.Join(",", Enumerable.Range(0, 76).Select(_ => $$"""{"external_id":"{{user}}","name":"e","time":"2026-11-01T10:00:00Z"}"""));

        var (status, body, _) = await braze.BrazeAsync("/users/track", $$"""{"events":[{{events}}]}""");

        Assert.Equal(400, status);
        Assert.Equal("Max Input Length Exceeded", body["message"]!.GetValue<string>());
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Status);
    }

    [Fact]
    public async Task Track_OneMalformedObject_RefusesTheWholeRequestNamingTheField()
    {
        using var braze = Braze();
        using var native = server.Client(server.ReadKey);
        var user = Names.Unique("user");

        var (status, body, _) = await braze.BrazeAsync("/users/track",
            $$"""{"attributes":[{"external_id":"{{user}}","plan":"pro"}],"events":[{"external_id":"{{user}}","name":"e","time":"yesterday"}]}""");

        Assert.Equal(400, status);
        Assert.StartsWith("events[0].time", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Status);
    }

    [Fact]
    public async Task AliasUpdate_RenamesTheAlias()
    {
        using var braze = Braze();
        using var native = server.Client(server.ReadKey);
        var old = Names.Unique("old");
        var renamed = Names.Unique("new");
        await braze.SucceedsAsync("/users/alias/new", $$"""{"user_aliases":[{{Alias(old)}}]}""");
        var (_, before) = await native.GetJsonAsync($"/v1/resolve?type=alias&label=web&name={old}");

        var (status, body, _) = await braze.BrazeAsync("/users/alias/update",
            $$"""{"alias_updates":[{"alias_label":"web","old_alias_name":"{{old}}","new_alias_name":"{{renamed}}"}]}""");

        Assert.Equal(201, status);
        Assert.Null(body["errors"]);
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=alias&label=web&name={old}")).Status);
        var (_, after) = await native.GetJsonAsync($"/v1/resolve?type=alias&label=web&name={renamed}");
        Assert.Equal(before.Value<long>("profile_id"), after.Value<long>("profile_id"));
    }

    [Fact]
    public async Task ExternalIdsRename_TheNewIdFindsTheUser()
    {
        using var braze = Braze();
        var old = Names.Unique("old");
        var renamed = Names.Unique("new");
        var taken = Names.Unique("taken");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{old}}","plan":"pro"},{"external_id":"{{taken}}","plan":"free"}]}""");

        var (status, body, _) = await braze.BrazeAsync("/users/external_ids/rename", $$"""
            {"external_id_renames":[{"current_external_id":"{{old}}","new_external_id":"{{renamed}}"},
                                    {"current_external_id":"{{taken}}","new_external_id":"{{renamed}}"}]}
            """);

        Assert.Equal(201, status);
        Assert.Equal(old, body["external_ids"]!.AsArray().Single()!.GetValue<string>());
        Assert.Equal(taken, body["rename_errors"]![0]![0]!.GetValue<string>());
        var export = await braze.ExportAsync(renamed);
        Assert.Equal("pro", export["users"]![0].Attribute("plan"));
    }

    [Fact]
    public async Task ExternalIdsRename_TheDeprecatedIdStillNamesTheUser_UntilItIsRemoved()
    {
        using var braze = Braze();
        var (old, renamed) = (Names.Unique("old"), Names.Unique("new"));
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{old}}","plan":"pro"}]}""");
        await braze.SucceedsAsync("/users/external_ids/rename", $$"""{"external_id_renames":[{"current_external_id":"{{old}}","new_external_id":"{{renamed}}"}]}""");

        // A legacy app still sending the old id updates the renamed user, and an export by the old id finds it.
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{old}}","seat":"12A"}]}""");
        var byOld = (await braze.ExportAsync(old))["users"]!.AsArray();
        var user = Assert.Single(byOld)!;
        Assert.Equal(renamed, user["external_id"]!.GetValue<string>());
        Assert.Equal("12A", user.Attribute("seat"));
        Assert.Equal("pro", user.Attribute("plan"));
        using var native = server.Client(server.ReadKey);
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={old}")).Status);

        await braze.SucceedsAsync("/users/external_ids/remove", $$"""{"external_ids":["{{old}}"]}""");

        // Removed, the old id is a new user's again.
        var after = await braze.ExportAsync(old);
        Assert.Equal(old, after["invalid_user_ids"]![0]!.GetValue<string>());
        Assert.Equal("12A", (await braze.ExportAsync(renamed))["users"]![0].Attribute("seat"));
    }

    [Fact]
    public async Task Permissions_KeyLimitedToAliasNew_MayCreateAliasesButNotMerge()
    {
        var key = await server.KeyWithAsync(Roles.Write, "users.alias.new");
        using var braze = server.Client(key);

        Assert.Equal(201, (await braze.BrazeAsync("/users/alias/new", $$"""{"user_aliases":[{{Alias(Names.Unique("ok"))}}]}""")).Status);
        var (status, body, _) = await braze.BrazeAsync("/users/merge",
            """{"merge_updates":[{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"external_id":"b"}}]}""");

        Assert.Equal(403, status);
        Assert.Equal("Access Denied: this key does not hold the users.merge permission", body["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Permissions_ReadKeyExportsButCannotTrack()
    {
        using var braze = server.Client(server.ReadKey);
        Assert.Equal(201, (await braze.BrazeAsync("/users/export/ids", """{"external_ids":["x"]}""")).Status);
        var (status, body, _) = await braze.BrazeAsync("/users/track", """{"attributes":[{"external_id":"x","a":1}]}""");
        Assert.Equal(403, status);
        Assert.StartsWith("Access Denied", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer ss_000000000000_wrong")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task Keys_MissingOrWrong_401AsJsonWithMessage(string? authorization)
    {
        using var client = server.Client(null);
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }
        var (status, body, response) = await client.BrazeAsync("/users/alias/new", """{"user_aliases":[]}""");
        Assert.Equal(401, status);
        Assert.NotEmpty(body["message"]!.GetValue<string>());
        Assert.False(response.Headers.Contains("X-RateLimit-Limit"));
    }

    [Fact]
    public async Task Answers_CarryRateLimitHeaders()
    {
        using var braze = Braze();
        var (_, _, response) = await braze.BrazeAsync("/users/alias/new", $$"""{"user_aliases":[{{Alias(Names.Unique("h"))}}]}""");
        Assert.Equal("20000", response.Headers.GetValues("X-RateLimit-Limit").Single());
        Assert.True(int.Parse(response.Headers.GetValues("X-RateLimit-Remaining").Single(), System.Globalization.CultureInfo.InvariantCulture) < 20000);
        var reset = long.Parse(response.Headers.GetValues("X-RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(reset - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 0, 61);
    }

    [Fact]
    public async Task Merge_WrittenToTheAuditLogWithTheBrazeSurface()
    {
        using var braze = Braze();
        using var admin = server.Client(server.AdminKey);
        var keep = Names.Unique("keep");
        var merge = Names.Unique("merge");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{keep}}","a":1},{"external_id":"{{merge}}","a":2}]}""");
        var request = new HttpRequestMessage(HttpMethod.Post, "/braze/users/merge")
        {
            Content = Http.Json($$$"""{"merge_updates":[{"identifier_to_merge":{"external_id":"{{{merge}}}"},"identifier_to_keep":{"external_id":"{{{keep}}}"}}]}"""),
        };
        var requestId = Names.Unique("req");
        request.Headers.Add("X-Request-Id", requestId);
        Assert.Equal(202, (int)(await braze.SendAsync(request)).StatusCode);

        var (_, audit) = await admin.GetJsonAsync("/v1/admin/audit?limit=100");
        var entry = audit!["entries"]!.AsArray().First(e => e!["request_id"]?.GetValue<string>() == requestId)!;
        Assert.Equal("merge", entry["action"]!.GetValue<string>());
        Assert.Equal("braze", entry["surface"]!.GetValue<string>());
        Assert.Equal("merge", entry["detail"]!["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task Merge_ByAliasesOnNonRootRecords_TheKeptUserStillWins()
    {
        using var braze = Braze();
        var (a, b) = (Names.Unique("a"), Names.Unique("b"));
        var (v, w) = (Names.Unique("v"), Names.Unique("w"));
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{a}}","first_name":"A"},{"external_id":"{{b}}","first_name":"B"}]}""");
        await braze.SucceedsAsync("/users/alias/new", $$"""{"user_aliases":[{{Alias(v)}}]}""");
        await braze.SucceedsAsync("/users/identify", $$"""{"aliases_to_identify":[{"external_id":"{{a}}","user_alias":{{Alias(v)}}}]}""");
        await braze.SucceedsAsync("/users/alias/new", $$"""{"user_aliases":[{"external_id":"{{b}}",{{Alias(w)[1..^1]}}}]}""");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{a}}","first_name":"A2"}]}""");

        await braze.SucceedsAsync("/users/merge", $$$"""{"merge_updates":[{"identifier_to_merge":{"user_alias":{{{Alias(v)}}}},"identifier_to_keep":{"user_alias":{{{Alias(w)}}}}}]}""");

        var user = Assert.Single((await braze.ExportAsync(a, b))["users"]!.AsArray())!;
        Assert.Equal(b, user["external_id"]!.GetValue<string>());
        Assert.Equal("B", user["first_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Track_IncrementBeyondTheLargestNumber_FailsThatObjectAloneWithoutA500()
    {
        using var braze = Braze();
        var user = Names.Unique("big");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","n":1e300,"m":79228162514264337593543950335}]}""");

        var (status, body, _) = await braze.BrazeAsync("/users/track",
            $$$"""{"attributes":[{"external_id":"{{{user}}}","n":{"inc":1}},{"external_id":"{{{user}}}","m":{"inc":1}},{"external_id":"{{{user}}}","k":{"inc":2}}]}""");

        Assert.Equal(201, status);
        Assert.Equal(1, body["attributes_processed"]!.GetValue<int>());
        Assert.Equal([0, 1], body["errors"]!.AsArray().Select(e => e!["index"]!.GetValue<int>()));
        Assert.Equal(2, (await braze.ExportAsync(user))["users"]![0]!["custom_attributes"]!["k"]!.GetValue<int>());
    }

    [Fact]
    public async Task Track_PurchaseWithAnAbsurdPrice_Refused()
    {
        using var braze = Braze();
        var (status, body, _) = await braze.BrazeAsync("/users/track",
            $$"""{"purchases":[{"external_id":"{{Names.Unique("p")}}","product_id":"x","currency":"USD","price":79228162514264337593543950335,"quantity":2,"time":"2026-11-01T10:00:00Z"}]}""");
        Assert.Equal(400, status);
        Assert.StartsWith("purchases[0].price", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Track_EmailAttribute_ReplacesTheUsersEmail_AndNullRemovesIt()
    {
        using var braze = Braze();
        var user = Names.Unique("mail");
        var (first, second) = ($"{Names.Unique("first")}@acme.com", $"{Names.Unique("second")}@acme.com");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","email":"{{first}}"}]}""");
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","email":"{{second}}"}]}""");

        Assert.Equal(second, (await braze.ExportAsync(user))["users"]![0]!["email"]!.GetValue<string>());
        var (_, byOld, _) = await braze.BrazeAsync("/users/export/ids", $$"""{"email_address":"{{first}}"}""");
        Assert.Empty(byOld["users"]!.AsArray());

        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","email":null}]}""");
        Assert.Null((await braze.ExportAsync(user))["users"]![0]!["email"]);
    }

    [Fact]
    public async Task Export_ASingleIdentifierWithOthers_Refused()
    {
        using var braze = Braze();
        var (status, _, _) = await braze.BrazeAsync("/users/export/ids", """{"external_ids":["a"],"braze_id":"1"}""");
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Identify_OnlyEmails_StillAnswersAliasesProcessed()
    {
        using var braze = Braze();
        var (status, body, _) = await braze.BrazeAsync("/users/identify",
            $$"""{"emails_to_identify":[{"external_id":"{{Names.Unique("u")}}","email":"{{Names.Unique("e")}}@acme.com","prioritization":["unidentified"]}]}""");
        Assert.Equal(201, status);
        Assert.Equal(0, body["aliases_processed"]!.GetValue<int>());
        Assert.Equal(1, body["emails_processed"]!.GetValue<int>());
    }

    [Fact]
    public async Task UnknownBrazePath_404AsJsonWithMessage()
    {
        using var braze = Braze();
        var (status, _, _) = await braze.BrazeAsync("/users/track/bulk", "{}");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task WrongMethod_Is405WithAllow_InBrazesEnvelope()
    {
        using var braze = Braze();
        using var response = await braze.GetAsync("/braze/users/track");
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(405, (int)response.StatusCode);
        Assert.Equal("POST", response.Content.Headers.Allow.Single());
        Assert.StartsWith("Method Not Allowed", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SharedEmail_TheSecondUserKeepsItAsAnAttribute_WithoutAMerge()
    {
        using var braze = Braze();
        var (first, second) = (Names.Unique("share-a"), Names.Unique("share-b"));
        var email = $"{Names.Unique("family")}@acme.com";
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{first}}","email":"{{email}}"}]}""");

        var (status, answer, _) = await braze.BrazeAsync("/users/track", $$"""{"attributes":[{"external_id":"{{second}}","email":"{{email}}","plan":"pro"}]}""");

        Assert.Equal(201, status);
        Assert.Equal("success", answer["message"]!.GetValue<string>());
        Assert.Contains("email attribute only", answer["errors"]!.ToJsonString(), StringComparison.Ordinal);
        var users = (await braze.ExportAsync(first, second))["users"]!.AsArray();
        Assert.Equal(2, users.Count);
        Assert.All(users, u => Assert.Equal(email, u!["email"]!.GetValue<string>()));
        Assert.Equal("pro", users.Single(u => u!["external_id"]!.GetValue<string>() == second).Attribute("plan"));
        using var native = server.Client(server.ReadKey);
        var owner = (await native.GetJsonAsync($"/v1/resolve?type=email&value={Uri.EscapeDataString(email)}")).Body.Value<long>("profile_id");
        Assert.Equal(owner, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={first}")).Body.Value<long>("profile_id"));
        Assert.NotEqual(owner, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={second}")).Body.Value<long>("profile_id"));

        // An email of its own later: the identifier replaces the kept attribute.
        var own = $"{Names.Unique("own")}@acme.com";
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{second}}","email":"{{own}}"}]}""");
        var after = (await braze.ExportAsync(second))["users"]![0]!;
        Assert.Equal(own, after["email"]!.GetValue<string>());
        Assert.Null(after["custom_attributes"]!["email"]);
    }

    [Fact]
    public async Task ExternalIdsRemove_RemovesTheFormerIdsOfRenamedUsers_AndRefusesCurrentOnes()
    {
        using var braze = Braze();
        var (old, renamed, current) = (Names.Unique("old-id"), Names.Unique("new-id"), Names.Unique("cur-id"));
        await braze.SucceedsAsync("/users/track", $$"""{"attributes":[{"external_id":"{{old}}","plan":"pro"},{"external_id":"{{current}}"}]}""");
        await braze.SucceedsAsync("/users/external_ids/rename", $$"""{"external_id_renames":[{"current_external_id":"{{old}}","new_external_id":"{{renamed}}"}]}""");
        using var native = server.Client(server.ReadKey);
        var deprecated = $"/v1/resolve?type=alias&label=braze_deprecated_external_id&name={Uri.EscapeDataString(old)}";
        var user = (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={renamed}")).Body.Value<long>("profile_id");
        Assert.Equal(user, (await native.GetJsonAsync(deprecated)).Body.Value<long>("profile_id"));
        Assert.Empty((await braze.ExportAsync(renamed))["users"]![0]!["user_aliases"]!.AsArray());

        var (status, answer, _) = await braze.BrazeAsync("/users/external_ids/remove", $$"""{"external_ids":["{{old}}","{{current}}"]}""");

        Assert.Equal(201, status);
        Assert.Equal([old], answer["removed_ids"]!.AsArray().Select(i => i!.GetValue<string>()));
        var error = Assert.Single(answer["removal_errors"]!.AsArray())!.AsArray();
        Assert.Equal(1, error[0]!.GetValue<int>());
        Assert.Equal(404, (await native.GetJsonAsync(deprecated)).Status);
        Assert.Equal(200, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={current}")).Status);
        Assert.Equal("pro", (await braze.ExportAsync(renamed))["users"]![0]!.Attribute("plan"));
        Assert.Equal(400, (await braze.BrazeAsync("/users/external_ids/remove", """{"external_ids":[]}""")).Status);
    }

    [Fact]
    public async Task Track_WithTheBulkHeader_AsTheCommunityClientSendsIt_IsAnOrdinaryTrack()
    {
        using var braze = Braze();
        var user = Names.Unique("bulk");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/braze/users/track")
        {
            Content = Http.Json($$"""{"attributes":[{"external_id":"{{user}}","plan":"pro"}]}"""),
        };
        request.Headers.Add("X-Braze-Bulk", "true");

        using var response = await braze.SendAsync(request);

        Assert.Equal(201, (int)response.StatusCode);
        Assert.Equal("pro", (await braze.ExportAsync(user))["users"]![0]!.Attribute("plan"));
    }
}
