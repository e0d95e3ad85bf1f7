using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Amplitude;

public sealed class AmplitudeApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _client = server.Client(null);
    private readonly HttpClient _native = server.Client(server.WriteKey);

    [Fact]
    public async Task Usermap_SeedExample_MapsBothUsersIntoTheGlobalUser_AndTheLookupShowsIt()
    {
        var (hank, a, b) = (Names.Unique("hank@globex.net"), Names.Unique("63629@hmail.com"), Names.Unique("12345@hmail.com"));
        // The seed's "map multiple users" mapping, with only its spaces percent-encoded (curl refuses a URL with spaces).
        var (status, body, _) = await _client.MapInQueryAsync(
            $$$"""[{"user_id":"{{{a}}}", "global_user_id": "{{{hank}}}"}, {"user_id":"{{{b}}}", "global_user_id": "{{{hank}}}"}]""", server.WriteKey);

        Assert.Equal(200, status);
        Assert.Equal(2, body.Value<int>("mapped"));
        var (lookupStatus, lookup, _) = await _client.LookupAsync(server.ReadKey, server.ReadKey, a, hank);
        Assert.Equal(200, lookupStatus);
        var global = lookup![hank]!;
        Assert.Equal(new[] { a, b }.Order(StringComparer.Ordinal), global["mapped_from"]!.AsArray().Select(m => m!["user_id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Empty(global["mapped_to"]!.AsArray());
        var mapped = lookup[a]!;
        Assert.Equal(hank, mapped["mapped_to"]![0]!["user_id"]!.GetValue<string>());
        Assert.Equal(global["amplitude_id"]!.GetValue<long>(), mapped["mapped_to"]![0]!["amplitude_id"]!.GetValue<long>());
        Assert.Empty(mapped["mapped_from"]!.AsArray());

        // One profile on the native API, under the global user's record.
        var profile = (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={Uri.EscapeDataString(b)}")).Body;
        Assert.Equal(global["amplitude_id"]!.GetValue<long>(), profile.Value<long>("profile_id"));
    }

    [Fact]
    public async Task Usermap_EventsOfAMappedUser_ShowInTheGlobalStream_AndCountOnce()
    {
        var (user, global) = (Names.Unique("u"), Names.Unique("g"));
        await _native.PostAsync("/v1/track", $$$"""
            {"events":[
              {"user_id":"{{{user}}}","event":"mapped-user-event","time":"2031-05-01T10:00:00Z"},
              {"user_id":"{{{global}}}","event":"global-user-event","time":"2031-05-01T11:00:00Z"}]}
            """);
        await _client.MapInQueryAsync($$$"""[{"user_id":"{{{user}}}", "global_user_id": "{{{global}}}"}]""", server.WriteKey);

        var globalUser = (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={global}")).Body;
        var stream = (await _native.GetJsonAsync($"/v1/profiles/{globalUser.Value<long>("profile_id")}/events")).Body!["events"]!.AsArray();
        Assert.Equal(["global-user-event", "mapped-user-event"], stream.Select(e => e!["event"]!.GetValue<string>()));

        var mappedRecord = (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Body.Value<long>("record_id");
        var own = (await _native.GetJsonAsync($"/v1/records/{mappedRecord}/events")).Body!["events"]!.AsArray();
        Assert.Equal(["mapped-user-event"], own.Select(e => e!["event"]!.GetValue<string>()));

        var counts = (await _native.GetJsonAsync("/v1/stats/unique-users?from=2031-05-01T00:00:00Z&to=2031-05-02T00:00:00Z")).Body;
        Assert.Equal((1, 2), (counts.Value<int>("merged"), counts.Value<int>("raw")));
    }

    [Fact]
    public async Task Usermap_SingleObjectInAFormBody_IsAccepted()
    {
        var (user, global) = (Names.Unique("u"), Names.Unique("g"));
        var (status, body, _) = await _client.MapInFormAsync($$$"""{"user_id":"{{{user}}}", "global_user_id": "{{{global}}}"}""", server.WriteKey);
        Assert.Equal(200, status);
        Assert.Equal(1, body.Value<int>("mapped"));
    }

    [Fact]
    public async Task Unmap_SplitsTheProfile_AndRestoresIds()
    {
        var (user, global) = (Names.Unique("u"), Names.Unique("g"));
        var own = (await _native.PostAsync("/v1/identify", $$$"""{"user_id":"{{{user}}}","properties":{"plan":"free"}}""")).Body.Value<long>("profile_id");
        await _native.PostAsync("/v1/identify", $$$"""{"user_id":"{{{global}}}","properties":{"plan":"pro"}}""");
        await _client.MapInQueryAsync($$$"""[{"user_id":"{{{user}}}", "global_user_id": "{{{global}}}"}]""", server.WriteKey);
        var merged = (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Body.Value<long>("profile_id");
        Assert.NotEqual(own, merged);

        // User properties are not merged: each record keeps its own.
        var records = (await _native.GetJsonAsync($"/v1/profiles/{merged}")).Body!["records"]!.AsArray();
        Assert.Equal(["free", "pro"], records.Select(r => r!["properties"]!["plan"]!["value"]!.GetValue<string>()).Order());

        var (status, body, _) = await _client.MapInQueryAsync($$$"""[{"user_id":"{{{user}}}", "unmap":true}]""", server.WriteKey);
        Assert.Equal(200, status);
        Assert.Equal(1, body.Value<int>("unmapped"));
        Assert.Equal(own, (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Body.Value<long>("profile_id"));
        var lookup = (await _client.LookupAsync(server.ReadKey, server.ReadKey, user)).Body;
        Assert.Empty(lookup![user]!["mapped_to"]!.AsArray());
    }

    [Fact]
    public async Task Usermap_AgainToAnotherGlobalUser_ReplacesTheMapping()
    {
        var (user, first, second) = (Names.Unique("u"), Names.Unique("g1"), Names.Unique("g2"));
        await _client.MapInQueryAsync($$$"""{"user_id":"{{{user}}}","global_user_id":"{{{first}}}"}""", server.WriteKey);
        await _client.MapInQueryAsync($$$"""{"user_id":"{{{user}}}","global_user_id":"{{{second}}}"}""", server.WriteKey);

        var lookup = (await _client.LookupAsync(server.ReadKey, server.ReadKey, user, first)).Body;
        Assert.Equal(second, lookup![user]!["mapped_to"]!.AsArray().Single()!["user_id"]!.GetValue<string>());
        Assert.Empty(lookup[first]!["mapped_from"]!.AsArray());
        var profileOfFirst = (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={first}")).Body.Value<long>("profile_id");
        Assert.NotEqual(profileOfFirst, (await _native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Body.Value<long>("profile_id"));
    }

    [Theory]
    [InlineData("""[{"user_id":"x1"}]""", "mapping[0].global_user_id")]
    [InlineData("""[{"user_id":"x2","global_user_id":"g","unmap":true}]""", "mapping[0].global_user_id")]
    [InlineData("""[{"global_user_id":"g"}]""", "mapping[0].user_id")]
    [InlineData("""{"user_id":5,"global_user_id":"g"}""", "mapping.user_id")]
    [InlineData("""[{"user_id":"x3","unmap":"yes"}]""", "mapping[0].unmap")]
    [InlineData("""[{"user_id":"x4","global_user_id":"x4"}]""", "mapping[0].global_user_id")]
    [InlineData("""[1]""", "mapping[0]")]
    [InlineData("""[{"user_id":"x5",""", "mapping")]
    public async Task Usermap_BadMapping_Is400NamingTheField_AndWritesNothing(string mapping, string field)
    {
        var before = await _native.AllIdentifiersAsync();
        var (status, body, _) = await _client.MapInFormAsync(mapping, server.WriteKey);
        Assert.Equal(400, status);
        Assert.Equal(field, body.Value<string>("field"));
        Assert.Equal(before, await _native.AllIdentifiersAsync());
    }

    [Fact]
    public async Task Usermap_Keys_MissingInvalidAndReadOnly()
    {
        var (missing, missingBody, _) = await _client.MapInFormAsync("""{"user_id":"k","global_user_id":"g"}""", "");
        Assert.Equal((400, "api_key"), (missing, missingBody.Value<string>("missing_field")));
        var (invalid, invalidBody, _) = await _client.MapInFormAsync("""{"user_id":"k","global_user_id":"g"}""", "123456789");
        Assert.Equal((400, "Invalid API key"), (invalid, invalidBody.Value<string>("error")));
        // A read key: the answer Amplitude documents for a key that will not do, with why.
        var (readOnly, readOnlyBody, _) = await _client.MapInFormAsync("""{"user_id":"k","global_user_id":"g"}""", server.ReadKey);
        Assert.Equal(400, readOnly);
        Assert.StartsWith("Invalid API key: ", readOnlyBody.Value<string>("error"), StringComparison.Ordinal);
        var (noMapping, noMappingBody, _) = await _client.MapInFormAsync("", server.WriteKey);
        Assert.Equal((400, "mapping"), (noMapping, noMappingBody.Value<string>("missing_field")));
    }

    [Fact]
    public async Task Usermap_MoreThan2000Mappings_Is413()
    {
        var mappings = "[" + string.Join(",", Enumerable.Range(0, 2001).Select(i => $$$"""{"user_id":"big-{{{i}}}","global_user_id":"big-g"}""")) + "]";
        var (status, _, _) = await _client.MapInFormAsync(mappings, server.WriteKey);
        Assert.Equal(413, status);
        Assert.Equal(404, (await _native.GetJsonAsync("/v1/resolve?type=user_id&value=big-0")).Status);
    }

    [Fact]
    public async Task Usermap_BodyOver1MB_Is413()
    {
        // Expect: 100-continue lets the client read the early 413 instead of writing the rest of the body into a closed socket.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/amplitude/usermap")
        {
            Content = new FormUrlEncodedContent([new("mapping", $$$"""{"user_id":"{{{new string('x', 1_100_000)}}}","global_user_id":"g"}"""), new("api_key", server.WriteKey)]),
        };
        request.Headers.ExpectContinue = true;
        using var response = await _client.SendAsync(request);
        Assert.Equal(413, (int)response.StatusCode);
        Assert.Contains("\"code\":413", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_UnknownUser_HasEmptyLists_AndLimitsAreChecked()
    {
        var unknown = Names.Unique("nobody");
        var (status, body, _) = await _client.LookupAsync(server.ReadKey, server.ReadKey, unknown);
        Assert.Equal(200, status);
        Assert.Empty(body![unknown]!["mapped_from"]!.AsArray());
        Assert.Empty(body[unknown]!["mapped_to"]!.AsArray());

        Assert.Equal(400, (await _client.LookupAsync(server.ReadKey, server.ReadKey)).Status);
        Assert.Equal(400, (await _client.LookupAsync(server.ReadKey, server.ReadKey, Enumerable.Range(0, 101).Select(i => $"id{i}").ToArray())).Status);
        Assert.Equal(401, (await _client.LookupAsync(server.ReadKey, "wrong-secret", unknown)).Status);
        Assert.Equal(401, (await _client.LookupAsync("123456789", "123456789", unknown)).Status);
    }

    [Fact]
    public async Task Lookup_KeyPair_ApiKeyNamesTheProject_SecretKeyOfTheSameProjectReads()
    {
        var unknown = Names.Unique("nobody");
        // A write key handed to clients as the api_key, with the project's read key as the secret.
        Assert.Equal(200, (await _client.LookupAsync(server.WriteKey, server.ReadKey, unknown)).Status);

        var keys = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Selfsame.Keys.ApiKeys>(server.Services);
        var origin = new Selfsame.Graph.WriteOrigin("test", null);
        var other = Selfsame.Graph.ProjectId.Parse($"p{Guid.NewGuid():N}"[..20]);
        await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Projects>(server.Services).CreateAsync(other, null, CancellationToken.None);
        var otherKey = (await keys.CreateAsync(other, Selfsame.Keys.Roles.Read, "other", origin, CancellationToken.None)).Key;
        Assert.Equal(401, (await _client.LookupAsync(server.WriteKey, otherKey, unknown)).Status);
        Assert.Equal(401, (await _client.LookupAsync(otherKey, server.ReadKey, unknown)).Status);
    }

    [Fact]
    public async Task Lookup_UserIdsInTheQueryString_AsAJsonArray()
    {
        var (user, global) = (Names.Unique("q"), Names.Unique("qg"));
        await _client.MapInFormAsync($$$"""{"user_id":"{{{user}}}","global_user_id":"{{{global}}}"}""", server.WriteKey);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/amplitude/api/2/usermap?user_ids={Uri.EscapeDataString($"[\"{user}\",\"{global}\"]")}");
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{server.ReadKey}:{server.ReadKey}")));
        using var response = await _client.SendAsync(request);
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(global, body![user]!["mapped_to"]![0]!["user_id"]!.GetValue<string>());
    }
}

public sealed class AmplitudeRateLimitTests(FakeClockServer server) : IClassFixture<FakeClockServer>
{
    [Fact]
    public async Task Usermap_OverTheLimit_ThrottlesEveryRequestUntilTheWindowDropsBelowIt()
    {
        using var client = server.Client(null);
        string Mappings(string prefix, int count) =>
            "[" + string.Join(",", Enumerable.Range(0, count).Select(i => $$$"""{"user_id":"{{{prefix}}}-{{{i}}}","global_user_id":"{{{prefix}}}-g"}""")) + "]";

        var (first, _, firstResponse) = await client.MapInFormAsync(Mappings("a", 4), server.WriteKey);
        Assert.Equal(200, first);
        Assert.Equal("5", firstResponse.Headers.GetValues("X-RateLimit-Limit").Single());
        Assert.Equal("1", firstResponse.Headers.GetValues("X-RateLimit-Remaining").Single());
        // The window holds 4 of 5: this request is admitted and takes it to 7.
        Assert.Equal(200, (await client.MapInFormAsync(Mappings("b", 3), server.WriteKey)).Status);
        var (status, body, response) = await client.MapInFormAsync(Mappings("c", 1), server.WriteKey);
        Assert.Equal(429, status);
        Assert.Contains("Too many requests", body.Value<string>("error"), StringComparison.Ordinal);
        Assert.True(int.Parse(response.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture) is > 0 and <= 30);
        Assert.Equal("0", response.Headers.GetValues("X-RateLimit-Remaining").Single());
        var reset = long.Parse(response.Headers.GetValues("X-RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(reset - server.Clock.GetUtcNow().ToUnixTimeSeconds(), 1, 30);

        server.Clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(200, (await client.MapInFormAsync(Mappings("d", 1), server.WriteKey)).Status);
    }
}
