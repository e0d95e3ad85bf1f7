using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Retention;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;
using Selfsame.Storage;

namespace Selfsame.Server.Admin;

public sealed record ProjectResponse(string ProjectId, string Name, DateTimeOffset CreatedAt, ProjectSettings Settings)
{
    public static ProjectResponse Of(Project p) => new(p.Id.Value, p.Name, p.CreatedAt, p.Settings);
}

public sealed record CreateProjectRequest(string Id, string? Name);

public sealed record AuditDto(long AuditId, DateTimeOffset At, string Action, string Surface, string? RequestId, string? KeyId, System.Text.Json.JsonElement Detail,
    string? ClientAddress)
{
    public static AuditDto Of(AuditEntry e)
    {
        using var detail = JsonDocument.Parse(e.DetailJson);
        return new AuditDto(e.Id, e.At, e.Action, e.Surface, e.RequestId, e.KeyId, detail.RootElement.Clone(), e.ClientAddress);
    }
}

/// <summary>A page of the audit log; <see cref="Before"/> is the 'before' of the next page.</summary>
public sealed record AuditResponse(IReadOnlyList<AuditDto> Entries, long? Before);

public sealed record RetentionResponse(bool Enabled, int? RetentionDays, DateTimeOffset? Cutoff, int DeletedRecords, int DeletedEvents, int Batches, int PrunedChanges)
{
    public static RetentionResponse Of(RetentionReport r) => new(r.Enabled, r.RetentionDays, r.Cutoff, r.DeletedRecords, r.DeletedEvents, r.Batches, r.PrunedChanges);
}

/// <summary>The answer to a dry run of new settings: what they would find in the project's existing data; nothing is saved.</summary>
public sealed record SettingsImpactResponse(bool DryRun, long ProfilesRead, IReadOnlyList<RuleImpactDto> Rules, long IdentifiersDenied, IReadOnlyList<DeniedDto> Denied,
    bool ExistingProfilesSplit)
{
    public static SettingsImpactResponse Of(Guardrails.SettingsImpact impact) => new(true, impact.ProfilesRead,
        impact.Rules.Select(r => new RuleImpactDto(r.Rule, r.Profiles, r.Examples.Select(e => new RuleExampleDto(e.Profile.Value, e.Identifiers.Select(i => i.ToString()).ToList())).ToList())).ToList(),
        impact.IdentifiersDenied, impact.Denied.Select(d => new DeniedDto(d.Identifier.ToString(), d.Record.Value, d.Profile.Value, d.Rule)).ToList(), false);
}

public sealed record RuleImpactDto(string Rule, long Profiles, IReadOnlyList<RuleExampleDto> Examples);

public sealed record RuleExampleDto(long ProfileId, IReadOnlyList<string> Identifiers);

public sealed record DeniedDto(string Identifier, long RecordId, long ProfileId, string Rule);

public sealed record CreateProjectResponse(ProjectResponse Project, KeyCreatedResponse AdminKey);

/// <summary>A new key; with <see cref="Permissions"/> it holds only those named permissions, without them every one its role allows.</summary>
public sealed record CreateKeyRequest(string Role, string? Name, IReadOnlyList<string>? Permissions);

public sealed record KeyResponse(string KeyId, string Role, string? Name, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt,
    IReadOnlyList<string>? Permissions)
{
    public static KeyResponse Of(ApiKeyRecord k) => new(k.KeyId, k.Role, k.Name, k.CreatedAt, k.RevokedAt, k.ExpiresAt, k.LastUsedAt, k.Permissions);
}

public sealed record RotateKeyRequest(int? GraceMinutes);

public sealed record KeyRotatedResponse(KeyCreatedResponse Key, string OldKeyId, DateTimeOffset OldKeyExpiresAt);

/// <summary>A new key: <see cref="Key"/> is shown this once and stored only as a hash.</summary>
public sealed record KeyCreatedResponse(string Key, string KeyId, string ProjectId, string Role, string? Name, IReadOnlyList<string>? Permissions = null);

/// <summary>Admin endpoints: the caller's project and its settings, new projects, and the project's API keys.</summary>
public static class AdminApi
{
    /// <summary>Up to this many profiles, a dry run of settings answers at once; above, it runs as a job.</summary>
    public const int SettingsImpactInline = 10_000;

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapSurface("/v1/admin", NativeErrors.Surface).WithTags("Admin");

        admin.MapGet("/project", async (HttpContext context, Projects projects, CancellationToken ct) =>
                Results.Ok(ProjectResponse.Of((await projects.GetAsync(context.Caller().Project, ct))!)))
            .Needs(Roles.Admin).Produces<ProjectResponse>()
            .WithSummary("The caller's project and its settings.");

