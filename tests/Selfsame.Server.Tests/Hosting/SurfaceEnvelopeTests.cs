using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Keys;
using Selfsame.Server.Hosting;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Hosting;

/// <summary>A class of failure that every surface answers in its own envelope, through the one pipeline.</summary>
public enum Failure
{
    Unauthorized,
    Forbidden,
    RateLimited,
    InvalidField,
    TooLarge,
    UnsupportedMediaType,
    StoreUnavailable,
    UnknownPath,
    WrongMethod,
}

/// <summary>
/// Every surface's envelope for every class of failure it can meet, asserted on the real server: the status its vendor
/// documents (or Selfsame chose where the vendor is silent), and the body in the vendor's shape, never another surface's.
/// </summary>
public static class Envelopes
{
    /// <summary>The surfaces, each with the calls that fail in each class it has (a class a surface cannot meet is absent).</summary>
    public static readonly IReadOnlyDictionary<string, Surface> All = new Dictionary<string, Surface>
    {
        ["native"] = new(NativeEnvelope, new()
        {
            [Failure.Unauthorized] = new(401, s => Post(s, "/v1/identify", Bearer(null), """{"user_id":"a"}""")),
            [Failure.Forbidden] = new(403, s => Post(s, "/v1/identify", Bearer(s.ReadKey), """{"user_id":"a"}""")),
            [Failure.RateLimited] = new(429, s => Post(s, "/v1/identify", Bearer(s.WriteKey), """{"user_id":"a"}""")),
            [Failure.InvalidField] = new(400, s => Post(s, "/v1/identify", Bearer(s.WriteKey), """{"user_id":42}""")),
            [Failure.TooLarge] = new(413, s => Post(s, "/v1/identify", Bearer(s.WriteKey), Large(70_000))),
            [Failure.UnsupportedMediaType] = new(415, s => Post(s, "/v1/identify", Bearer(s.WriteKey), """{"user_id":"a"}""", "text/plain")),
            [Failure.StoreUnavailable] = new(503, s => Post(s, "/v1/identify", Bearer(s.WriteKey), """{"user_id":"a"}""")),
            [Failure.UnknownPath] = new(404, s => Get(s, "/v1/nowhere", Bearer(s.ReadKey))),
            [Failure.WrongMethod] = new(405, s => new HttpRequestMessage(HttpMethod.Delete, "/v1/identify")),
        }),
        ["braze"] = new(BrazeEnvelope, new()
        {
            [Failure.Unauthorized] = new(401, s => Post(s, "/braze/users/identify", Bearer(null), Aliases)),
            [Failure.Forbidden] = new(403, s => Post(s, "/braze/users/identify", Bearer(s.ReadKey), Aliases)),
            [Failure.RateLimited] = new(429, s => Post(s, "/braze/users/identify", Bearer(s.WriteKey), Aliases)),
            [Failure.InvalidField] = new(400, s => Post(s, "/braze/users/identify", Bearer(s.WriteKey), """{"aliases_to_identify":7}""")),
            [Failure.TooLarge] = new(413, s => Post(s, "/braze/users/identify", Bearer(s.WriteKey), Large(70_000))),
            [Failure.UnsupportedMediaType] = new(415, s => Post(s, "/braze/users/identify", Bearer(s.WriteKey), Aliases, "text/plain")),
            [Failure.StoreUnavailable] = new(503, s => Post(s, "/braze/users/track", Bearer(s.WriteKey), """{"attributes":[{"external_id":"u","plan":"pro"}]}""")),
            [Failure.UnknownPath] = new(404, s => Post(s, "/braze/users/nowhere", Bearer(s.WriteKey), "{}")),
            [Failure.WrongMethod] = new(405, s => Get(s, "/braze/users/track", Bearer(s.WriteKey))),
        }),
        ["moengage"] = new(MoEngageEnvelope, new()
        {
            [Failure.Unauthorized] = new(401, s => Post(s, "/moengage/v1/customer/default", null, Customer)),
            [Failure.Forbidden] = new(403, s => Post(s, "/moengage/v1/customer/default", Basic("default", s.ReadKey), Customer)),
            [Failure.RateLimited] = new(429, s => Post(s, "/moengage/v1/customer/default", Basic("default", s.WriteKey), Customer)),
            [Failure.InvalidField] = new(400, s => Post(s, "/moengage/v1/customer/default", Basic("default", s.WriteKey), """{"type":"customer","customer_id":5}""")),
            [Failure.TooLarge] = new(413, s => Post(s, "/moengage/v1/customer/default", Basic("default", s.WriteKey), Large(140_000))),
            [Failure.UnsupportedMediaType] = new(415, s => Post(s, "/moengage/v1/customer/default", Basic("default", s.WriteKey), Customer, "text/plain")),
            [Failure.StoreUnavailable] = new(503, s => Post(s, "/moengage/v1/customer/default", Basic("default", s.WriteKey), Customer)),
            [Failure.UnknownPath] = new(404, s => Post(s, "/moengage/v1/nowhere", Basic("default", s.WriteKey), Customer)),
            [Failure.WrongMethod] = new(405, s => Get(s, "/moengage/v1/customer/default", Basic("default", s.WriteKey))),
        }),
        ["userpilot"] = new(UserpilotEnvelope, new()
        {
            [Failure.Unauthorized] = new(401, s => Post(s, "/userpilot/v1/identify", Versioned(null), """{"user_id":"u"}""")),
            [Failure.Forbidden] = new(403, s => Post(s, "/userpilot/v1/identify", Versioned(s.ReadKey), """{"user_id":"u"}""")),
            [Failure.RateLimited] = new(429, s => Post(s, "/userpilot/v1/identify", Versioned(s.WriteKey), """{"user_id":"u"}""")),
            [Failure.InvalidField] = new(400, s => Post(s, "/userpilot/v1/identify", Versioned(s.WriteKey), """{"user_id":"u","metadata":7}""")),
            [Failure.TooLarge] = new(413, s => Post(s, "/userpilot/v1/identify", Versioned(s.WriteKey), Large(70_000))),
            [Failure.UnsupportedMediaType] = new(415, s => Post(s, "/userpilot/v1/identify", Versioned(s.WriteKey), """{"user_id":"u"}""", "text/plain")),
            [Failure.StoreUnavailable] = new(503, s => Post(s, "/userpilot/v1/identify", Versioned(s.WriteKey), """{"user_id":"u"}""")),
            [Failure.UnknownPath] = new(404, s => Post(s, "/userpilot/v1/nowhere", Versioned(s.WriteKey), """{"user_id":"u"}""")),
            [Failure.WrongMethod] = new(405, s => Get(s, "/userpilot/v1/identify", Token(s.WriteKey))),
        }),
        // Amplitude's mapping API takes its key and mappings in the query or a form: no media type to refuse.
        ["amplitude mapping"] = new(AmplitudeEnvelope, new()
        {
            [Failure.Unauthorized] = new(400, s => Form(s, "/amplitude/usermap", null, Mapping)),
            // Amplitude documents 400 "Invalid API key" for any key that will not do; its SDKs then drop the batch.
            [Failure.Forbidden] = new(400, s => Form(s, "/amplitude/usermap", s.ReadKey, Mapping)),
            [Failure.RateLimited] = new(429, s => Form(s, "/amplitude/usermap", s.WriteKey, Mapping)),
            [Failure.InvalidField] = new(400, s => Form(s, "/amplitude/usermap", s.WriteKey, """{"user_id":"a"}""")),
            [Failure.TooLarge] = new(413, s => Form(s, "/amplitude/usermap", s.WriteKey, new string('x', 1_100_000))),
            [Failure.StoreUnavailable] = new(503, s => Form(s, "/amplitude/usermap", s.WriteKey, Mapping)),
            [Failure.UnknownPath] = new(404, s => Form(s, "/amplitude/nowhere", s.WriteKey, Mapping)),
            [Failure.WrongMethod] = new(405, s => new HttpRequestMessage(HttpMethod.Delete, "/amplitude/usermap")),
        }),
        // Event ingestion reads any content type and has no documented rate limit; a key that may not write is "Invalid API key", as Amplitude answers.
        ["amplitude ingestion"] = new(AmplitudeEnvelope, new()
        {
            [Failure.Unauthorized] = new(400, s => Post(s, "/amplitude/2/httpapi", null, """{"events":[]}""")),
            [Failure.Forbidden] = new(400, s => Post(s, "/amplitude/2/httpapi", null, $$"""{"api_key":"{{s.ReadKey}}","events":[]}""")),
            [Failure.InvalidField] = new(400, s => Post(s, "/amplitude/2/httpapi", null, $$"""{"api_key":"{{s.WriteKey}}","events":[{"user_id":"someone"}]}""")),
            [Failure.TooLarge] = new(413, s => Post(s, "/amplitude/2/httpapi", null, Large(1_100_000))),
            [Failure.StoreUnavailable] = new(503, s => Post(s, "/amplitude/2/httpapi", null,
                $$"""{"api_key":"{{s.WriteKey}}","events":[{"user_id":"someone","event_type":"seen","insert_id":"{{Guid.NewGuid()}}"}]}""")),
        }),
        ["amplitude lookup"] = new(AmplitudeEnvelope, new()
        {
            [Failure.Unauthorized] = new(401, s => Get(s, "/amplitude/api/2/usermap?user_ids=a", null)),
            [Failure.Forbidden] = new(403, s => Get(s, "/amplitude/api/2/usermap?user_ids=a", Basic(s.ReadKey, s.BrazeOnlyKey))),
            [Failure.InvalidField] = new(400, s => Get(s, "/amplitude/api/2/usermap", Basic(s.ReadKey, s.ReadKey))),
            [Failure.TooLarge] = new(413, s => Form(s, "/amplitude/api/2/usermap", null, new string('x', 1_100_000), Basic(s.ReadKey, s.ReadKey), field: "user_ids")),
            [Failure.StoreUnavailable] = new(503, s => Get(s, "/amplitude/api/2/usermap?user_ids=a", Basic(s.ReadKey, s.ReadKey))),
        }),
        ["cooladata identities"] = new(CooladataEnvelope, new()
        {
            [Failure.Unauthorized] = new(401, s => Post(s, "/cooladata/api/v2/projects/default/users/identities", null, Match)),
            [Failure.Forbidden] = new(400, s => Post(s, "/cooladata/api/v2/projects/default/users/identities", Token(s.WriteKey), Match)),
            [Failure.RateLimited] = new(429, s => Post(s, "/cooladata/api/v2/projects/default/users/identities", Token(s.AdminKey), Match)),
            [Failure.InvalidField] = new(400, s => Post(s, "/cooladata/api/v2/projects/default/users/identities", Token(s.AdminKey), """{"customer_user_id":"c"}""")),
            [Failure.TooLarge] = new(413, s => Post(s, "/cooladata/api/v2/projects/default/users/identities", Token(s.AdminKey), Large(70_000))),
            [Failure.UnsupportedMediaType] = new(415, s => Post(s, "/cooladata/api/v2/projects/default/users/identities", Token(s.AdminKey), Match, "text/plain")),
            [Failure.StoreUnavailable] = new(503, s => Post(s, "/cooladata/api/v2/projects/default/users/identities", Token(s.AdminKey), Match)),
            [Failure.UnknownPath] = new(404, s => Post(s, "/cooladata/nowhere", Token(s.AdminKey), Match)),
            [Failure.WrongMethod] = new(405, s => Get(s, "/cooladata/api/v2/projects/default/users/identities", Token(s.AdminKey))),
        }),
        // Segment answers a body over its limit, and one it cannot read, with 400; it documents no rate limit, and reads
        // JSON of any Content-Type (its browser library sends text/plain).
        ["segment"] = new(SegmentEnvelope, new()
        {
            [Failure.Unauthorized] = new(401, s => Post(s, "/segment/v1/track", null, SegmentTrack)),
            [Failure.Forbidden] = new(403, s => Post(s, "/segment/v1/track", Basic(s.ReadKey, ""), SegmentTrack)),
            [Failure.InvalidField] = new(400, s => Post(s, "/segment/v1/track", Basic(s.WriteKey, ""), """{"userId":"u"}""")),
            [Failure.TooLarge] = new(400, s => Post(s, "/segment/v1/track", Basic(s.WriteKey, ""), Large(40_000))),
            [Failure.StoreUnavailable] = new(503, s => Post(s, "/segment/v1/track", Basic(s.WriteKey, ""), SegmentTrack)),
            [Failure.UnknownPath] = new(404, s => Post(s, "/segment/v1/nowhere", Basic(s.WriteKey, ""), SegmentTrack)),
            [Failure.WrongMethod] = new(405, s => Get(s, "/segment/v1/track", Basic(s.WriteKey, ""))),
        }),
        // PostHog's capture takes the key in the body, reads JSON of any Content-Type (posthog-js sends text/plain) and
        // documents no rate limit for it; a body over 20 MB is 413, as PostHog answers it.
        ["posthog"] = new(PostHogEnvelope, new()
        {
            [Failure.Unauthorized] = new(401, s => Post(s, "/posthog/capture/", null, """{"event":"opened","distinct_id":"u"}""")),
            [Failure.Forbidden] = new(403, s => Post(s, "/posthog/capture/", null, PostHogCapture(s.ReadKey))),
            [Failure.InvalidField] = new(400, s => Post(s, "/posthog/capture/", null, PostHogCapture(s.WriteKey).Replace("\"event\":\"opened\",", ""))),
            // Gzipped, as posthog-node sends it: small on the wire (so that the client is not cut off sending it), over 20 MB read.
            [Failure.TooLarge] = new(413, s => Gzipped("/posthog/batch/", Large(21 * 1024 * 1024))),
            [Failure.StoreUnavailable] = new(503, s => Post(s, "/posthog/capture/", null, PostHogCapture(s.WriteKey))),
            [Failure.UnknownPath] = new(404, s => Post(s, "/posthog/nowhere", null, PostHogCapture(s.WriteKey))),
            [Failure.WrongMethod] = new(405, s => Get(s, "/posthog/capture/", null)),
        }),
        // The tracker reads form or JSON bodies alike and answers a key that may not write as an unknown one.
        ["cooladata tracker"] = new(CooladataEnvelope, new()
        {
            [Failure.Unauthorized] = new(401, s => Post(s, "/cooladata/v3/not-a-key/track", null, Events)),
            [Failure.Forbidden] = new(401, s => Post(s, $"/cooladata/v3/{s.ReadKey}/track", null, Events)),
            [Failure.RateLimited] = new(429, s => Post(s, $"/cooladata/v3/{s.WriteKey}/track", null, Events)),
            [Failure.InvalidField] = new(400, s => Post(s, $"/cooladata/v3/{s.WriteKey}/track", null, """{"events":[""")),
            [Failure.TooLarge] = new(413, s => Post(s, $"/cooladata/v3/{s.WriteKey}/track", null, Large(70_000))),
            [Failure.StoreUnavailable] = new(503, s => Post(s, $"/cooladata/v3/{s.WriteKey}/track", null, Events)),
        }),
    };

