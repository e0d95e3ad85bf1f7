using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Server.Tests.Support;
using Selfsame.Storage;
using Selfsame.Storage.Sqlite;
using Xunit.Abstractions;

namespace Selfsame.Server.Tests.Hosting;

/// <summary>
/// Sends every write endpoint (native and vendor) thousands of seeded mutations of a valid request: broken and truncated
/// JSON, wrong types, huge strings, deep nesting, invalid UTF-8, NUL and unpaired surrogates, numbers out of range,
/// duplicate keys, wrong content types. Never a 5xx; a refused request (4xx) changes no stored row; the server keeps
/// answering. The seed is fixed, so a failure reproduces.
/// </summary>
public sealed class HostileInputTests(RunningServer server, ITestOutputHelper output) : IClassFixture<RunningServer>
{
    private static readonly JsonNode?[] Weird =
    [
        null, true, 0, -1, 1e308, JsonNode.Parse("123456789012345678901234567890"), "", new string('x', 5000), "\u0000", "null", "undefined",
        new JsonArray(), new JsonObject(), JsonNode.Parse("""[1,[2,[3]]]"""), JsonNode.Parse("""{"a":{"b":{"c":{}}}}"""), "2026-13-45T99:00:00Z",
    ];

    [Fact]
    public async Task EveryWriteEndpoint_UnderMutatedInput_AnswersBelow500_AndARefusalWritesNothing()
    {
        var random = new Random(20261124);
        var endpoints = Endpoints();
        var (tried, refused) = (0, 0);
        var failures = new List<string>();
        foreach (var endpoint in endpoints)
        {
            for (var n = 0; n < 120; n++)
            {
                var body = Mutate(endpoint.Seed.DeepClone(), random);
                foreach (var (bytes, contentType) in Variants(endpoint, body, random, n))
                {
                    var before = Fingerprint();
                    var (status, text) = await SendAsync(endpoint, bytes, contentType);
                    tried++;
                    if (status >= 500)
                    {
                        failures.Add($"{status} {endpoint.Path} {Encoding.UTF8.GetString(bytes)[..Math.Min(200, bytes.Length)]} -> {text[..Math.Min(200, text.Length)]}");
                    }
                    else if (status >= 400)
                    {
                        refused++;
                        if (Fingerprint() != before)
                        {
                            failures.Add($"{status} but data changed: {endpoint.Path} {Encoding.UTF8.GetString(bytes)[..Math.Min(200, bytes.Length)]}");
                        }
                    }
                }
            }
        }
        output.WriteLine($"tried {tried} inputs on {endpoints.Count} endpoints; {refused} refused with a 4xx, {tried - refused - failures.Count} accepted");
        Assert.True(failures.Count == 0, $"{failures.Count} of {tried} inputs went wrong:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(tried > 2000, $"only {tried} inputs were tried");
        using var alive = server.Client(null);
        Assert.Equal(200, (await alive.GetJsonAsync("/readyz")).Status);
    }

    private sealed record Endpoint(HttpMethod Method, string Path, JsonNode Seed, bool Form, Action<HttpRequestMessage> Authorize);

    private List<Endpoint> Endpoints()
    {
        void Bearer(HttpRequestMessage r) => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminKey);
        void Token(HttpRequestMessage r) => r.Headers.Authorization = new AuthenticationHeaderValue("Token", server.AdminKey);
        void TokenVersion(HttpRequestMessage r)
        {
            Token(r);
            r.Headers.Add("X-API-Version", "2020-09-22");
        }
        void Basic(HttpRequestMessage r) => r.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"default:{server.AdminKey}")));
        void None(HttpRequestMessage r)
        {
        }
        JsonNode Json(string text) => JsonNode.Parse(text)!;
        return
        [
            new(HttpMethod.Post, "/v1/identify", Json("""{"user_id":"h1","identifiers":[{"type":"email","value":"h@x.com"},{"type":"alias","label":"l","name":"n"}],"properties":{"p":1},"set_once":{"q":"2026-01-01T00:00:00Z"},"unset":["z"]}"""), false, Bearer),
            new(HttpMethod.Post, "/v1/link", Json("""{"from":{"type":"user_id","value":"ha"},"into":{"type":"user_id","value":"hb"}}"""), false, Bearer),
            new(HttpMethod.Post, "/v1/unlink", Json("""{"from":{"type":"user_id","value":"ha"},"into":{"type":"user_id","value":"hb"}}"""), false, Bearer),
            new(HttpMethod.Post, "/v1/batch", Json("""{"operations":[{"op":"identify","user_id":"hx"},{"op":"link","from":{"type":"user_id","value":"ha"},"into":{"type":"user_id","value":"hc"}}]}"""), false, Bearer),
            new(HttpMethod.Post, "/v1/track", Json("""{"events":[{"user_id":"hu","identifiers":[{"type":"device_id","value":"hd"}],"event":"e","time":"2026-01-01T00:00:00Z","properties":{"a":[1,{"b":2}]},"insert_id":"hi"}]}"""), false, Bearer),
            new(HttpMethod.Put, "/v1/admin/project/settings", Json("""{"max_per_type":{"user_id":1},"max_records":100,"identifier_types":["crm"],"phone_region":"US","retention_days":null}"""), false, Bearer),
            new(HttpMethod.Post, "/v1/admin/keys", Json("""{"role":"read","name":"n"}"""), false, Bearer),
            new(HttpMethod.Post, "/amplitude/2/httpapi", Json($$$"""{"api_key":"{{{server.AdminKey}}}","events":[{"user_id":"user1","device_id":"device1","event_type":"e","time":1700000000000,"event_properties":{"a":1},"insert_id":"x"}],"options":{"min_id_length":3}}"""), false, None),
            new(HttpMethod.Post, "/amplitude/usermap", Json($$$"""{"api_key":"{{{server.AdminKey}}}","mapping":[{"user_id":"m1","global_user_id":"g1"}]}"""), true, None),
            new(HttpMethod.Post, "/cooladata/api/v2/projects/default/users/identities", Json("""{"customer_user_id":"hu","alternative_user_id":"alt"}"""), false, Token),
            new(HttpMethod.Post, $"/cooladata/v3/{server.AdminKey}/track", Json("""{"data":{"events":[{"event_name":"e","user_id":"hu","event_timestamp_epoch":""" + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + """}]}}"""), true, None),
            new(HttpMethod.Post, "/moengage/v1/customer/default", Json("""{"type":"customer","customer_id":"hu","update_existing_only":false,"attributes":{"name":"n","points":1,"d":"2026-01-01T00:00:00Z","tags":["a"],"addValueToArrayField":{"t":["x"]}},"platforms":[{"platform":"web","active":"true"}]}"""), false, Basic),
            new(HttpMethod.Post, "/moengage/v1/customer/merge?app_id=default", Json("""{"merge_data":[{"merged_user":"hb","retained_user":"ha"}]}"""), false, Basic),
            new(HttpMethod.Post, "/moengage/v1/customer/delete?app_id=default", Json("""{"identity_type":"customer_id","identity_value":"hdel"}"""), false, Basic),
            new(HttpMethod.Post, "/moengage/v1/customers/export?app_id=default", Json("""{"data":{"identifiers":[{"identifier_type":"customer_id","identifier":"hu"}],"user_fields_to_export":["name"]}}"""), false, Basic),
            new(HttpMethod.Post, "/moengage/v1/transition/default", Json("""{"type":"transition","elements":[{"type":"customer","customer_id":"hu","attributes":{"a":1}},{"type":"device","customer_id":"hu","device_id":"hd","attributes":{"brand":"b"}},{"type":"event","customer_id":"hu","actions":[{"action":"e","attributes":{"x":1},"user_time":"2026-01-01T00:00:00Z"}]}]}"""), false, Basic),
            new(HttpMethod.Post, "/userpilot/v1/identify", Json("""{"user_id":"hu","metadata":{"name":"n","n":1,"d":"2026-01-01T00:00:00Z"},"company":{"id":"hc","plan":"p"}}"""), false, TokenVersion),
            new(HttpMethod.Post, "/userpilot/v1/companies/identify", Json("""{"company_id":"hc","metadata":{"size":10}}"""), false, TokenVersion),
            new(HttpMethod.Post, "/userpilot/v1/track", Json("""{"user_id":"hu","event_name":"e","metadata":{"a":1}}"""), false, TokenVersion),
            new(HttpMethod.Post, "/braze/users/alias/new", Json("""{"user_aliases":[{"external_id":"hu","alias_name":"an","alias_label":"al"},{"alias_name":"an2","alias_label":"al"}]}"""), false, Bearer),
            new(HttpMethod.Post, "/braze/users/identify", Json("""{"aliases_to_identify":[{"external_id":"hu","user_alias":{"alias_name":"an2","alias_label":"al"}}],"emails_to_identify":[{"external_id":"hu","email":"h@x.com","prioritization":["unidentified"]}]}"""), false, Bearer),
            new(HttpMethod.Post, "/braze/users/merge", Json("""{"merge_updates":[{"identifier_to_merge":{"external_id":"hb"},"identifier_to_keep":{"external_id":"ha"}}]}"""), false, Bearer),
            new(HttpMethod.Post, "/braze/users/alias/update", Json("""{"alias_updates":[{"alias_label":"al","old_alias_name":"an","new_alias_name":"an3"}]}"""), false, Bearer),
            new(HttpMethod.Post, "/braze/users/external_ids/rename", Json("""{"external_id_renames":[{"current_external_id":"hx","new_external_id":"hy"}]}"""), false, Bearer),
            new(HttpMethod.Post, "/braze/users/delete", Json("""{"external_ids":["hdel"],"braze_ids":null}"""), false, Bearer),
            new(HttpMethod.Post, "/braze/users/export/ids", Json("""{"external_ids":["hu"],"user_aliases":[{"alias_name":"an","alias_label":"al"}],"fields_to_export":["external_id","custom_attributes"]}"""), false, Bearer),
            new(HttpMethod.Post, "/braze/users/track", Json("""{"attributes":[{"external_id":"hu","email":"h@x.com","n":{"inc":1},"t":{"add":["a"]},"s":"v"}],"events":[{"user_alias":{"alias_name":"an","alias_label":"al"},"name":"e","time":"2026-01-01T00:00:00Z","properties":{"a":[1]}}],"purchases":[{"external_id":"hu","product_id":"p","currency":"USD","price":1.5,"quantity":2,"time":"2026-01-01T00:00:00Z"}]}"""), false, Bearer),
        ];
    }

    private static JsonNode? Mutate(JsonNode? node, Random random)
    {
        var roll = random.NextDouble();
        switch (node)
        {
            case JsonObject obj when obj.Count > 0 && roll < 0.7:
                var key = obj.Select(p => p.Key).ElementAt(random.Next(obj.Count));
                if (random.NextDouble() < 0.2)
                {
                    obj.Remove(key);
                }
                else
                {
                    var child = obj[key];
                    obj.Remove(key);
                    obj[key] = Mutate(child, random);
                }
                if (random.NextDouble() < 0.1)
                {
                    obj[$"zz{random.Next(10)}"] = Weird[random.Next(Weird.Length)]?.DeepClone();
                }
                return obj;
            case JsonArray array when array.Count > 0 && roll < 0.7:
                var index = random.Next(array.Count);
                var item = array[index];
                array.RemoveAt(index);
                array.Insert(index, Mutate(item, random));
                return array;
            default:
                return Weird[random.Next(Weird.Length)]?.DeepClone();
        }
    }

    private static IEnumerable<(byte[] Bytes, string? ContentType)> Variants(Endpoint endpoint, JsonNode? body, Random random, int n)
    {
        if (endpoint.Form)
        {
            var fields = body is JsonObject obj
                ? obj.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : p.Value?.ToJsonString() ?? "null")}")
                : [];
            yield return (Encoding.UTF8.GetBytes(string.Join("&", fields)), "application/x-www-form-urlencoded");
            yield break;
        }
        var text = body?.ToJsonString() ?? "null";
        yield return (Encoding.UTF8.GetBytes(text), "application/json");
        if (n < 12)
        {
            yield return (Encoding.UTF8.GetBytes(text[..random.Next(text.Length + 1)]), "application/json");
            var broken = Encoding.UTF8.GetBytes(text);
            broken[random.Next(broken.Length)] = 0xff;
            yield return (broken, "application/json");
            yield return (Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200)), "application/json");
            yield return (Encoding.UTF8.GetBytes(text.EndsWith('}') ? text[..^1] + ",\"user_id\":\"dup\",\"user_id\":\"dup2\"}" : text), "application/json");
            yield return (Encoding.UTF8.GetBytes(text.Replace("\"h", "\"\\ud800", StringComparison.Ordinal)), "application/json");
            yield return (Encoding.UTF8.GetBytes(text), "text/plain");
            yield return (Encoding.UTF8.GetBytes(text), null);
        }
    }

    private async Task<(int Status, string Text)> SendAsync(Endpoint endpoint, byte[] bytes, string? contentType)
    {
        using var client = server.Client(null);
        using var request = new HttpRequestMessage(endpoint.Method, endpoint.Path) { Content = new ByteArrayContent(bytes) };
        if (contentType is not null)
        {
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        endpoint.Authorize(request);
        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Row counts of every table a write can touch, read straight from the store's database.</summary>
    private string Fingerprint() => (string)server.Scalar(
        "SELECT (SELECT count(*) FROM records) || '/' || (SELECT count(*) FROM identifiers) || '/' || (SELECT count(*) FROM links) || '/' || " +
        $"{PropertyCounts} || '/' || (SELECT count(*) FROM events) || '/' || (SELECT count(*) FROM api_keys) || '/' || " +
        "(SELECT count(*) FROM companies) || '/' || (SELECT count(*) FROM company_properties) || '/' || (SELECT count(*) FROM company_members) || '/' || " +
        "coalesce((SELECT max(settings) FROM projects), '') || '/'")!;

    /// <summary>How many properties there are and the highest sequence: a row each on PostgreSQL, one document per record on SQLite.</summary>
    private static string PropertyCounts => RunningServer.OnPostgres
        ? "(SELECT count(*) FROM properties) || '/' || coalesce((SELECT max(seq) FROM properties), 0)"
        : "(SELECT count(*) FROM record_properties, json_each(document)) || '/' || coalesce((SELECT max(json_extract(value, '$[3]')) FROM record_properties, json_each(document)), 0)";
}
