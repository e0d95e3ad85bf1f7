using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.DryRun;

/// <summary>Dry runs over HTTP: the write's own answer with its effect beside it, on the native API and on vendor surfaces; nothing kept.</summary>
public sealed class DryRunApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _write = server.Client(server.WriteKey);
    private readonly HttpClient _read = server.Client(server.ReadKey);

    private async Task<int> AuditCountAsync()
    {
        using var admin = server.Client(server.AdminKey);
        return (await admin.GetJsonAsync("/v1/admin/audit?limit=1000")).Body!["entries"]!.AsArray().Count;
    }

    [Fact]
    public async Task Identify_DryRun_AnswersTheWriteAndItsEffect_AndWritesNothing()
    {
        var (ann, device) = (Names.Unique("ann"), Names.Unique("dev"));
        var (_, first) = await _write.PostAsync("/v1/identify", $$"""{"user_id":"{{ann}}"}""");
        await _write.PostAsync("/v1/identify", $$"""{"identifiers":[{"type":"device_id","value":"{{device}}"}]}""");
        var audit = await AuditCountAsync();

        using var response = await _write.PostAsync("/v1/identify?dry_run=true",
            Http.Json($$$"""{"user_id":"{{{ann}}}","identifiers":[{"type":"device_id","value":"{{{device}}}"},{"type":"email","value":"null@null.com"}],"properties":{"plan":"pro"}}"""));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("true", response.Headers.GetValues("Selfsame-Dry-Run").Single());
        Assert.Equal(first.Value<long>("profile_id"), body.Value<long>("profile_id"));
        Assert.Single(body["merged"]!.AsArray());
        Assert.Equal(first.Value<long>("profile_id"), body.Value<long>("effect.profiles_merged.0.into"));
        Assert.Equal("deny_list.placeholder_email", body.Value<string>("effect.refused.0.rule"));
        Assert.Equal("pro", body.Value<string>("effect.properties_changed.0.after"));
        // Nothing kept: the device is still apart, no property, no audit entry, no review entry.
        Assert.NotEqual(first.Value<long>("profile_id"), (await _read.GetJsonAsync($"/v1/resolve?type=device_id&value={device}")).Body.Value<long>("profile_id"));
        Assert.Null((await _read.GetJsonAsync($"/v1/profiles/{first.Value<long>("profile_id")}")).Body!["properties"]!["plan"]);
        Assert.Equal(audit, await AuditCountAsync());
        Assert.Empty((await _read.GetJsonAsync($"/v1/review?profile_id={first.Value<long>("profile_id")}")).Body!["entries"]!.AsArray());
    }

    [Fact]
    public async Task DryRun_OfAFailingWrite_IsTheWritesError_AndABadFlagIsNamed()
    {
        var (refused, body) = await _write.PostAsync("/v1/identify?dry_run=1", """{"user_id":"undefined"}""");
        var (bad, badBody) = await _write.PostAsync("/v1/identify?dry_run=maybe", """{"user_id":"x"}""");
        using var header = new HttpRequestMessage(HttpMethod.Post, "/v1/identify") { Content = Http.Json("""{"user_id":"y"}""") };
        header.Headers.Add("Selfsame-Dry-Run", "sure");
        using var badHeader = await _write.SendAsync(header);

        Assert.Equal((409, "deny_list.placeholder_value"), (refused, body.Value<string>("rule")));
        Assert.Equal(400, bad);
        Assert.Equal("dry_run", badBody.Value<string>("errors.0.field"));
        Assert.Equal(400, (int)badHeader.StatusCode);
        Assert.Contains("Selfsame-Dry-Run", await badHeader.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteAndApprove_DryRun_KeepTheProfileAndTheEntry()
    {
        var user = Names.Unique("keep");
        var (_, created) = await _write.PostAsync("/v1/identify", $$"""{"user_id":"{{user}}","identifiers":[{"type":"device_id","value":"{{user}}-d"}]}""");
        var profile = created.Value<long>("profile_id");

        var (status, deleted) = await _write.SendAsync(HttpMethod.Delete, $"/v1/profiles/{profile}?dry_run=true");

        Assert.Equal(200, status);
        Assert.Single(deleted!["effect"]!["records_deleted"]!.AsArray());
        Assert.Equal(200, (await _read.GetJsonAsync($"/v1/profiles/{profile}")).Status);
    }

    [Fact]
    public async Task Import_DryRun_AnswersTotalsAndEffects_AndStoresNoJob()
    {
        var user = Names.Unique("imp");
        var jobsBefore = (await _read.GetJsonAsync("/v1/jobs")).Body!.AsArray().Count;
        var ndjson = $$"""
            {"op":"identify","user_id":"{{user}}","identifiers":[{"type":"device_id","value":"{{user}}-d"}]}
            {"op":"identify","user_id":"{{user}}-2","identifiers":[{"type":"device_id","value":"{{user}}-d"}]}
            {"op":"bogus"}
            """;
        using var response = await _write.PostAsync("/v1/imports?dry_run=true", new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(body.Value<bool>("dry_run"));
        Assert.Equal((3, 2, 1), (body.Value<int>("rows"), body.Value<int>("applied"), body.Value<int>("failed")));
        Assert.Equal(1, body.Value<int>("totals.refused"));
        Assert.Equal(3, body.Value<int>("errors.0.line"));
        Assert.Equal(2, body.Value<int>("effects.1.line"));
        Assert.Equal(jobsBefore, (await _read.GetJsonAsync("/v1/jobs")).Body!.AsArray().Count);
        Assert.Equal(404, (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Status);
    }

    [Fact]
    public async Task Braze_Track_WithTheHeader_Answers201WithTheEffect_AndWritesNothing()
    {
        using var braze = server.Client(server.WriteKey);
        braze.DefaultRequestHeaders.Add("Selfsame-Dry-Run", "true");
        var user = Names.Unique("braze-dry");
        var (status, body, response) = await braze.BrazeAsync("/users/track", $$"""{"attributes":[{"external_id":"{{user}}","plan":"pro"}]}""");

        Assert.Equal(201, status);
        Assert.Equal("success", body["message"]!.GetValue<string>());
        Assert.Single(body["effect"]!["records_created"]!.AsArray());
        Assert.Equal("true", response.Headers.GetValues("Selfsame-Dry-Run").Single());
        Assert.Equal(404, (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Status);
    }

    [Fact]
    public async Task Userpilot_Identify_WithTheHeader_HasABodyWithTheEffect_AndABulkJobIsNotStored()
    {
        using var userpilot = server.Userpilot(server.WriteKey);
        userpilot.DefaultRequestHeaders.Add("Selfsame-Dry-Run", "true");
        var user = Names.Unique("up-dry");
        var (status, body) = await userpilot.UserpilotAsync("/identify", $$$"""{"user_id":"{{{user}}}","metadata":{"plan":"pro"}}""");
        var (bulk, run) = await userpilot.UserpilotAsync("/users/bulk_identify", $$$"""{"users":[{"user_id":"{{{user}}}-b","metadata":{"plan":"pro"}}]}""");

        Assert.Equal(202, status);
        Assert.Single(body!["effect"]!["records_created"]!.AsArray());
        Assert.Equal(200, bulk);
        Assert.True(run.Value<bool>("dry_run"));
        Assert.Equal(1, run.Value<int>("totals.records_created"));
        Assert.Equal(404, (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Status);
        Assert.Equal(404, (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={user}-b")).Status);
    }

    [Fact]
    public async Task Cooladata_Identities_WithTheHeader_WrapsTheTextAnswer()
    {
        var customer = Names.Unique("cd-dry");
        await _write.PostAsync("/v1/identify", $$"""{"user_id":"{{customer}}"}""");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/cooladata/api/v2/projects/default/users/identities")
        {
            Content = new StringContent($$"""{"customer_user_id":"{{customer}}","alternative_user_id":"{{customer}}-alt"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Token", server.AdminKey);
        request.Headers.Add("Selfsame-Dry-Run", "true");
        using var client = server.Client(null);
        using var response = await client.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("1", body["answer"]!.ToString());
        Assert.Single(body["effect"]!["records_created"]!.AsArray());
        Assert.Equal(404, (await _read.GetJsonAsync($"/v1/resolve?type=alias&label=alternative_user_id&name={customer}-alt")).Status);
    }

    [Fact]
    public async Task Settings_DryRun_CountsWhatBreaksTheNewRules_AndSavesNothing()
    {
        using var admin = server.Client(server.AdminKey);
        var id = $"p{Guid.NewGuid():N}"[..20];
        var (_, created) = await admin.PostAsync("/v1/admin/projects", $$"""{"id":"{{id}}"}""");
        using var own = server.Client(created.Value<string>("admin_key.key"));
        await own.PostAsync("/v1/identify", """{"user_id":"ann","identifiers":[{"type":"email","value":"ann@acme.com"},{"type":"email","value":"shared@acme.com"}]}""");
        await own.PostAsync("/v1/identify", """{"user_id":"bob","identifiers":[{"type":"email","value":"bob@acme.com"}]}""");

        var (status, impact) = await own.SendAsync(HttpMethod.Put, "/v1/admin/project/settings?dry_run=true",
            Http.Json("""{"max_per_type":{"user_id":1,"email":1},"deny_list":{"values":{"email":["Shared@Acme.com"]}}}"""));
        var (keyStatus, keyBody) = await own.PostAsync("/v1/admin/keys?dry_run=true", """{"role":"read"}""");

        Assert.Equal(200, status);
        Assert.True(impact.Value<bool>("dry_run"));
        Assert.Equal(2, impact.Value<int>("profiles_read"));
        var email = impact!["rules"]!.AsArray().Single(r => r!["rule"]!.GetValue<string>() == "max_per_type.email")!;
        Assert.Equal(1, email["profiles"]!.GetValue<int>());
        Assert.Equal(["email:ann@acme.com", "email:shared@acme.com"], email["examples"]![0]!["identifiers"]!.AsArray().Select(i => i!.GetValue<string>()).Order());
        Assert.Equal(1, impact.Value<int>("identifiers_denied"));
        Assert.Equal("deny_list.values", impact.Value<string>("denied.0.rule"));
        Assert.False(impact.Value<bool>("existing_profiles_split"));
        Assert.Null((await own.GetJsonAsync("/v1/admin/project")).Body!["settings"]!["max_per_type"]!["email"]);
        Assert.Equal(400, keyStatus);
        Assert.Equal("dry_run", keyBody.Value<string>("errors.0.field"));
        Assert.Single((await own.GetJsonAsync("/v1/admin/keys")).Body!.AsArray());
    }

    [Fact]
    public async Task Settings_DryRun_AsAJob_KeepsItsFindingsAsTheJobsResult()
    {
        using var admin = server.Client(server.AdminKey);
        var id = $"p{Guid.NewGuid():N}"[..20];
        var (_, created) = await admin.PostAsync("/v1/admin/projects", $$"""{"id":"{{id}}"}""");
        using var own = server.Client(created.Value<string>("admin_key.key"));
        await own.PostAsync("/v1/identify", """{"user_id":"ann","identifiers":[{"type":"email","value":"ann@acme.com"},{"type":"email","value":"ann@work.com"}]}""");

        var (status, job) = await own.SendAsync(HttpMethod.Put, "/v1/admin/project/settings?dry_run=true&job=true", Http.Json("""{"max_per_type":{"user_id":1,"email":1}}"""));
        Assert.Equal(202, status);
        Assert.Equal("settings_impact", job.Value<string>("kind"));
        JsonNode? done = null;
        for (var i = 0; i < 100 && done?["status"]?.GetValue<string>() != "completed"; i++)
        {
            await Task.Delay(100);
            done = (await own.GetJsonAsync($"/v1/jobs/{job.Value<string>("job_id")}")).Body;
        }

        Assert.Equal("completed", done.Value<string>("status"));
        Assert.Equal(1, done.Value<int>("completed_rows"));
        var email = done!["result"]!["rules"]!.AsArray().Single(r => r!["rule"]!.GetValue<string>() == "max_per_type.email")!;
        Assert.Equal(1, email["profiles"]!.GetValue<int>());
        Assert.Null((await own.GetJsonAsync("/v1/admin/project")).Body!["settings"]!["max_per_type"]!["email"]);
    }
}
