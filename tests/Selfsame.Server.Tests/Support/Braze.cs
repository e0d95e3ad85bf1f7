using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Server.Hosting;

namespace Selfsame.Server.Tests.Support;

public static class BrazeCalls
{
    /// <summary>POSTs a JSON body to a Braze path (under /braze) and reads the answer, which must always be a JSON object.</summary>
    public static async Task<(int Status, JsonObject Body, HttpResponseMessage Response)> BrazeAsync(this HttpClient client, string path, string body)
    {
        var response = await client.PostAsync($"/braze{path}", Http.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        var json = JsonNode.Parse(text) as JsonObject ?? throw new Xunit.Sdk.XunitException($"not a JSON object: {text}");
        Assert.True(json["message"] is not null, $"Braze answers always carry 'message': {text}");
        return ((int)response.StatusCode, json, response);
    }

    /// <summary>A setup call that must succeed whole: a 2xx answer without errors.</summary>
    public static async Task<JsonObject> SucceedsAsync(this HttpClient client, string path, string body)
    {
        var (status, answer, _) = await client.BrazeAsync(path, body);
        Assert.True(status is >= 200 and < 300 && answer["errors"] is null, $"{path} answered {status}: {answer.ToJsonString()}");
        return answer;
    }

    /// <summary>A key of the default project holding only the given Braze permissions.</summary>
    public static async Task<string> KeyWithAsync(this RunningServer server, string role, params string[] permissions) =>
        (await server.Services.GetRequiredService<ApiKeys>()
            .CreateAsync(ProjectId.Default, role, "braze test", new WriteOrigin("test", null), CancellationToken.None, permissions)).Key;

    /// <summary>A string custom attribute of an exported user.</summary>
    public static string Attribute(this JsonNode? user, string key) => user!["custom_attributes"]![key]!.GetValue<string>();

    /// <summary>The users an export by external ids finds.</summary>
    public static async Task<JsonObject> ExportAsync(this HttpClient client, params string[] externalIds)
    {
        var (status, body, _) = await client.BrazeAsync("/users/export/ids",
            new JsonObject { ["external_ids"] = new JsonArray(externalIds.Select(id => (JsonNode)id).ToArray()) }.ToJsonString());
        Assert.Equal(201, status);
        return body;
    }
}

/// <summary>
/// A server on a clock the test moves, with Braze's shared /users/* limit set to 3 requests a minute, and the native API
/// and the Journey Analytics surface (no vendor limit, none by default) limited to 2 a minute.
/// </summary>
public sealed class BrazeRateLimitServer : RunningServer
{
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 25, 10, 0, 10, TimeSpan.Zero));

    protected override TimeProvider Time => Clock;

    protected override SelfsameOptions Options(string data) => base.Options(data) with
    {
        RateLimits = new Dictionary<string, RateLimitRule>
        {
            ["braze.users"] = new("braze.users", 3, TimeSpan.FromMinutes(1)),
            ["native"] = new("native", 2, TimeSpan.FromMinutes(1)),
            ["cooladata"] = new("cooladata", 2, TimeSpan.FromMinutes(1)),
        },
    };
}
