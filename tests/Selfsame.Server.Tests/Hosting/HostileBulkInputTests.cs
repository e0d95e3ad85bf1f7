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
/// The endpoints that answer with a job (Userpilot's bulk calls, the native import) under seeded malformed input: broken
/// JSON and NDJSON, wrong types, truncated and malformed multipart bodies, wrong content types, invalid UTF-8. Never a
/// 5xx, and a refused request (4xx) stores no job: what it would write later is never acknowledged.
/// </summary>
public sealed class HostileBulkInputTests(RunningServer server, ITestOutputHelper output) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task EveryJobEndpoint_UnderMutatedInput_AnswersBelow500_AndARefusalStoresNoJob()
    {
        var random = new Random(20261125);
        var (tried, refused) = (0, 0);
        var failures = new List<string>();
        const string users = """{"users":[{"user_id":"b1","company_id":"c1","metadata":{"a":"1","n":2}},{"user_id":"b2"}]}""";
        const string companies = """{"companies":[{"company_id":"c1","metadata":{"size":10}}]}""";
        const string file = "{\"user_id\":\"f1\",\"metadata\":{\"a\":1}}\n{\"user_id\":\"f2\"}\n";
        const string import = "{\"user_id\":\"i1\"}\n{\"op\":\"track\",\"user_id\":\"i1\",\"event\":\"e\"}\n";
        for (var n = 0; n < 150; n++)
        {
            foreach (var (method, path, content, auth) in Requests(random, n, users, companies, file, import))
            {
                var before = Jobs();
                using var client = server.Client(null);
                using var request = new HttpRequestMessage(method, path) { Content = content };
                request.Headers.Authorization = new AuthenticationHeaderValue(auth, server.WriteKey);
                request.Headers.Add("X-API-Version", "2020-09-22");
                using var response = await client.SendAsync(request);
                var status = (int)response.StatusCode;
                tried++;
                if (status >= 500)
                {
                    failures.Add($"{status} {method} {path}: {await response.Content.ReadAsStringAsync()}");
                }
                else if (status >= 400)
                {
                    refused++;
                    if (Jobs() != before)
                    {
                        failures.Add($"{status} but a job was stored: {method} {path}");
                    }
                }
            }
        }
        output.WriteLine($"tried {tried} inputs on the job endpoints; {refused} refused with a 4xx, {tried - refused - failures.Count} accepted");
        Assert.True(failures.Count == 0, $"{failures.Count} of {tried} inputs went wrong:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(refused > tried / 3, $"only {refused} of {tried} inputs were refused: the mutations do not reach the checks");
        using var alive = server.Client(null);
        Assert.Equal(200, (await alive.GetJsonAsync("/readyz")).Status);
    }

    private static IEnumerable<(HttpMethod Method, string Path, HttpContent Content, string Auth)> Requests(Random random, int n, string users, string companies,
        string file, string import)
    {
        yield return (HttpMethod.Post, "/userpilot/v1/users/bulk_identify", Json(Mutate(users, random)), "Token");
        yield return (HttpMethod.Post, "/userpilot/v1/companies/bulk_identify", Json(Mutate(companies, random)), "Token");
        yield return (HttpMethod.Delete, "/userpilot/v1/users", Json(Mutate("""{"users":["d1","d2"]}""", random)), "Token");
        yield return (HttpMethod.Post, "/userpilot/v1/users/bulk_identify", Multipart(Mutate(file, random), random, n), "Token");
        yield return (HttpMethod.Post, "/v1/imports", Bytes(Encoding.UTF8.GetBytes(Mutate(import, random)), n % 3 == 0 ? "text/plain" : "application/x-ndjson"), "Bearer");
        if (n % 5 == 0)
        {
            var broken = Encoding.UTF8.GetBytes(import);
            broken[random.Next(broken.Length)] = 0xff;
            yield return (HttpMethod.Post, "/v1/imports", Bytes(broken, "application/x-ndjson"), "Bearer");
            yield return (HttpMethod.Post, "/v1/imports", Bytes([], "application/x-ndjson"), "Bearer");
        }
    }

    /// <summary>A text with one random change: a character dropped, doubled, replaced by a quote, brace or NUL, or cut short.</summary>
    private static string Mutate(string text, Random random)
    {
        var at = random.Next(text.Length);
        return random.Next(6) switch
        {
            0 => text.Remove(at, 1),
            1 => text.Insert(at, text[at].ToString()),
            2 => text[..at] + "\"" + text[(at + 1)..],
            3 => text[..at] + "\u0000" + text[(at + 1)..],
            4 => text[..at],
            _ => text.Replace("\"b1\"", random.Next(2) == 0 ? "5" : "{\"x\":[]}", StringComparison.Ordinal).Replace("\"a\":\"1\"", "\"a\":[1]", StringComparison.Ordinal),
        };
    }

    /// <summary>A multipart body with the file part, sometimes truncated, with a wrong boundary, a part of another name, or no boundary at all.</summary>
    private static HttpContent Multipart(string fileText, Random random, int n)
    {
        var boundary = $"b{n}";
        var body = $"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.ndjson\"\r\nContent-Type: application/x-ndjson\r\n\r\n{fileText}\r\n--{boundary}--\r\n";
        var contentType = $"multipart/form-data; boundary={boundary}";
        switch (n % 6)
        {
            case 1:
                body = body[..random.Next(body.Length)];
                break;
            case 2:
                contentType = "multipart/form-data; boundary=other";
                break;
            case 3:
                body = body.Replace("name=\"file\"", "name=\"upload\"", StringComparison.Ordinal);
                break;
            case 4:
                contentType = "multipart/form-data";
                break;
        }
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    private static HttpContent Json(string text) => Bytes(Encoding.UTF8.GetBytes(text), "application/json");

    private static HttpContent Bytes(byte[] bytes, string contentType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    /// <summary>How many jobs the project has, read straight from the store's database.</summary>
    private long Jobs() => Convert.ToInt64(server.Scalar("SELECT count(*) FROM jobs"), System.Globalization.CultureInfo.InvariantCulture);
}
