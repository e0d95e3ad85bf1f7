using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Native;

public sealed class KeyRotationTests(FakeClockServer server) : IClassFixture<FakeClockServer>
{
    [Fact]
    public async Task Rotate_NewKeyWorksAtOnce_OldKeyUntilTheGraceEnds_AndUseIsRecorded()
    {
        using var admin = server.Client(server.AdminKey);
        var created = (await admin.PostAsync("/v1/admin/keys", """{"role":"write","name":"ingest"}""")).Body;
        var (oldKey, oldId) = (created.Value<string>("key"), created.Value<string>("key_id"));
        using var old = server.Client(oldKey);
        Assert.Equal(200, (await old.PostAsync("/v1/identify", """{"user_id":"before-rotation"}""")).Status);

        var (status, rotated) = await admin.PostAsync($"/v1/admin/keys/{oldId}/rotate", """{"grace_minutes":10}""");
        Assert.Equal(200, status);
        Assert.Equal(("write", "ingest"), (rotated.Value<string>("key.role"), rotated.Value<string>("key.name")));
        using var replacement = server.Client(rotated.Value<string>("key.key"));
        Assert.Equal(200, (await replacement.PostAsync("/v1/identify", """{"user_id":"new-key"}""")).Status);
        Assert.Equal(200, (await old.PostAsync("/v1/identify", """{"user_id":"in-grace"}""")).Status);

        server.Clock.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal(401, (await old.PostAsync("/v1/identify", """{"user_id":"too-late"}""")).Status);
        Assert.Equal(200, (await replacement.PostAsync("/v1/identify", """{"user_id":"still-fine"}""")).Status);

        var listed = await WaitForAsync(admin, oldId);
        Assert.NotNull(listed!["expires_at"]);
        Assert.NotNull(listed["last_used_at"]);
        var audit = (await admin.GetJsonAsync("/v1/admin/audit")).Body!.ToJsonString();
        Assert.Contains("\"key.rotate\"", audit, StringComparison.Ordinal);
        Assert.DoesNotContain(oldKey, audit, StringComparison.Ordinal);

        Assert.Equal(404, (await admin.PostAsync($"/v1/admin/keys/{oldId}/rotate", "{}")).Status);
        Assert.Equal(404, (await admin.PostAsync("/v1/admin/keys/000000000000/rotate", "{}")).Status);
        Assert.Equal(400, (await admin.PostAsync($"/v1/admin/keys/{rotated.Value<string>("key.key_id")}/rotate", """{"grace_minutes":-1}""")).Status);
    }

    /// <summary>Last use is written off the request's path: wait for it briefly.</summary>
    private static async Task<System.Text.Json.Nodes.JsonNode?> WaitForAsync(HttpClient admin, string keyId)
    {
        System.Text.Json.Nodes.JsonNode? key = null;
        for (var i = 0; i < 50; i++)
        {
            key = (await admin.GetJsonAsync("/v1/admin/keys")).Body!.AsArray().Single(k => k!["key_id"]!.GetValue<string>() == keyId);
            if (key!["last_used_at"] is not null)
            {
                break;
            }
            await Task.Delay(100);
        }
        return key;
    }
}
