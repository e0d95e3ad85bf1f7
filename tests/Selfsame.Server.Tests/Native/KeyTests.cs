using System.Net;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Native;

public sealed class KeyTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Theory]
    [InlineData(null)]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer ss_000000000000_wrongsecret")]
    [InlineData("Bearer not-a-key")]
    public async Task MissingOrBadKey_Is401WithoutData(string? authorization)
    {
        using var client = server.Client(null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/resolve?type=user_id&value=x");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        Assert.Contains("Authorization", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadKey_CannotWrite_AndWriteKeyCannotAdminister()
    {
        using var read = server.Client(server.ReadKey);
        using var write = server.Client(server.WriteKey);
        Assert.Equal(403, (await read.PostAsync("/v1/identify", """{"user_id":"ro"}""")).Status);
        Assert.Equal(403, (await write.GetJsonAsync("/v1/admin/keys")).Status);
        Assert.Equal(404, (await read.GetJsonAsync("/v1/resolve?type=user_id&value=ro")).Status);
    }

    [Fact]
    public async Task CreateKey_WithPermissions_ListedAndEnforced_UnknownOnesRefused()
    {
        using var admin = server.Client(server.AdminKey);
        var (status, created) = await admin.PostAsync("/v1/admin/keys", """{"role":"write","name":"braze","permissions":["users.track"]}""");
        Assert.Equal(201, status);
        Assert.Equal("users.track", created.Value<string>("permissions.0"));
        var (_, keys) = await admin.GetJsonAsync("/v1/admin/keys");
        Assert.Equal("users.track", keys!.AsArray().Single(k => k!["key_id"]!.GetValue<string>() == created.Value<string>("key_id"))!["permissions"]![0]!.GetValue<string>());

        using var limited = server.Client(created.Value<string>("key"));
        Assert.Equal(201, (await limited.PostAsync("/braze/users/track", """{"attributes":[{"external_id":"perm-user","a":1}]}""")).Status);
        Assert.Equal(403, (await limited.PostAsync("/braze/users/alias/new", """{"user_aliases":[{"alias_name":"n","alias_label":"l"}]}""")).Status);
        // Limited to named permissions, the key opens no endpoint that names none: not the native API, not the admin API.
        Assert.Equal(403, (await limited.PostAsync("/v1/identify", """{"user_id":"perm-user"}""")).Status);
        Assert.Equal(403, (await limited.GetJsonAsync("/v1/resolve?type=user_id&value=perm-user")).Status);

        var (refused, problem) = await admin.PostAsync("/v1/admin/keys", """{"role":"write","permissions":["users.everything"]}""");
        Assert.Equal(400, refused);
        Assert.StartsWith("permissions", problem.Value<string>("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokedKey_StopsWorkingAtOnce()
    {
        using var admin = server.Client(server.AdminKey);
        var (created, key) = await admin.PostAsync("/v1/admin/keys", """{"role":"read","name":"short-lived"}""");
        Assert.Equal(201, created);
        using var shortLived = server.Client(key.Value<string>("key"));
        Assert.Equal(404, (await shortLived.GetJsonAsync("/v1/resolve?type=user_id&value=nobody")).Status);

        Assert.Equal(204, (await admin.SendAsync(HttpMethod.Delete, $"/v1/admin/keys/{key.Value<string>("key_id")}")).Status);

        Assert.Equal(401, (await shortLived.GetJsonAsync("/v1/resolve?type=user_id&value=nobody")).Status);
        var listed = (await admin.GetJsonAsync("/v1/admin/keys")).Body!.AsArray();
        Assert.DoesNotContain(key.Value<string>("key"), listed.ToJsonString(), StringComparison.Ordinal);
        Assert.NotNull(listed.Single(k => k!["key_id"]!.GetValue<string>() == key.Value<string>("key_id"))!["revoked_at"]);
    }

    [Fact]
    public async Task AnotherProjectsKey_NeverReachesThisProjectsData()
    {
        using var admin = server.Client(server.AdminKey);
        using var write = server.Client(server.WriteKey);
        var projectId = $"p{Guid.NewGuid():N}"[..12];
        var (status, created) = await admin.PostAsync("/v1/admin/projects", $$$"""{"id":"{{{projectId}}}","name":"Other"}""");
        Assert.Equal(201, status);
        using var other = server.Client(created.Value<string>("admin_key.key"));

        await write.PostAsync("/v1/identify", """{"user_id":"only-in-default","identifiers":[{"type":"email","value":"secret@x.com"}]}""");

        Assert.Equal(404, (await other.GetJsonAsync("/v1/resolve?type=email&value=secret@x.com")).Status);
        var profileId = (await write.GetJsonAsync("/v1/resolve?type=email&value=secret@x.com")).Body.Value<long>("profile_id");
        Assert.Equal(404, (await other.GetJsonAsync($"/v1/profiles/{profileId}")).Status);
        Assert.Equal(404, (await other.SendAsync(HttpMethod.Delete, $"/v1/profiles/{profileId}")).Status);
        Assert.Equal(200, (await write.GetJsonAsync($"/v1/profiles/{profileId}")).Status);
        Assert.Equal(projectId, (await other.GetJsonAsync("/v1/admin/project")).Body.Value<string>("project_id"));
        Assert.Equal(409, (await admin.PostAsync("/v1/admin/projects", $$$"""{"id":"{{{projectId}}}"}""")).Status);
    }

    [Fact]
    public async Task Settings_DeclaredIdentifierType_BecomesUsable_AndBadSettingsAreRefused()
    {
        using var admin = server.Client(server.AdminKey);
        var projectId = $"s{Guid.NewGuid():N}"[..12];
        var created = (await admin.PostAsync("/v1/admin/projects", $$$"""{"id":"{{{projectId}}}"}""")).Body;
        using var owner = server.Client(created.Value<string>("admin_key.key"));

        Assert.Equal(400, (await owner.PostAsync("/v1/identify", """{"user_id":"c1","identifiers":[{"type":"crm_id","value":"C-1"}]}""")).Status);
        var (bad, problem) = await owner.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"max_records":1}"""));
        Assert.Equal(400, bad);
        Assert.Contains("max_records", problem.Value<string>("detail"), StringComparison.Ordinal);
        var (unknownField, _) = await owner.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"max_recordz":10}"""));
        Assert.Equal(400, unknownField);
        var (nullList, nullProblem) = await owner.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"max_per_type":null}"""));
        Assert.Equal(400, nullList);
        Assert.Contains("max_per_type", nullProblem.Value<string>("detail"), StringComparison.Ordinal);
        var (nullItem, nullItemProblem) = await owner.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"identifier_types":[null]}"""));
        Assert.Equal(400, nullItem);
        Assert.Contains("identifier_types", nullItemProblem.Value<string>("detail"), StringComparison.Ordinal);

        var (ok, settings) = await owner.SendAsync(HttpMethod.Put, "/v1/admin/project/settings",
            Http.Json("""{"max_per_type":{"user_id":1,"crm_id":1},"max_records":50,"identifier_types":["crm_id"],"phone_region":"DE"}"""));
        Assert.Equal(200, ok);
        Assert.Equal(50, settings.Value<int>("settings.max_records"));
        Assert.Equal(200, (await owner.PostAsync("/v1/identify", """{"user_id":"c1","identifiers":[{"type":"crm_id","value":"C-1"},{"type":"phone","value":"030 1234567"}]}""")).Status);
        Assert.Equal(200, (await owner.GetJsonAsync("/v1/resolve?type=phone&value=%2B49301234567")).Status);

        // Retention: off until set; when on, the sweep runs on demand and says what it did.
        Assert.False((await owner.PostAsync("/v1/admin/retention/run", "{}")).Body.Value<bool>("enabled"));
        await owner.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"retention_days":30}"""));
        var report = (await owner.PostAsync("/v1/admin/retention/run", "{}")).Body;
        Assert.Equal((true, 30, 0), (report.Value<bool>("enabled"), report.Value<int>("retention_days"), report.Value<int>("deleted_records")));
        Assert.Equal(400, (await owner.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"retention_days":0}"""))).Status);
        Assert.Equal(403, (await server.Client(server.WriteKey).PostAsync("/v1/admin/retention/run", "{}")).Status);

        // The audit log of the new project: who created it, and each settings change, newest first; never a key.
        var audit = (await owner.GetJsonAsync("/v1/admin/audit?limit=10")).Body!;
        var actions = audit["entries"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()).ToList();
        Assert.Equal("project.create", actions[^1]);
        Assert.Equal(2, actions.Count(a => a == "settings.update"));
        Assert.All(audit["entries"]!.AsArray(), e => Assert.Equal("native", e!["surface"]!.GetValue<string>()));
        Assert.DoesNotContain("ss_", audit.ToJsonString(), StringComparison.Ordinal);
    }
}
