using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.PostHog;

/// <summary>PostHog's capture API under /posthog, with PostHog's own Node library and with plain requests.</summary>
public sealed class PostHogApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task PostHogsNodeLibrary_PointedAtSelfsame_StitchesTheJourneyIntoOnePerson()
    {
        var prefix = Names.Unique("ph");
        var output = await NodeHarness.RunAsync("posthog-sdk", "posthog-node", "run.js", new Uri(server.BaseAddress, "/posthog").ToString(), server.WriteKey, prefix);
        Assert.Empty(JsonNode.Parse(output)!["errors"]!.AsArray());

        using var native = server.Client(server.ReadKey);
        var (status, profile) = await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value={prefix}-anon");
        Assert.Equal(200, status);
        // The alias joins the anonymous visitor's record, and the identify of the alias makes it the user id of that record.
        Assert.Equal([$"anonymous_id:{prefix}-anon", $"anonymous_id:{prefix}-user", $"user_id:{prefix}-user"], Identifiers(profile!).Order().ToArray());
        var id = profile.Value<long>("profile_id");
        var view = (await native.GetJsonAsync($"/v1/profiles/{id}")).Body!;
        Assert.Equal("Ann", view["properties"]!["name"]!["value"]!.GetValue<string>());
        Assert.Equal("team", view["properties"]!["first_seen_plan"]!["value"]!.GetValue<string>());
        Assert.Single(view["records"]!.AsArray());
        var stream = (await native.GetJsonAsync($"/v1/profiles/{id}/events")).Body!["events"]!.AsArray();
        Assert.Equal(["invited teammate", "viewed pricing"], stream.Select(e => e!["event"]!.GetValue<string>()).Order().ToArray());
        var company = (await native.GetJsonAsync($"/v1/companies/company:{prefix}-acme")).Body!;
        Assert.Equal("Acme", company["properties"]!["name"]!["value"]!.GetValue<string>());
        Assert.Equal(id, Assert.Single(company["members"]!.AsArray())!["profile_id"]!.GetValue<long>());
        // The group's own distinct id ($company_KEY) and the event without a person made no record.
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value=$company_{prefix}-acme")).Status);
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value={prefix}-ghost")).Status);
    }

    [Fact]
    public async Task Identify_ASecondIdentifiedUser_IsRefusedAndListed_ButMergeDangerouslyLinksAndUnlinkUndoesIt()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var (ann, bob, device) = (Names.Unique("ann"), Names.Unique("bob"), Names.Unique("dev"));
        // A device that browsed anonymously, then logged in as Ann.
        Assert.Equal(200, (await CaptureAsync(client, "/posthog/capture/", Event("$pageview", device))).Status);
        Assert.Equal(200, (await CaptureAsync(client, "/posthog/capture/", Event("$identify", ann, Member("$anon_distinct_id", device)))).Status);
        Assert.Equal(200, (await CaptureAsync(client, "/posthog/capture/", Event("$identify", bob))).Status);
        // Bob logs in on Ann's device: PostHog refuses to merge an identified person; so does Selfsame, and says so.
        var (status, answer) = await CaptureAsync(client, "/posthog/capture/", Event("$identify", bob, Member("$anon_distinct_id", device)));
        Assert.Equal(200, status);
        var dropped = Assert.Single(answer!["dropped_identifiers"]!.AsArray())!;
        Assert.Equal("properties.$anon_distinct_id", dropped["field"]!.GetValue<string>());
        Assert.Equal($"anonymous_id:{device}", dropped["identifier"]!.GetValue<string>());
        using var native = server.Client(server.ReadKey);
        var annProfile = (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={ann}")).Body!;
        Assert.DoesNotContain($"user_id:{bob}", Identifiers(annProfile));

        // An alias of an identified user (posthog-js: identify, then alias) joins that user's profile.
        var backend = Names.Unique("backend");
        (status, answer) = await CaptureAsync(client, "/posthog/capture/", Event("$create_alias", ann, Member("alias", backend)));
        Assert.Equal(200, status);
        Assert.Null(answer!["dropped_identifiers"]);
        Assert.Equal(annProfile.Value<long>("profile_id"), (await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value={backend}")).Body.Value<long>("profile_id"));

        // $merge_dangerously joins them all the same, with an explicit link that an unlink takes apart again.
        (status, answer) = await CaptureAsync(client, "/posthog/batch/",
            $$$"""{"api_key":"{{{server.WriteKey}}}","batch":[{{{Event("$merge_dangerously", ann, Member("alias", bob), withKey: false)}}}]}""");
        Assert.Equal(200, status);
        Assert.Null(answer!["refused"]);
        annProfile = (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={ann}")).Body!;
        Assert.Contains($"user_id:{bob}", Identifiers(annProfile));
        using var writer = server.Client(server.WriteKey);
        var unlinked = await writer.PostAsync("/v1/unlink", $$$"""{"from":{"type":"user_id","value":"{{{bob}}}"},"into":{"type":"user_id","value":"{{{ann}}}"}}""");
        Assert.Equal(200, unlinked.Status);
        Assert.DoesNotContain($"user_id:{bob}", Identifiers((await native.GetJsonAsync($"/v1/resolve?type=user_id&value={ann}")).Body!));
    }

    [Fact]
    public async Task PostHogJs_GzipJsArrayWithTheTokenInTheProperties_AndPersonPropertiesSetOnceAndUnset()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var visitor = Names.Unique("js");
        // As posthog-js sends it: an array of events, gzipped, said so only in the query; the key is each event's token.
        var events = """
            [{"event":"$pageview","properties":{"token":"KEY","distinct_id":"VISITOR","$current_url":"/pricing","$set":{"plan":"free","address":{"city":"Oslo"}},"$set_once":{"first":"a"}}},
             {"event":"$set","$set":{"tier":"gold"},"properties":{"token":"KEY","distinct_id":"VISITOR","$set":{"plan":"team","tier":"silver"},"$set_once":{"first":"b"},"$unset":["address.city"]}}]
            """.Replace("KEY", server.WriteKey).Replace("VISITOR", visitor);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/posthog/e/?compression=gzip-js&ver=1.200.0") { Content = new ByteArrayContent(Gzip(events)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var response = await client.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(1, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!.GetValue<int>());

        using var native = server.Client(server.ReadKey);
        var profile = (await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value={visitor}")).Body!;
        var id = profile.Value<long>("profile_id");
        var properties = (await native.GetJsonAsync($"/v1/profiles/{id}")).Body!["properties"]!.AsObject();
        Assert.Equal("team", properties["plan"]!["value"]!.GetValue<string>());
        Assert.Equal("a", properties["first"]!["value"]!.GetValue<string>());
        // The event's own $set wins over the one among its properties, as PostHog merges them.
        Assert.Equal("gold", properties["tier"]!["value"]!.GetValue<string>());
        Assert.False(properties.ContainsKey("address.city"));
        // Only the ordinary event is an event, and the key that posthog-js put among its properties is not kept with it.
        var stored = Assert.Single((await native.GetJsonAsync($"/v1/profiles/{id}/events")).Body!["events"]!.AsArray())!;
        Assert.Equal("$pageview", stored["event"]!.GetValue<string>());
        Assert.Equal("/pricing", stored["properties"]!["$current_url"]!.GetValue<string>());
        Assert.Null(stored["properties"]!["token"]);
    }

    [Fact]
    public async Task PersonlessEvents_AreStoredOnAKnownPerson_AndMakeNoRecordForAnUnknownOne()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var (known, unknown) = (Names.Unique("known"), Names.Unique("unknown"));
        Assert.Equal(200, (await CaptureAsync(client, "/posthog/capture/", Event("$identify", known))).Status);
        const string personless = "\"$process_person_profile\":false,\"$set\":{\"plan\":\"ignored\"}";
        var (status, answer) = await CaptureAsync(client, "/posthog/batch/",
            $$$"""{"api_key":"{{{server.WriteKey}}}","batch":[{{{Event("read docs", known, personless, withKey: false)}}},{{{Event("read docs", unknown, personless, withKey: false)}}}]}""");
        Assert.Equal(200, status);
        var refused = Assert.Single(answer!["refused"]!.AsArray())!;
        Assert.Equal(1, refused["index"]!.GetValue<int>());
        Assert.Equal("batch[1].distinct_id", refused["field"]!.GetValue<string>());

        using var native = server.Client(server.ReadKey);
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value={unknown}")).Status);
        var id = (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={known}")).Body.Value<long>("profile_id");
        Assert.Equal("read docs", Assert.Single((await native.GetJsonAsync($"/v1/profiles/{id}/events")).Body!["events"]!.AsArray())!["event"]!.GetValue<string>());
        // No person processing: the $set of a personless event is not applied.
        Assert.False((await native.GetJsonAsync($"/v1/profiles/{id}")).Body!["properties"]!.AsObject().ContainsKey("plan"));
    }

    [Fact]
    public async Task Uuid_IsTheIdempotencyKey_AndTimesAreCorrectedBySentAtOrOffset()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var user = Names.Unique("time");
        var uuid = Guid.NewGuid().ToString();
        var once = $$$"""{"api_key":"{{{server.WriteKey}}}","event":"paid","distinct_id":"{{{user}}}","uuid":"{{{uuid}}}","timestamp":"2026-11-30T10:00:00Z"}""";
        Assert.Equal(200, (await CaptureAsync(client, "/posthog/capture/", once)).Status);
        Assert.Equal(200, (await CaptureAsync(client, "/posthog/capture/", once)).Status);
        // A sender whose clock runs an hour ahead: it happened 10 minutes before it was sent, so 10 minutes before receipt.
        var ahead = DateTimeOffset.UtcNow.AddHours(1);
        var batch = $$$"""
            {"api_key":"{{{server.WriteKey}}}","sent_at":"{{{ahead:O}}}","batch":[
              {"event":"skewed","distinct_id":"{{{user}}}","timestamp":"{{{ahead.AddMinutes(-10):O}}}"},
              {"event":"offset","distinct_id":"{{{user}}}","offset":300000}]}
            """;
        Assert.Equal(200, (await CaptureAsync(client, "/posthog/batch/", batch)).Status);
        // posthog-js says when it sent a request only in the query: ?_= in milliseconds.
        var js = $$$"""[{"event":"from js","properties":{"token":"{{{server.WriteKey}}}","distinct_id":"{{{user}}}"},"timestamp":"{{{ahead.AddMinutes(-30):O}}}"}]""";
        Assert.Equal(200, (await CaptureAsync(client, $"/posthog/e/?_={ahead.ToUnixTimeMilliseconds()}", js)).Status);

        using var native = server.Client(server.ReadKey);
        var id = (await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value={user}")).Body.Value<long>("profile_id");
        var events = (await native.GetJsonAsync($"/v1/profiles/{id}/events")).Body!["events"]!.AsArray();
        Assert.Equal(4, events.Count);
        DateTimeOffset TimeOf(string name) => events.Single(e => e!["event"]!.GetValue<string>() == name)!["time"]!.GetValue<DateTimeOffset>();
        Assert.Equal(DateTimeOffset.Parse("2026-11-30T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), TimeOf("paid"));
        Assert.InRange(TimeOf("skewed"), DateTimeOffset.UtcNow.AddMinutes(-11), DateTimeOffset.UtcNow.AddMinutes(-9));
        Assert.InRange(TimeOf("offset"), DateTimeOffset.UtcNow.AddMinutes(-6), DateTimeOffset.UtcNow.AddMinutes(-4));
        Assert.InRange(TimeOf("from js"), DateTimeOffset.UtcNow.AddMinutes(-31), DateTimeOffset.UtcNow.AddMinutes(-29));
    }

    [Fact]
    public async Task Keys_Errors_AndAnInvalidEventWritesNothing()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var (status, answer) = await CaptureAsync(client, "/posthog/capture/", """{"event":"x","distinct_id":"someone"}""");
        Assert.Equal(401, status);
        Assert.Equal("authentication_error", answer!["type"]!.GetValue<string>());
        Assert.Equal(403, (await CaptureAsync(client, "/posthog/capture/", $$$"""{"api_key":"{{{server.ReadKey}}}","event":"x","distinct_id":"someone"}""")).Status);
        Assert.Equal(401, (await CaptureAsync(client, "/posthog/capture/", """{"api_key":"ss_not_a_key","event":"x","distinct_id":"someone"}""")).Status);

        // The second event names no one: 400 naming it, and the first is not written either.
        var lone = Names.Unique("lone");
        (status, answer) = await CaptureAsync(client, "/posthog/batch/",
            $$$"""{"api_key":"{{{server.WriteKey}}}","batch":[{"event":"$identify","distinct_id":"{{{lone}}}"},{"event":"orphan"}]}""");
        Assert.Equal(400, status);
        Assert.Equal("validation_error", answer!["type"]!.GetValue<string>());
        Assert.Equal("batch[1].distinct_id", answer["attr"]!.GetValue<string>());
        using var native = server.Client(server.ReadKey);
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={lone}")).Status);

        (status, answer) = await CaptureAsync(client, "/posthog/i/v0/e/", $$$"""{"api_key":"{{{server.WriteKey}}}","batch":[]}""");
        Assert.Equal(400, status);
        Assert.Equal("batch", answer!["attr"]!.GetValue<string>());
        // A body that says it is gzipped and is not: 400, not a failure of the server.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/posthog/e/?compression=gzip-js") { Content = new StringContent("not gzip") };
        using var response = await client.SendAsync(request);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("Content-Encoding", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["attr"]!.GetValue<string>());
        using var brotli = new HttpRequestMessage(HttpMethod.Post, "/posthog/batch/") { Content = new ByteArrayContent([1, 2, 3, 4, 5, 6, 7, 8]) };
        brotli.Content.Headers.ContentEncoding.Add("br");
        using var brotliAnswer = await client.SendAsync(brotli);
        Assert.Equal(400, (int)brotliAnswer.StatusCode);
        (status, answer) = await CaptureAsync(client, "/posthog/nowhere", "{}");
        Assert.Equal(404, status);
        Assert.Equal("not_found", answer!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task AGzippedBatch_ReadsUpTo20MBDecompressed_NotKestrelsDefaultLimit()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var user = Names.Unique("big");
        var blob = new string('z', 100_000);
        var events = string.Join(",", Enumerable.Range(0, 30).Select(i => $$$"""{"event":"e{{{i}}}","distinct_id":"{{{user}}}","properties":{"blob":"{{{blob}}}"}}"""));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/posthog/batch/")
        {
            Content = new ByteArrayContent(Gzip($$$"""{"api_key":"{{{server.WriteKey}}}","batch":[{{{events}}}]}""")),
        };
        request.Content.Headers.ContentEncoding.Add("gzip");
        using var response = await client.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        using var native = server.Client(server.ReadKey);
        var id = (await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value={user}")).Body.Value<long>("profile_id");
        Assert.Equal(30, (await native.GetJsonAsync($"/v1/profiles/{id}/events?limit=100")).Body!["events"]!.AsArray().Count);
    }

    /// <summary>An event of distinct id <paramref name="distinctId"/>, with more properties (JSON members) when given, and the key unless told not to.</summary>
    private string Event(string name, string distinctId, string? properties = null, bool withKey = true) =>
        "{" + (withKey ? Member("api_key", server.WriteKey) + "," : "") + Member("event", name) + "," + Member("distinct_id", distinctId)
        + ",\"properties\":{" + properties + "}}";

    private static string Member(string name, string value) => $"\"{name}\":\"{value}\"";

    private static IEnumerable<string> Identifiers(JsonNode profile) => profile["identifiers"]!.AsArray().Select(i => $"{i!["type"]}:{i["value"]}");

    private static byte[] Gzip(string text)
    {
        using var packed = new MemoryStream();
        using (var zip = new GZipStream(packed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zip.Write(Encoding.UTF8.GetBytes(text));
        }
        return packed.ToArray();
    }

    private static async Task<(int Status, JsonNode? Body)> CaptureAsync(HttpClient client, string path, string body)
    {
        using var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}