        admin.MapPut("/project/settings", async (HttpContext context, Projects projects, Graph.IdentityEngine engine, JobRunner runner, TimeProvider time,
                CancellationToken ct) =>
            {
                var caller = context.Caller();
                var body = await context.Surface().JsonAsync();
                ProjectSettings? settings;
                try
                {
                    settings = body.Deserialize<ProjectSettings>(new JsonSerializerOptions { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow, RespectNullableAnnotations = true });
                }
                catch (JsonException e)
                {
                    return Problems.Invalid(e.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "(body)", e.Message.Split(" Path:")[0]);
                }
                if (settings is null)
                {
                    return Problems.Invalid("(body)", "expected a settings object");
                }
                if (settings.Validate() is { } error)
                {
                    return Problems.Invalid(error.Split(' ')[0].TrimEnd(':'), error);
                }
                if (context.Surface().DryRun is { } dryRun)
                {
                    // Nothing is saved: what the settings would find in the data that is there now; as a job for a large
                    // project (or when asked with job=true), whose result GET /v1/jobs/{id} shows.
                    dryRun.Answered = true;
                    var proposed = settings with { DenyList = settings.DenyList.Normalized(settings) };
                    if (context.Request.Query["job"] == "true" || await engine.HasMoreProfilesThanAsync(caller.Project, SettingsImpactInline, ct))
                    {
                        var job = await runner.SubmitAsync(caller.Project, Guardrails.SettingsImpact.JobKind, "native", null,
                            System.Text.Encoding.UTF8.GetBytes(proposed.ToJson()), caller.KeyId, time, ct);
                        return Results.Json(Native.JobDto.Of(job), statusCode: StatusCodes.Status202Accepted);
                    }
                    return Results.Ok(SettingsImpactResponse.Of(await engine.SettingsImpactAsync(caller.Project, context.Surface().Settings, proposed, ct)));
                }
                await projects.UpdateSettingsAsync(caller.Project, settings, context.Surface().Origin, ct);
                return Results.Ok(ProjectResponse.Of((await projects.GetAsync(caller.Project, ct))!));
            })
            .Needs(Roles.Admin).Accepts<ProjectSettings>("application/json").Produces<ProjectResponse>()
            .WithSummary("Replace the project's settings: merge protection, identifier types, phone region.");