    public static TheoryData<string, Failure> Cases(params Failure[] failures)
    {
        var data = new TheoryData<string, Failure>();
        foreach (var (name, surface) in All)
        {
            foreach (var failure in failures.Where(surface.Calls.ContainsKey))
            {
                data.Add(name, failure);
            }
        }
        return data;
    }

    /// <summary>
    /// Sends the call. A body over the limit is refused once the server has read past the limit, and the server then closes
    /// the connection; a client still writing the rest of the body can see the close as a broken pipe before it reads the
    /// answer. That race is the transport's, not the answer under test: the call is sent again, up to three times.
    /// </summary>
    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, Func<EnvelopeServer, HttpRequestMessage> request, EnvelopeServer server, Failure failure)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await client.SendAsync(request(server));
            }
            catch (HttpRequestException e) when (failure == Failure.TooLarge && attempt < 3 && e.InnerException is IOException)
            {
            }
        }
    }

    /// <summary>Sends the surface's call for the failure and checks the status and the envelope; returns the response for more checks.</summary>
    public static async Task<HttpResponseMessage> AssertAnsweredAsync(EnvelopeServer server, string surfaceName, Failure failure)
    {
        var surface = All[surfaceName];
        var call = surface.Calls[failure];
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var response = await SendAsync(client, call.Request, server, failure);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(call.Status == (int)response.StatusCode, $"{surfaceName}, {failure}: expected {call.Status}, got {(int)response.StatusCode}: {text}");
        surface.Envelope((int)response.StatusCode, response, text);
        return response;
    }

    public sealed record Call(int Status, Func<EnvelopeServer, HttpRequestMessage> Request);

    public sealed record Surface(Action<int, HttpResponseMessage, string> Envelope, Dictionary<Failure, Call> Calls);

    private const string Aliases = """{"aliases_to_identify":[{"external_id":"u","user_alias":{"alias_label":"l","alias_name":"n"}}]}""";
    private const string Customer = """{"type":"customer","customer_id":"c-1","attributes":{"plan":"pro"}}""";
    private const string Mapping = """{"user_id":"user-a","global_user_id":"user-b"}""";
    private const string Match = """{"customer_user_id":"c","alternative_user_id":"alt"}""";
    /// <summary>A tracker event of now: the tracker takes events of the last 30 days.</summary>
    private static string Events => """{"events":[{"event_name":"seen","user_id":"u","event_timestamp_epoch":""" + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + "}]}";

    private static string Large(int bytes) => $$"""{"user_id":"big","pad":"{{new string('x', bytes)}}"}""";

    private static AuthenticationHeaderValue? Bearer(string? key) => key is null ? null : new("Bearer", key);

    private static AuthenticationHeaderValue? Token(string? key) => key is null ? null : new("Token", key);

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static (AuthenticationHeaderValue? Key, bool Versioned) Versioned(string? key) => (Token(key), true);

    private static HttpRequestMessage Post(EnvelopeServer server, string path, AuthenticationHeaderValue? authorization, string body, string contentType = "application/json") =>
        Post(server, path, (authorization, false), body, contentType);

    private static HttpRequestMessage Post(EnvelopeServer server, string path, (AuthenticationHeaderValue? Key, bool Versioned) authorization, string body, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        request.Headers.Authorization = authorization.Key;
        if (authorization.Versioned)
        {
            request.Headers.Add("X-API-Version", "2020-09-22");
        }
        return request;
    }

    private static HttpRequestMessage Gzipped(string path, string body)
    {
        using var packed = new MemoryStream();
        using (var zip = new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(Encoding.UTF8.GetBytes(body));
        }
        var content = new ByteArrayContent(packed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    private static HttpRequestMessage Get(EnvelopeServer server, string path, AuthenticationHeaderValue? authorization) =>
        new(HttpMethod.Get, path) { Headers = { Authorization = authorization } };

    private static HttpRequestMessage Form(EnvelopeServer server, string path, string? apiKey, string value, AuthenticationHeaderValue? authorization = null, string field = "mapping")
    {
        var fields = new List<KeyValuePair<string, string>> { new(field, value) };
        if (apiKey is not null)
        {
            fields.Add(new("api_key", apiKey));
        }
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields), Headers = { Authorization = authorization } };
    }

    private static JsonObject Object(string text) =>
        JsonNode.Parse(text) as JsonObject ?? throw new Xunit.Sdk.XunitException($"not a JSON object: {text}");

    private static void NativeEnvelope(int status, HttpResponseMessage response, string text)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = Object(text);
        Assert.Equal(status, body["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrWhiteSpace(body["detail"]?.GetValue<string>()), text);
    }

    private static void BrazeEnvelope(int status, HttpResponseMessage response, string text)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(string.IsNullOrWhiteSpace(Object(text)["message"]?.GetValue<string>()), text);
    }

    private static void MoEngageEnvelope(int status, HttpResponseMessage response, string text)
    {
        var body = Object(text);
        Assert.Equal("fail", body["status"]!.GetValue<string>());
        var error = body["error"]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace(error["message"]?.GetValue<string>()), text);
        Assert.False(string.IsNullOrWhiteSpace(error["type"]?.GetValue<string>()), text);
        Assert.False(string.IsNullOrWhiteSpace(error["request_id"]?.GetValue<string>()), text);
    }

    private static void UserpilotEnvelope(int status, HttpResponseMessage response, string text)
    {
        var error = Object(text)["errors"]!.AsArray().Single()!.AsObject();
        foreach (var field in new[] { "details", "error", "error_code", "message" })
        {
            Assert.False(string.IsNullOrWhiteSpace(error[field]?.GetValue<string>()), $"{field} in {text}");
        }
    }

    private static void AmplitudeEnvelope(int status, HttpResponseMessage response, string text)
    {
        var body = Object(text);
        Assert.Equal(status, body["code"]!.GetValue<int>());
        Assert.False(string.IsNullOrWhiteSpace(body["error"]?.GetValue<string>()), text);
    }

    private const string SegmentTrack = """{"userId":"u","event":"Opened"}""";

    private static void SegmentEnvelope(int status, HttpResponseMessage response, string text)
    {
        var body = Object(text);
        Assert.False(body["success"]!.GetValue<bool>());
        Assert.False(string.IsNullOrWhiteSpace(body["message"]?.GetValue<string>()), text);
        Assert.False(string.IsNullOrWhiteSpace(body["code"]?.GetValue<string>()), text);
    }

    private static string PostHogCapture(string key) => $$"""{"api_key":"{{key}}","event":"opened","distinct_id":"u"}""";

    private static void PostHogEnvelope(int status, HttpResponseMessage response, string text)
    {
        var body = Object(text);
        Assert.False(string.IsNullOrWhiteSpace(body["type"]?.GetValue<string>()), text);
        Assert.False(string.IsNullOrWhiteSpace(body["code"]?.GetValue<string>()), text);
        Assert.False(string.IsNullOrWhiteSpace(body["detail"]?.GetValue<string>()), text);
    }

    private static void CooladataEnvelope(int status, HttpResponseMessage response, string text)
    {
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.False(string.IsNullOrWhiteSpace(text));
    }
}

