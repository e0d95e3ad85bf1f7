using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Selfsame.Server.Hosting;

namespace Selfsame.Server.Tests.Support;

/// <summary>A server on a clock the test moves (and, for the rate-limit test, an Amplitude mapping limit of 5 per 30 s).</summary>
public sealed class FakeClockServer : RunningServer
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override TimeProvider Time => Clock;

    protected override SelfsameOptions Options(string data) => base.Options(data) with { AmplitudeMappingsPerWindow = 5 };
}

public static class AmplitudeCalls
{
    /// <summary>POST /amplitude/usermap with mapping and api_key in the query string, as the seed's curl examples send them.</summary>
    public static Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> MapInQueryAsync(this HttpClient client, string mapping, string apiKey) =>
        AmplitudeAsync(client, new HttpRequestMessage(HttpMethod.Post,
            $"/amplitude/usermap?mapping={mapping.Replace(" ", "%20", StringComparison.Ordinal)}&api_key={Uri.EscapeDataString(apiKey)}"));

    /// <summary>POST /amplitude/usermap with a form body, as Segment's Amplitude destination sends it.</summary>
    public static Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> MapInFormAsync(this HttpClient client, string mapping, string apiKey) =>
        AmplitudeAsync(client, new HttpRequestMessage(HttpMethod.Post, "/amplitude/usermap")
        {
            Content = new FormUrlEncodedContent([new("mapping", mapping), new("api_key", apiKey)]),
        });

    /// <summary>GET /amplitude/api/2/usermap with Basic api_key:secret_key and user_ids as form data, as the seed's Python example.</summary>
    public static Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> LookupAsync(this HttpClient client, string apiKey, string secretKey, params string[] userIds)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/amplitude/api/2/usermap")
        {
            Content = new FormUrlEncodedContent(userIds.Select(u => new KeyValuePair<string, string>("user_ids", u))),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{apiKey}:{secretKey}")));
        return AmplitudeAsync(client, request, lookup: true);
    }

    /// <summary>
    /// Sends and reads a JSON answer. Amplitude's SDKs read the status from the body: every answer carries it as "code",
    /// except a lookup's success, which is the map of user ids alone, as the seed shows it.
    /// </summary>
    public static async Task<(int, JsonNode?, HttpResponseMessage)> AmplitudeAsync(this HttpClient client, HttpRequestMessage request, bool lookup = false)
    {
        using (request)
        {
            var response = await client.SendAsync(request);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            // A lookup's map has exactly the user ids asked for as its keys, which its tests check.
            if (!lookup || !response.IsSuccessStatusCode)
            {
                Assert.Equal((int)response.StatusCode, body!["code"]!.GetValue<int>());
            }
            return ((int)response.StatusCode, body, response);
        }
    }
}