        admin.MapPost("/projects", async (HttpContext context, Projects projects, ApiKeys keys, IProjectCatalog catalog, TimeProvider time, CancellationToken ct) =>
            {
                var body = await context.Surface().JsonAsync();
                var root = body;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.String)
                {
                    return Problems.Invalid("id", "is required: the new project's id, such as \"acme\"");
                }
                if (!ProjectId.TryParse(idElement.GetString(), out var id))
                {
                    return Problems.Invalid("id", "use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit");
                }
                var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
                if (name is { Length: > 200 } || name?.Contains('\0', StringComparison.Ordinal) == true)
                {
                    return Problems.Invalid("name", "at most 200 characters, without NUL");
                }
                var key = keys.Issue(id, Roles.Admin, "created with the project");
                if (!await projects.CreateAsync(id, name, ct, key.Record))
                {
                    return Problems.Invalid("id", $"a project '{id}' exists already", StatusCodes.Status409Conflict);
                }
                await catalog.AddAuditAsync(id, time.GetUtcNow(), "project.create", context.Surface().Origin,
                    new { by_project = context.Caller().Project.Value, first_key_id = key.Record.KeyId }, ct);
                return Results.Created($"/v1/admin/project", new CreateProjectResponse(
                    ProjectResponse.Of((await projects.GetAsync(id, ct))!),
                    new KeyCreatedResponse(key.Key, key.Record.KeyId, id.Value, key.Record.Role, key.Record.Name)));
            })
            .Needs(Roles.Admin).RefusesDryRun().Accepts<CreateProjectRequest>("application/json").Produces<CreateProjectResponse>(201)
            .WithSummary("Create a project; the answer holds its first admin key, shown once.");

        admin.MapPost("/retention/run", async (HttpContext context, RetentionSweep sweep, CancellationToken ct) =>
                Results.Ok(RetentionResponse.Of(await sweep.RunAsync(context.Caller().Project, ct))))
            .Needs(Roles.Admin).RefusesDryRun().Produces<RetentionResponse>()
            .WithSummary("Run the retention sweep of the project now: delete the records not seen within retention_days.");

        admin.MapGet("/audit", async (HttpContext context, IProjectCatalog catalog, long? before, int? limit, CancellationToken ct) =>
            {
                if (limit is < 1 or > 1000)
                {
                    return Problems.Invalid("limit", "must be between 1 and 1000");
                }
                var entries = await catalog.ListAuditAsync(context.Caller().Project, before, limit ?? 100, ct);
                return Results.Ok(new AuditResponse(entries.Select(AuditDto.Of).ToList(), entries.Count == (limit ?? 100) ? entries[^1].Id : null));
            })
            .Needs(Roles.Admin).Produces<AuditResponse>()
            .WithSummary("The project's audit log, newest first: merges, unlinks, deletes and admin actions, with surface, request and key id.");

        admin.MapGet("/keys", async (HttpContext context, IProjectCatalog catalog, CancellationToken ct) =>
                Results.Ok((await catalog.ListKeysAsync(context.Caller().Project, ct)).Select(KeyResponse.Of).ToList()))
            .Needs(Roles.Admin).Produces<List<KeyResponse>>()
            .WithSummary("The project's keys (never their secrets).");

        admin.MapPost("/keys", async (HttpContext context, ApiKeys keys, CancellationToken ct) =>
            {
                var caller = context.Caller();
                var body = await context.Surface().JsonAsync();
                var root = body;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String
                    || !Roles.All.Contains(roleElement.GetString()))
                {
                    return Problems.Invalid("role", "is required: one of \"admin\", \"write\", \"read\"");
                }
                var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
                if (name is { Length: > 200 } || name?.Contains('\0', StringComparison.Ordinal) == true)
                {
                    return Problems.Invalid("name", "at most 200 characters, without NUL");
                }
                List<string>? permissions = null;
                if (root.TryGetProperty("permissions", out var p) && p.ValueKind != JsonValueKind.Null)
                {
                    if (p.ValueKind != JsonValueKind.Array || p.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String) || p.GetArrayLength() == 0)
                    {
                        return Problems.Invalid("permissions", "expected a non-empty array of permission names, or no field for every permission of the role");
                    }
                    permissions = p.EnumerateArray().Select(e => e.GetString()!).ToList();
                    if (context.RequestServices.GetRequiredService<KeyPermissions>().FirstUnknown(permissions) is { } unknown)
                    {
                        return Problems.Invalid("permissions", $"'{unknown}' is not a permission; known ones are {string.Join(", ", context.RequestServices.GetRequiredService<KeyPermissions>().Known)}");
                    }
                }
                var key = await keys.CreateAsync(caller.Project, roleElement.GetString()!, name, context.Surface().Origin, ct, permissions);
                return Results.Created($"/v1/admin/keys/{key.Record.KeyId}",
                    new KeyCreatedResponse(key.Key, key.Record.KeyId, caller.Project.Value, key.Record.Role, name, key.Record.Permissions));
            })
            .Needs(Roles.Admin).RefusesDryRun().Accepts<CreateKeyRequest>("application/json").Produces<KeyCreatedResponse>(201)
            .WithSummary("Create a key of the project; the key is in the answer once and never again.");

        admin.MapPost("/keys/{keyId}/rotate", async (HttpContext context, ApiKeys keys, IProjectCatalog catalog, KeyAuthentication auth, string keyId, CancellationToken ct) =>
            {
                var caller = context.Caller();
                var grace = 60;
                if (context.Request.ContentLength > 0 || context.Request.HasJsonContentType())
                {
                    var body = await context.Surface().JsonAsync();
                    if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("grace_minutes", out var g) && g.ValueKind != JsonValueKind.Null)
                    {
                        if (g.ValueKind != JsonValueKind.Number || !g.TryGetInt32(out grace) || grace is < 0 or > ApiKeys.MaxGraceMinutes)
                        {
                            return Problems.Invalid("grace_minutes", $"must be a whole number of minutes from 0 to {ApiKeys.MaxGraceMinutes}");
                        }
                    }
                }
                var key = await keys.RotateAsync(caller.Project, keyId, TimeSpan.FromMinutes(grace), context.Surface().Origin, ct);
                if (key is null)
                {
                    return Results.Problem(statusCode: 404, title: "Not found", detail: $"keyId: this project has no live key '{keyId}'");
                }
                auth.Forget(keyId);
                var old = (await catalog.FindKeyAsync(keyId, ct))!;
                return Results.Ok(new KeyRotatedResponse(new KeyCreatedResponse(key.Key, key.Record.KeyId, caller.Project.Value, key.Record.Role, key.Record.Name, key.Record.Permissions),
                    keyId, old.ExpiresAt!.Value));
            })
            .Needs(Roles.Admin).RefusesDryRun().Accepts<RotateKeyRequest>("application/json").Produces<KeyRotatedResponse>()
            .WithSummary("Replace a key: a new key of the same role (shown once), the old one working for grace_minutes more (default 60).");

        admin.MapDelete("/keys/{keyId}", async (HttpContext context, ApiKeys keys, KeyAuthentication auth, string keyId, CancellationToken ct) =>
            {
                var caller = context.Caller();
                if (!await keys.RevokeAsync(caller.Project, keyId, context.Surface().Origin, ct))
                {
                    return Results.Problem(statusCode: 404, title: "Not found", detail: $"keyId: this project has no key '{keyId}'");
                }
                auth.Forget(keyId);
                return Results.NoContent();
            })
            .Needs(Roles.Admin).RefusesDryRun()
            .WithSummary("Revoke a key of the project at once.");

        return app;
    }
}