/// <summary>A server with a key limited to Braze's permissions besides the keys of each role.</summary>
public class EnvelopeServer : RunningServer
{
    public string BrazeOnlyKey { get; private set; } = "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        BrazeOnlyKey = await this.KeyWithAsync(Roles.Read, "users.export.ids");
    }
}

/// <summary>Every rate limit of every surface set to one request (or mapping) an hour, so that a second call is refused.</summary>
public sealed class TightlyLimitedServer : EnvelopeServer
{
    protected override SelfsameOptions Options(string data) => base.Options(data) with
    {
        AmplitudeMappingsPerWindow = 1,
        RateLimits = new[] { "native", "braze.users", "moengage.customer", "userpilot.identify", "userpilot.track", "cooladata" }
            .ToDictionary(f => f, f => new RateLimitRule(f, 1, TimeSpan.FromHours(1)), StringComparer.Ordinal),
    };
}

/// <summary>
/// A node on PostgreSQL whose database connection runs through a proxy that the test cuts, as when the database goes
/// down under a running node.
/// </summary>
public sealed class UnreachableStoreServer : EnvelopeServer
{
    private readonly TcpProxy _proxy = new(PostgresEndpoint.Host, PostgresEndpoint.Port);

    protected override bool UsesPostgres => true;

    protected override string ServerConnection(Npgsql.NpgsqlConnectionStringBuilder direct)
    {
        direct.Host = "127.0.0.1";
        direct.Port = _proxy.Port;
        direct.Timeout = 3;
        return direct.ConnectionString;
    }

