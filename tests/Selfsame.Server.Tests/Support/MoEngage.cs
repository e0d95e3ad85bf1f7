using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Graph;
using Selfsame.Keys;

namespace Selfsame.Server.Tests.Support;

/// <summary>
/// A server with two MoEngage workspaces: the seed's workspace id as a plain project, and a project with identity
/// resolution on (identity_resolution: moe_mobile as a phone, then moe_email).
/// </summary>
public sealed class MoEngageServer : RunningServer
{
    public const string SeedWorkspace = "VJ0GSMESHMQA3L7WV1EEK3UR";
    public const string ResolvingWorkspace = "IRWORKSPACE";

    public string SeedKey { get; private set; } = "";
    public string ResolvingKey { get; private set; } = "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var projects = Services.GetRequiredService<Projects>();
        var keys = Services.GetRequiredService<ApiKeys>();
        var origin = new WriteOrigin("test", null);
        var seed = ProjectId.Parse(SeedWorkspace.ToLowerInvariant());
        var resolving = ProjectId.Parse(ResolvingWorkspace.ToLowerInvariant());
        await projects.CreateAsync(seed, null, CancellationToken.None);
        await projects.CreateAsync(resolving, null, CancellationToken.None);
        await projects.UpdateSettingsAsync(resolving, ProjectSettings.Default with
        {
            // The one setting: moe_mobile (a phone), then moe_email, as MoEngage's standard identifiers.
            IdentityResolution = true,
        }, origin, CancellationToken.None);
        SeedKey = (await keys.CreateAsync(seed, Roles.Admin, "moengage", origin, CancellationToken.None)).Key;
        ResolvingKey = (await keys.CreateAsync(resolving, Roles.Admin, "moengage", origin, CancellationToken.None)).Key;
    }

    /// <summary>A client with MoEngage's Basic base64(workspace_id:api_key).</summary>
    public HttpClient MoEngage(string workspace, string key)
    {
        var client = Client(null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{workspace}:{key}")));
        return client;
    }
}

public static class MoEngageCalls
{
    /// <summary>POSTs JSON to a path under /moengage/v1; every answer must be a JSON object with "status".</summary>
    public static async Task<(int Status, JsonObject Body)> MoEngageAsync(this HttpClient client, string path, string body)
    {
        using var response = await client.PostAsync($"/moengage/v1{path}", Http.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        var json = JsonNode.Parse(text) as JsonObject ?? throw new Xunit.Sdk.XunitException($"not a JSON object: {text}");
        Assert.True(json["status"] is not null, $"MoEngage answers always carry 'status': {text}");
        return ((int)response.StatusCode, json);
    }

    public static string ErrorType(this JsonObject body) => body["error"]!["type"]!.GetValue<string>();

    public static string ErrorMessage(this JsonObject body) => body["error"]!["message"]!.GetValue<string>();

    /// <summary>The user_attributes of one user exported by customer_id, or null when not found.</summary>
    public static async Task<JsonObject?> ExportUserAsync(this HttpClient client, string workspace, string customerId)
    {
        var (status, body) = await client.MoEngageAsync($"/customers/export?app_id={workspace}",
            $$$"""{"data":{"identifiers":[{"identifier_type":"customer_id","identifier":"{{{customerId}}}"}]}}""");
        Assert.Equal(200, status);
        var users = body["data"]!["users"]!.AsArray();
        return users.Count == 0 ? null : users[0]!["user_attributes"]!.AsObject();
    }
}
