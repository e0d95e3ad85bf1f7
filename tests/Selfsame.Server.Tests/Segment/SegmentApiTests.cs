using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Segment;

/// <summary>Segment's HTTP Tracking API under /segment, with Segment's own Node library and with plain requests.</summary>
public sealed class SegmentApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task SegmentsNodeLibrary_PointedAtSelfsame_StitchesTheJourneyIntoOnePerson()
    {
        var prefix = Names.Unique("seg");
        var output = await NodeHarness.RunAsync("segment-sdk", "@segment/analytics-node", "run.js", server.BaseAddress.ToString().TrimEnd('/'), server.WriteKey, prefix);
        var reported = JsonNode.Parse(output)!;
        Assert.Empty(reported["failures"]!.AsArray());
        Assert.Equal(7, reported["results"]!.AsArray().Count);
        Assert.All(reported["results"]!.AsArray(), r => Assert.Null(r!["error"]));

        var (id, view) = await AssertOnePersonAsync(prefix, ["Signed Up", "Viewed Home Page", "Viewed Pricing"]);
        Assert.Equal("Ann", view["properties"]!["name"]!["value"]!.GetValue<string>());
        Assert.Equal("Oslo", view["properties"]!["address.city"]!["value"]!.GetValue<string>());
        Assert.Equal("alias", LinkKindOf(view));
        using var native = server.Client(server.ReadKey);
        Assert.Equal("Acme", (await native.GetJsonAsync($"/v1/companies/{prefix}-acme")).Body!["properties"]!["name"]!["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task RudderStacksNodeSdk_WithItsGzippedBatches_StitchesTheJourneyIntoOnePerson()
    {
        var prefix = Names.Unique("rud");
        var output = await NodeHarness.RunAsync("rudderstack-sdk", "@rudderstack/rudder-sdk-node", "run.js", new Uri(server.BaseAddress, "/segment").ToString(), server.WriteKey, prefix);
        var reported = JsonNode.Parse(output)!;
        Assert.Null(reported["flush"]);
        Assert.Equal(5, reported["results"]!.AsArray().Count);
        Assert.All(reported["results"]!.AsArray(), r => Assert.Null(r!["error"]));

        await AssertOnePersonAsync(prefix, ["Invited Teammate", "Opened App"]);
    }

    /// <summary>
    /// The journey of a harness, seen through the native API: the anonymous visitor aliased into the user is one profile
    /// with both ids and the email of the traits, the events of both in its stream, and the member of the company.
    /// </summary>
    private async Task<(long Id, JsonNode View)> AssertOnePersonAsync(string prefix, string[] events)
    {
        using var native = server.Client(server.ReadKey);
        var (status, profile) = await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value={prefix}-anon");
        Assert.Equal(200, status);
        var values = profile!["identifiers"]!.AsArray().Select(i => $"{i!["type"]}:{i["value"]}").ToList();
        Assert.Contains($"user_id:{prefix}-user", values);
        Assert.Contains($"email:{prefix}@acme.com", values);
        var id = profile.Value<long>("profile_id");
        var (_, stream) = await native.GetJsonAsync($"/v1/profiles/{id}/events");
        Assert.Equal(events, stream!["events"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()).Order().ToArray());
        var (_, company) = await native.GetJsonAsync($"/v1/companies/{prefix}-acme");
        Assert.Equal(id, Assert.Single(company!["members"]!.AsArray())!["profile_id"]!.GetValue<long>());
        return (id, (await native.GetJsonAsync($"/v1/profiles/{id}")).Body!);
    }

    [Fact]
    public async Task WriteKey_AsBasicUserName_OrInTheBody_AndOnlyAWriteKeyWrites()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var user = Names.Unique("key");
        var body = $$$"""{"userId":"{{{user}}}","event":"Opened"}""";

        Assert.Equal(200, (await SendAsync(client, "/segment/v1/track", body, server.WriteKey)).Status);
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/track", $$$"""{"writeKey":"{{{server.WriteKey}}}","userId":"{{{user}}}","event":"Again"}""", null)).Status);
        var (missing, answer) = await SendAsync(client, "/segment/v1/track", body, null);
        Assert.Equal(401, missing);
        Assert.False(answer!["success"]!.GetValue<bool>());
        Assert.Equal(403, (await SendAsync(client, "/segment/v1/track", body, server.ReadKey)).Status);
        Assert.Equal(401, (await SendAsync(client, "/segment/v1/track", body, "ss_not_a_key")).Status);

        using var native = server.Client(server.ReadKey);
        var id = (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Body.Value<long>("profile_id");
        Assert.Equal(2, (await native.GetJsonAsync($"/v1/profiles/{id}/events")).Body!["events"]!.AsArray().Count);
    }

    [Fact]
    public async Task Limits_32KBaCall_500KBaBatch_AndAnInvalidMessageWritesNothing()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var big = new string('x', 33 * 1024);
        var (status, answer) = await SendAsync(client, "/segment/v1/track", $$$"""{"userId":"u","event":"Big","properties":{"blob":"{{{big}}}"}}""", server.WriteKey);
        Assert.Equal(400, status);
        Assert.Equal("payload_too_large", answer!["code"]!.GetValue<string>());

        // Gzipped, the limit counts what the body holds, not what it weighs on the wire.
        using (var gzipped = new HttpRequestMessage(HttpMethod.Post, "/segment/v1/track"))
        {
            using var packed = new MemoryStream();
            using (var zip = new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
            {
                zip.Write(Encoding.UTF8.GetBytes($$$"""{"userId":"u","event":"Big","properties":{"blob":"{{{big}}}"}}"""));
            }
            gzipped.Content = new ByteArrayContent(packed.ToArray());
            gzipped.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            gzipped.Content.Headers.ContentEncoding.Add("gzip");
            gzipped.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(server.WriteKey + ":")));
            Assert.True(packed.Length < 1024);
            using var refused = await client.SendAsync(gzipped);
            Assert.Equal(400, (int)refused.StatusCode);
            Assert.Equal("payload_too_large", JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
        }

        // A batch over 32 KB is fine while each message stays under it.
        var user = Names.Unique("batch");
        var chunk = new string('y', 20 * 1024);
        var messages = string.Join(",", Enumerable.Range(0, 5).Select(i => $$$"""{"type":"track","userId":"{{{user}}}","event":"E{{{i}}}","properties":{"blob":"{{{chunk}}}"}}"""));
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/batch", $$$"""{"batch":[{{{messages}}}]}""", server.WriteKey)).Status);
        (status, answer) = await SendAsync(client, "/segment/v1/batch", $$$"""{"batch":[{"type":"track","userId":"u","event":"Big","properties":{"blob":"{{{big}}}"}}]}""", server.WriteKey);
        Assert.Equal(400, status);
        Assert.Equal("payload_too_large", answer!["code"]!.GetValue<string>());
        Assert.StartsWith("batch[0]", answer["message"]!.GetValue<string>());

        // The second message names no one: 400 naming it, and the first is not written either.
        var lone = Names.Unique("lone");
        (status, answer) = await SendAsync(client, "/segment/v1/batch",
            $$$"""{"batch":[{"type":"identify","userId":"{{{lone}}}"},{"type":"track","event":"Orphan"}]}""", server.WriteKey);
        Assert.Equal(400, status);
        Assert.StartsWith("batch[1].userId", answer!["message"]!.GetValue<string>());
        using var native = server.Client(server.ReadKey);
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={lone}")).Status);
    }

    [Fact]
    public async Task MessageId_IsTheIdempotencyKey_AndTimesAreCorrectedForTheSendersClock()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var user = Names.Unique("time");
        var messageId = Guid.NewGuid().ToString();
        var track = $$$"""{"userId":"{{{user}}}","event":"Paid","messageId":"{{{messageId}}}","timestamp":"2026-11-30T10:00:00Z"}""";
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/track", track, server.WriteKey)).Status);
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/track", track, server.WriteKey)).Status);
        // A sender whose clock runs an hour ahead: it happened 10 minutes before it was sent, so 10 minutes before receipt.
        var ahead = DateTimeOffset.UtcNow.AddHours(1);
        var skewed = $$$"""{"batch":[{"type":"track","userId":"{{{user}}}","event":"Skewed","originalTimestamp":"{{{ahead.AddMinutes(-10):O}}}"}],"sentAt":"{{{ahead:O}}}"}""";
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/batch", skewed, server.WriteKey)).Status);
        // A server-side library's timestamp is the sender's clock too: corrected by sentAt in the same way.
        var library = $$$"""{"batch":[{"type":"track","userId":"{{{user}}}","event":"Library","timestamp":"{{{ahead.AddMinutes(-20):O}}}"}],"sentAt":"{{{ahead:O}}}"}""";
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/batch", library, server.WriteKey)).Status);
        var (overflow, refused) = await SendAsync(client, "/segment/v1/batch",
            $$$"""{"batch":[{"type":"track","userId":"{{{user}}}","event":"Far","originalTimestamp":"9999-01-01T00:00:00Z"}],"sentAt":"0001-01-02T00:00:00Z"}""", server.WriteKey);
        Assert.Equal(400, overflow);
        Assert.StartsWith("batch[0].sentAt", refused!["message"]!.GetValue<string>());

        using var native = server.Client(server.ReadKey);
        var id = (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Body.Value<long>("profile_id");
        var events = (await native.GetJsonAsync($"/v1/profiles/{id}/events")).Body!["events"]!.AsArray();
        Assert.Equal(3, events.Count);
        Assert.Equal(DateTimeOffset.Parse("2026-11-30T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            events.Single(e => e!["event"]!.GetValue<string>() == "Paid")!["time"]!.GetValue<DateTimeOffset>());
        var corrected = events.Single(e => e!["event"]!.GetValue<string>() == "Skewed")!["time"]!.GetValue<DateTimeOffset>();
        Assert.InRange(corrected, DateTimeOffset.UtcNow.AddMinutes(-11), DateTimeOffset.UtcNow.AddMinutes(-9));
        var fromLibrary = events.Single(e => e!["event"]!.GetValue<string>() == "Library")!["time"]!.GetValue<DateTimeOffset>();
        Assert.InRange(fromLibrary, DateTimeOffset.UtcNow.AddMinutes(-21), DateTimeOffset.UtcNow.AddMinutes(-19));
    }

    [Fact]
    public async Task Alias_OfAKnownUserId_JoinsThatUser_AndAJunkEmailTraitIsDroppedAndSaid()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var (old, renamed) = (Names.Unique("old"), Names.Unique("new"));
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/identify", $$$"""{"userId":"{{{old}}}","traits":{"plan":"pro"}}""", server.WriteKey)).Status);
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/alias", $$$"""{"previousId":"{{{old}}}","userId":"{{{renamed}}}"}""", server.WriteKey)).Status);
        using var native = server.Client(server.ReadKey);
        var (_, profile) = await native.GetJsonAsync($"/v1/resolve?type=user_id&value={renamed}");
        Assert.Contains($"user_id:{old}", profile!["identifiers"]!.AsArray().Select(i => $"{i!["type"]}:{i["value"]}"));
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=anonymous_id&value={old}")).Status);

        var (status, answer) = await SendAsync(client, "/segment/v1/identify", $$$"""{"userId":"{{{renamed}}}","traits":{"email":"test@test.com"}}""", server.WriteKey);
        Assert.Equal(200, status);
        Assert.True(answer!["success"]!.GetValue<bool>());
        var dropped = Assert.Single(answer["dropped_identifiers"]!.AsArray())!;
        Assert.Equal("traits.email", dropped["field"]!.GetValue<string>());
        Assert.StartsWith("deny_list", dropped["rule"]!.GetValue<string>());
    }

    [Fact]
    public async Task BrowserLibrary_TextPlainWithTheKeyInTheBody_ScreenGroupAndContextTraits()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var (anonymous, email, company) = (Names.Unique("tab"), $"{Names.Unique("ctx")}@acme.com", Names.Unique("co"));
        // As analytics.js sends it: text/plain, the write key in the body, the user's traits in the context.
        var (status, _) = await SendAsync(client, "/segment/v1/screen",
            $$$"""{"writeKey":"{{{server.WriteKey}}}","anonymousId":"{{{anonymous}}}","name":"Settings","context":{"library":{"name":"analytics.js"},"traits":{"email":"{{{email}}}"}}""" + "}",
            null, "text/plain");
        Assert.Equal(200, status);
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/group", $$$"""{"anonymousId":"{{{anonymous}}}","groupId":"{{{company}}}","traits":{"plan":"team"}}""", server.WriteKey)).Status);

        using var native = server.Client(server.ReadKey);
        var (found, profile) = await native.GetJsonAsync($"/v1/resolve?type=email&value={email}");
        Assert.Equal(200, found);
        Assert.Contains($"anonymous_id:{anonymous}", profile!["identifiers"]!.AsArray().Select(i => $"{i!["type"]}:{i["value"]}"));
        var id = profile.Value<long>("profile_id");
        Assert.Equal("Viewed Settings Screen", (await native.GetJsonAsync($"/v1/profiles/{id}/events")).Body!["events"]![0]!["event"]!.GetValue<string>());
        Assert.Equal(id, (await native.GetJsonAsync($"/v1/companies/{company}")).Body!["members"]![0]!["profile_id"]!.GetValue<long>());
    }

    [Fact]
    public async Task ABatchMessageTheRulesRefuse_IsListed_AndTheOthersStand()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var (user, kept) = (Names.Unique("self"), Names.Unique("kept"));
        Assert.Equal(200, (await SendAsync(client, "/segment/v1/identify", $$$"""{"userId":"{{{user}}}"}""", server.WriteKey)).Status);
        // An alias of a user into itself joins nothing: alone it is a 400; in a batch it is listed and the rest applies.
        Assert.Equal(400, (await SendAsync(client, "/segment/v1/alias", $$$"""{"previousId":"{{{user}}}","userId":"{{{user}}}"}""", server.WriteKey)).Status);
        var (status, answer) = await SendAsync(client, "/segment/v1/batch",
            $$$"""{"batch":[{"type":"alias","previousId":"{{{user}}}","userId":"{{{user}}}"},{"type":"identify","userId":"{{{kept}}}"}]}""", server.WriteKey);
        Assert.Equal(200, status);
        var refused = Assert.Single(answer!["refused"]!.AsArray())!;
        Assert.Equal(0, refused["index"]!.GetValue<int>());
        using var native = server.Client(server.ReadKey);
        Assert.Equal(200, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={kept}")).Status);
    }

    private static string LinkKindOf(JsonNode view) => Assert.Single(view["links"]!.AsArray())!["kind"]!.GetValue<string>();

    private static async Task<(int Status, JsonNode? Body)> SendAsync(HttpClient client, string path, string body, string? writeKey, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        if (writeKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        }
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}