    public void CutTheDatabase() => _proxy.Cut();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _proxy.DisposeAsync();
    }
}

public sealed class SurfaceEnvelopeTests(EnvelopeServer server) : IClassFixture<EnvelopeServer>
{
    public static TheoryData<string, Failure> Refusals =>
        Envelopes.Cases(Failure.Unauthorized, Failure.Forbidden, Failure.InvalidField, Failure.TooLarge, Failure.UnsupportedMediaType,
            Failure.UnknownPath, Failure.WrongMethod);

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Refusal_IsAnsweredInTheSurfacesOwnEnvelope(string surface, Failure failure)
    {
        using var response = await Envelopes.AssertAnsweredAsync(server, surface, failure);
        if (failure == Failure.WrongMethod)
        {
            Assert.NotEmpty(response.Content.Headers.Allow);
        }
    }

    [Fact]
    public async Task Userpilot_ALiveKeyUnderAnotherScheme_IsToldTheSchemeIsWrong_NotTheKey()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/userpilot/v1/identify") { Content = Http.Json("""{"user_id":"u"}""") };
        request.Headers.Authorization = new("Bearer", server.WriteKey);
        request.Headers.Add("X-API-Version", "2020-09-22");
        using var response = await client.SendAsync(request);

        Assert.Equal(401, (int)response.StatusCode);
        var details = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]![0]!["details"]!.GetValue<string>();
        Assert.Contains("Token scheme", details, StringComparison.Ordinal);
        Assert.DoesNotContain("not a live key", details, StringComparison.Ordinal);
    }
}

public sealed class SurfaceRateLimitEnvelopeTests(TightlyLimitedServer server) : IClassFixture<TightlyLimitedServer>
{
    [Fact]
    public async Task Userpilot_ARequestRefusedForItsApiVersion_DoesNotCountAgainstTheLimit()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new("Token", server.WriteKey);
        using var unversioned = await client.PostAsync("/userpilot/v1/track", Http.Json("""{"user_id":"u","event_name":"e"}"""));
        client.DefaultRequestHeaders.Add("X-API-Version", "2020-09-22");
        using var versioned = await client.PostAsync("/userpilot/v1/track", Http.Json("""{"user_id":"u","event_name":"e"}"""));
        using var over = await client.PostAsync("/userpilot/v1/track", Http.Json("""{"user_id":"u","event_name":"e"}"""));

        Assert.Equal(400, (int)unversioned.StatusCode);
        Assert.Equal(202, (int)versioned.StatusCode);
        Assert.Equal(429, (int)over.StatusCode);
    }

    public static TheoryData<string, Failure> Limited => Envelopes.Cases(Failure.RateLimited);

    [Theory]
    [MemberData(nameof(Limited))]
    public async Task SecondCallOverALimitOfOne_Is429InTheSurfacesOwnEnvelope_WithRetryAfter(string surface, Failure failure)
    {
        // The first call takes the one permit (unless a surface sharing the family took it already: Journey Analytics' two APIs).
        using (var client = new HttpClient { BaseAddress = server.BaseAddress })
        using (var first = await client.SendAsync(Envelopes.All[surface].Calls[failure].Request(server)))
        {
            Assert.True((int)first.StatusCode != 429 || surface.StartsWith("cooladata", StringComparison.Ordinal), $"{surface}: the first call was refused");
        }
        using var response = await Envelopes.AssertAnsweredAsync(server, surface, failure);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, $"{surface}: Retry-After {response.Headers.RetryAfter}");
    }
}

/// <summary>
/// PostgreSQL gone from under a node: every surface answers 503 in its own envelope, with Retry-After. Each call is made
/// once while the database is up (so that the key and project caches hold them, and the 503 comes from the handler's
/// own read or write, not from authentication), then again after the database is cut.
/// </summary>
public sealed class SurfaceStoreUnavailableTests(UnreachableStoreServer server) : IClassFixture<UnreachableStoreServer>
{
    [Fact]
    public async Task DatabaseDown_Is503InEachSurfacesOwnEnvelope_WithRetryAfter_FromTheHandlersOwnReadsAndWrites()
    {
        var calls = Envelopes.All.Where(s => s.Value.Calls.ContainsKey(Failure.StoreUnavailable)).Select(s => s.Key).ToList();
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        // Journey Analytics matches only users that exist.
        using (var customer = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/identify")
               { Headers = { Authorization = new("Bearer", server.WriteKey) }, Content = Http.Json("""{"user_id":"c"}""") }))
        {
            Assert.Equal(200, (int)customer.StatusCode);
        }
        foreach (var surface in calls)
        {
            using var warm = await client.SendAsync(Envelopes.All[surface].Calls[Failure.StoreUnavailable].Request(server));
            Assert.True(warm.IsSuccessStatusCode, $"{surface}: {(int)warm.StatusCode} {await warm.Content.ReadAsStringAsync()}");
        }
        using (var export = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/export") { Headers = { Authorization = new("Bearer", server.ReadKey) } }))
        {
            Assert.Equal(200, (int)export.StatusCode);
        }

        server.CutTheDatabase();

        foreach (var surface in calls)
        {
            using var response = await Envelopes.AssertAnsweredAsync(server, surface, Failure.StoreUnavailable);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        }
        // The export's answer is streamed after the pipeline's filter returned; its first page failing is still a 503.
        using var streamed = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/export") { Headers = { Authorization = new("Bearer", server.ReadKey) } });
        Assert.Equal(503, (int)streamed.StatusCode);
        Assert.Equal("application/problem+json", streamed.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(1), streamed.Headers.RetryAfter?.Delta);
    }
}
