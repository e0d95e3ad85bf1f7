using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Guardrails;

/// <summary>The guardrails through the native API: a junk identifier's answer, the review queue, detach and suppress.</summary>
public sealed class ReviewApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _write = server.Client(server.WriteKey);
    private readonly HttpClient _read = server.Client(server.ReadKey);

    /// <summary>A project of its own whose settings hold refusals of a second user_id for review; its admin key.</summary>
    private async Task<string> HoldingProjectAsync()
    {
        using var admin = server.Client(server.AdminKey);
        var id = $"p{Guid.NewGuid():N}"[..20];
        var (status, created) = await admin.PostAsync("/v1/admin/projects", $$"""{"id":"{{id}}"}""");
        Assert.Equal(201, status);
        var key = created.Value<string>("admin_key.key");
        using var own = server.Client(key);
        var (put, _) = await own.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"review":{"max_per_type.user_id":"hold"}}"""));
        Assert.Equal(200, put);
        return key;
    }

    [Fact]
    public async Task Identify_WithAPlaceholderEmail_AnswersTheRuleAndTheEntry_AndTheQueueListsIt()
    {
        var user = Names.Unique("ann");
        var (status, body) = await _write.PostAsync("/v1/identify", $$"""{"user_id":"{{user}}","identifiers":[{"type":"email","value":"Test@Test.com"}]}""");

        Assert.Equal(200, status);
        Assert.Equal("deny_list.placeholder_email", body.Value<string>("refused.0.rule"));
        Assert.Equal("refused", body.Value<string>("refused.0.status"));
        var entryId = body.Value<long>("refused.0.review_id");
        var (listed, page) = await _read.GetJsonAsync($"/v1/review?profile_id={body.Value<long>("profile_id")}");
        Assert.Equal(200, listed);
        Assert.Equal(entryId, page.Value<long>("entries.0.id"));
        Assert.Equal("test@test.com", page.Value<string>("entries.0.b.identifier.value"));
        Assert.Equal("native", page.Value<string>("entries.0.surface"));
        Assert.Equal(404, (await _read.GetJsonAsync($"/v1/resolve?type=email&value=test@test.com")).Status);
    }

    [Fact]
    public async Task Identify_WithOnlyAJunkId_Is409_NamingTheRuleAndTheEntry()
    {
        var (status, body) = await _write.PostAsync("/v1/identify", """{"user_id":"undefined"}""");

        Assert.Equal(409, status);
        Assert.Equal("deny_list.placeholder_value", body.Value<string>("rule"));
        Assert.True(body.Value<long>("review_id") > 0);
        Assert.StartsWith("user_id:", body.Value<string>("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Held_ApproveExplainUnlink_AndReadKeysMayListButNotDecide()
    {
        var key = await HoldingProjectAsync();
        using var own = server.Client(key);
        await own.PostAsync("/v1/identify", """{"user_id":"ann","identifiers":[{"type":"device_id","value":"tablet"}]}""");
        var (_, refused) = await own.PostAsync("/v1/identify", """{"user_id":"ann-work","identifiers":[{"type":"device_id","value":"tablet"}]}""");
        Assert.Equal("held", refused.Value<string>("refused.0.status"));
        var id = refused.Value<long>("refused.0.review_id");
        var (_, readKey) = await own.PostAsync("/v1/admin/keys", """{"role":"read"}""");
        using var reader = server.Client(readKey.Value<string>("key"));

        var (shown, entry) = await reader.GetJsonAsync($"/v1/review/{id}");
        Assert.Equal(200, shown);
        Assert.NotEqual(entry.Value<long>("a_profile.profile_id"), entry.Value<long>("b_profile.profile_id"));
        Assert.Equal(id, (await reader.GetJsonAsync("/v1/review?status=held")).Body.Value<long>("entries.0.id"));
        Assert.Equal(403, (await reader.PostAsync($"/v1/review/{id}/approve", "")).Status);

        var (approved, decision) = await own.PostAsync($"/v1/review/{id}/approve", "");
        Assert.Equal(200, approved);
        Assert.Equal("merged", decision.Value<string>("outcome"));
        Assert.Equal("review", decision.Value<string>("link.link.kind"));
        var (_, why) = await own.GetJsonAsync("/v1/explain?from_type=user_id&from_value=ann-work&to_type=user_id&to_value=ann");
        Assert.True(why.Value<bool>("joined"));
        var step = why!["path"]!.AsArray().Single(s => s!["link"]!["kind"]!.GetValue<string>() == "review");
        Assert.Equal(id, step!["approval"]!["review_id"]!.GetValue<long>());
        Assert.NotNull(step["approval"]!["approved_by_key"]);
        Assert.Contains($"review entry {id} approved by key", why.Value<string>("summary"), StringComparison.Ordinal);
        Assert.Equal(409, (await own.PostAsync($"/v1/review/{id}/reject", "")).Status);

        var (unlinked, split) = await own.PostAsync("/v1/unlink", """{"from":{"type":"user_id","value":"ann-work"},"into":{"type":"device_id","value":"tablet"}}""");
        Assert.Equal(200, unlinked);
        Assert.False(split.Value<bool>("still_joined"));
        var (_, audit) = await own.GetJsonAsync("/v1/admin/audit");
        Assert.Contains(audit!["entries"]!.AsArray(), e => e!["action"]!.GetValue<string>() == "review.approve");
    }

    [Fact]
    public async Task Reject_ClosesTheEntry_AndBadFiltersAreNamed()
    {
        var key = await HoldingProjectAsync();
        using var own = server.Client(key);
        await own.PostAsync("/v1/identify", """{"user_id":"ann","identifiers":[{"type":"device_id","value":"kiosk"}]}""");
        var (_, refused) = await own.PostAsync("/v1/identify", """{"user_id":"bob","identifiers":[{"type":"device_id","value":"kiosk"}]}""");
        var id = refused.Value<long>("refused.0.review_id");

        var (rejected, decision) = await own.PostAsync($"/v1/review/{id}/reject", "");
        var (badStatus, bad) = await own.GetJsonAsync("/v1/review?status=open&limit=0");

        Assert.Equal((200, "rejected"), (rejected, decision.Value<string>("entry.status")));
        Assert.Equal(404, (await own.PostAsync("/v1/review/999999/approve", "")).Status);
        Assert.Equal(400, badStatus);
        Assert.Equal(["status", "limit"], bad!["errors"]!.AsArray().Select(e => e!["field"]!.GetValue<string>()));
    }

    [Fact]
    public async Task DetachWithSuppress_KeepsTheRecord_AndTheValueNeverComesBack()
    {
        var user = Names.Unique("u");
        var email = $"{Names.Unique("e")}@acme.com";
        var (_, ann) = await _write.PostAsync("/v1/identify", $$"""{"user_id":"{{user}}","identifiers":[{"type":"email","value":"{{email}}"}]}""");

        var (badFlag, _) = await _write.SendAsync(HttpMethod.Delete, $"/v1/identifiers?type=email&value={email}&suppress=yes");
        var (status, detached) = await _write.SendAsync(HttpMethod.Delete, $"/v1/identifiers?type=email&value={email}&suppress=true");
        var (_, again) = await _write.PostAsync("/v1/identify", $$"""{"user_id":"{{user}}","identifiers":[{"type":"email","value":"{{email.ToUpperInvariant()}}"}]}""");

        Assert.Equal(400, badFlag);
        Assert.Equal(200, status);
        Assert.Equal(ann.Value<long>("record_id"), detached.Value<long>("record_id"));
        Assert.True(detached.Value<bool>("suppressed"));
        Assert.Equal("suppressed", again.Value<string>("refused.0.rule"));
        Assert.Equal(200, (await _read.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Status);
        Assert.Equal(404, (await _read.GetJsonAsync($"/v1/resolve?type=email&value={email}")).Status);
        Assert.Equal(404, (await _write.SendAsync(HttpMethod.Delete, $"/v1/identifiers?type=email&value=nobody-{email}")).Status);
    }

    [Fact]
    public async Task DeleteProfileWithSuppress_CountsWhatItSuppressed()
    {
        var user = Names.Unique("gone");
        var (_, ann) = await _write.PostAsync("/v1/identify", $$"""{"user_id":"{{user}}","identifiers":[{"type":"device_id","value":"{{user}}-d"}]}""");

        var (status, deleted) = await _write.SendAsync(HttpMethod.Delete, $"/v1/profiles/{ann.Value<long>("profile_id")}?suppress=true");
        var (again, refused) = await _write.PostAsync("/v1/identify", $$"""{"user_id":"{{user}}"}""");

        Assert.Equal(200, status);
        Assert.Equal(2, deleted.Value<int>("suppressed_identifiers"));
        Assert.Equal((409, "suppressed"), (again, refused.Value<string>("rule")));
    }

    [Fact]
    public async Task Settings_NameABadRuleOrPattern()
    {
        var key = await HoldingProjectAsync();
        using var own = server.Client(key);
        var (rule, ruleBody) = await own.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"review":{"deny_list":"hold"}}"""));
        var (pattern, patternBody) = await own.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"deny_list":{"patterns":{"email":["(a)\\1"]}}}"""));
        var (action, _) = await own.SendAsync(HttpMethod.Put, "/v1/admin/project/settings", Http.Json("""{"review":{"max_records":"maybe"}}"""));

        Assert.Equal(400, rule);
        Assert.Contains("review.deny_list", ruleBody.Value<string>("detail"), StringComparison.Ordinal);
        Assert.Equal(400, pattern);
        Assert.Contains("deny_list.patterns.email[0]", patternBody.Value<string>("detail"), StringComparison.Ordinal);
        Assert.Equal(400, action);
    }
}
