using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.MoEngage;

/// <summary>
/// MoEngage's Data API under /moengage: customers (create/update with identity resolution), merge, delete, export and the
/// bulk transition endpoint. HTTP Basic <c>workspace_id:api_key</c>, where the workspace id is the project id (any case)
/// and the key a Selfsame key of that project. Failures use MoEngage's envelope
/// <c>{"status":"fail","error":{"attribute","message","type","request_id"}}</c>.
/// </summary>
public static class MoEngageApi
{
    public const int MaxMergePairs = 50;
    public const int MaxExportIdentifiers = 20;
    private const string Accepted = "Your request has been accepted and will be processed soon.";

    public static IEndpointRouteBuilder MapMoEngageApi(this IEndpointRouteBuilder app)
    {
        var moengage = app.MapSurface("/moengage/v1", MoEngageSurface.Description).WithTags("MoEngage");
        moengage.MapPost("/customer/merge", MergeAsync).Needs(Roles.Write, limit: MoEngageSurface.MergeFamily);
        moengage.MapPost("/customer/delete", DeleteAsync).Needs(Roles.Write, limit: MoEngageSurface.DeleteFamily);
        moengage.MapPost("/customers/export", ExportAsync).Needs(Roles.Read, limit: MoEngageSurface.ExportFamily);
        moengage.MapPost("/customer/{workspaceId}", CustomerAsync).Needs(Roles.Write, limit: MoEngageSurface.CustomerFamily);
        moengage.MapPost("/transition/{workspaceId}", TransitionAsync).Needs(Roles.Write, limit: MoEngageSurface.TransitionFamily, maxBodyBytes: MoEngageSurface.MaxTransitionBytes);
        return app;
    }

    /// <summary>Runs <paramref name="handle"/> on the request's JSON object with a reader of the project's attributes.</summary>
    private static async Task<IResult> HandleAsync(HttpContext context, Func<JsonElement, MoEngageAttributes, Task<IResult>> handle)
    {
        var request = context.Surface();
        var root = await request.JsonObjectAsync("the body must be a JSON object.");
        return await handle(root, new MoEngageAttributes(request.Settings));
    }

    private static WriteOrigin Origin(HttpContext context) => context.Surface().Origin;

    private static IResult Success(Dictionary<string, object?> fields) =>
        Results.Json(new Dictionary<string, object?> { ["status"] = "success" }.Concat(fields).ToDictionary(), statusCode: 200);

    private static Task<IResult> CustomerAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader) =>
        {
            var update = reader.ReadCustomer(root);
            var outcome = MoEngageCustomers.Outcome(await engine.ApplyOneAsync<UpsertResult>(context.Caller().Project, MoEngageCustomers.Upsert(update), Origin(context), context.RequestAborted));
            return Success(new() { ["message"] = Accepted, ["result"] = Result(outcome) });
        });

    /// <summary>What Selfsame did, beside MoEngage's own answer: created/updated/skipped, the user, what merged and what was refused.</summary>
    internal static Dictionary<string, object?> Result(CustomerOutcome outcome) => new()
    {
        ["action"] = outcome.Action,
        ["moengage_id"] = outcome.Profile?.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["merged"] = outcome.Merged.Select(m => new Dictionary<string, object>
        {
            ["moengage_id"] = m.MergedProfile.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["via"] = m.Via.ToString(),
            ["link_id"] = m.Link.Value,
        }).ToList(),
        ["refused"] = outcome.Refused.Select(r => new Dictionary<string, object>
        {
            ["attribute"] = r.Field,
            ["identifier"] = r.Identifier.ToString(),
            ["reason"] = r.Reason,
            ["rule"] = r.Rule,
            ["review_id"] = r.Review.Id,
        }).ToList(),
    };

    private static Task<IResult> MergeAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader) =>
        {
            if (reader.IdentityResolution)
            {
                throw MoEngageSurface.Invalid("MergeDisabled",
                    "the merge API is disabled in workspaces with identity resolution: users merge through their identifiers", "merge_data");
            }
            if (!root.TryGetProperty("merge_data", out var data) || data.ValueKind != JsonValueKind.Array || data.EnumerateArray().Any(p => p.ValueKind != JsonValueKind.Object))
            {
                throw MoEngageSurface.Missing("merge_data", "merge_data is required: an array of {\"merged_user\": ID, \"retained_user\": ID}");
            }
            if (data.GetArrayLength() is 0 or > MaxMergePairs)
            {
                throw MoEngageSurface.Invalid("LimitBreached", $"merge_data must hold 1 to {MaxMergePairs} pairs", "merge_data");
            }
            var pairs = new List<GraphOperation>();
            var names = new List<(string Merged, string Retained)>();
            var i = 0;
            foreach (var pair in data.EnumerateArray())
            {
                var path = $"merge_data[{i++}]";
                var merged = UserId(pair, "merged_user", path, reader);
                var retained = UserId(pair, "retained_user", path, reader);
                pairs.Add(new GraphOperation.MergeOp(new MergeCommand(
                    new UserLookup.ByIdentifier(merged, Named: $"customer_id '{merged.Display}'"), new UserLookup.ByIdentifier(retained, Named: $"customer_id '{retained.Display}'"), LinkKinds.Merge)));
                names.Add((merged.Display, retained.Display));
            }
            var outcomes = await engine.ApplyAsync(context.Caller().Project, pairs, Origin(context), context.RequestAborted);
            outcomes.ThrowUnexpected();
            // A pair that names one user twice (or two users merged already) merges nothing and is listed as skipped.
            var skipped = outcomes.Select((o, index) => (Reason: o.Error?.Message
                    ?? (o.Value is MergeResult { Already: true } ? $"'{names[index].Merged}' and '{names[index].Retained}' are one user already" : null), index))
                .Where(x => x.Reason is not null)
                .Select(x => new Dictionary<string, object> { ["index"] = x.index, ["reason"] = x.Reason! }).ToList();
            return Success(new()
            {
                ["operation"] = "created",
                ["merged"] = outcomes.Count - skipped.Count,
                ["skipped"] = skipped,
            });
        });

    private static IdentifierInput UserId(JsonElement pair, string name, string path, MoEngageAttributes reader)
    {
        if (!pair.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            throw MoEngageSurface.Bad($"{path}.{name}", $"{name} is expected to be String or Unicode String.");
        }
        var input = reader.CustomerId(value, $"{path}.{name}");
        return input;
    }

    private static Task<IResult> DeleteAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader) =>
        {
            var type = root.TryGetProperty("identity_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type is not ("customer_id" or "moengage_id"))
            {
                throw MoEngageSurface.Bad("identity_type", "identity_type must be \"customer_id\" or \"moengage_id\"");
            }
            if (!root.TryGetProperty("identity_value", out var v) || v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString())
                || v.GetString()!.Contains('\0', StringComparison.Ordinal))
            {
                throw MoEngageSurface.Missing("identity_value", "identity_value is required: a non-empty string without NUL");
            }
            var value = v.GetString()!;
            var deleted = MoEngageCustomers.Lookup(type, value, "identity_value") is { } user
                ? await engine.ApplyOneAsync<object>(context.Caller().Project, new GraphOperation.DeleteUserOp(user), Origin(context), context.RequestAborted) as DeleteResult
                : null;
            if (deleted is null)
            {
                return MoEngageSurface.Fail(context, 400, "Not Found", type == "customer_id" ? $"User doesn't exists with customer id {value}" : $"User doesn't exists with moengage id {value}", "identity_value");
            }
            return Success(new() { ["message"] = Accepted, ["deleted_records"] = deleted.DeletedRecords.Count });
        });

    private static Task<IResult> ExportAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader) =>
        {
            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
                || !data.TryGetProperty("identifiers", out var identifiers) || identifiers.ValueKind != JsonValueKind.Array)
            {
                throw MoEngageSurface.Missing("data.identifiers", "data.identifiers is required: an array of {\"identifier_type\": \"customer_id\"|\"id\", \"identifier\": ...}");
            }
            if (identifiers.GetArrayLength() > MaxExportIdentifiers)
            {
                throw MoEngageSurface.Invalid("LimitBreached", $"max limit allowed is {MaxExportIdentifiers}", "data.identifiers");
            }
            var wanted = new List<(string Type, string Value)>();
            var i = 0;
            foreach (var item in identifiers.EnumerateArray())
            {
                var path = $"data.identifiers[{i++}]";
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("identifier_type", out var type) || type.ValueKind != JsonValueKind.String
                    || type.GetString() is not ("customer_id" or "id"))
                {
                    throw MoEngageSurface.Bad($"{path}.identifier_type", "identifier_type must be \"customer_id\" or \"id\"");
                }
                if (!item.TryGetProperty("identifier", out var value) || value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString())
                    || value.GetString()!.Contains('\0', StringComparison.Ordinal))
                {
                    throw MoEngageSurface.Missing($"{path}.identifier", "identifier is required: a non-empty string without NUL");
                }
                wanted.Add((type.GetString()!, value.GetString()!));
            }
            List<string>? fields = null;
            if (data.TryGetProperty("user_fields_to_export", out var requested) && requested.ValueKind != JsonValueKind.Null)
            {
                if (requested.ValueKind != JsonValueKind.Array || requested.EnumerateArray().Any(f => f.ValueKind != JsonValueKind.String))
                {
                    throw MoEngageSurface.Bad("data.user_fields_to_export", "user_fields_to_export must be an array of attribute names");
                }
                fields = requested.EnumerateArray().Select(f => f.GetString()!).ToList();
            }
            var lookups = wanted.Select((w, index) => MoEngageCustomers.Lookup(w.Type, w.Value, $"data.identifiers[{index}]")).ToList();
            var views = await engine.FindUsersAsync(context.Caller().Project, lookups.OfType<UserLookup>().ToList(), eventSummaries: false, null, context.RequestAborted);
            var users = new List<object>();
            var notFound = new List<object>();
            var seen = new HashSet<ProfileId>();
            var next = 0;
            for (var index = 0; index < wanted.Count; index++)
            {
                var view = lookups[index] is null ? null : views[next++];
                if (view is null)
                {
                    notFound.Add(new Dictionary<string, string> { ["identifier_type"] = wanted[index].Type, ["identifier"] = wanted[index].Value });
                }
                else if (seen.Add(view.Profile.Id))
                {
                    users.Add(new Dictionary<string, object> { ["user_attributes"] = MoEngageCustomers.Export(view.Profile, reader.Settings, fields) });
                }
            }
            return Success(new()
            {
                ["type"] = "export_users",
                ["data"] = new Dictionary<string, object> { ["users_not_found"] = notFound, ["users"] = users },
            });
        });

    private static Task<IResult> TransitionAsync(HttpContext context, IdentityEngine engine, TimeProvider time) =>
        HandleAsync(context, async (root, reader) =>
        {
            var elements = MoEngageTransition.Read(root, reader, time.GetUtcNow());
            var outcomes = await engine.ApplyAsync(context.Caller().Project, elements, Origin(context), context.RequestAborted);
            outcomes.ThrowUnexpected();
            return Success(new()
            {
                ["message"] = Accepted,
                ["result"] = new Dictionary<string, object>
                {
                    ["applied"] = outcomes.Count(o => o.Succeeded),
                    ["failed"] = outcomes.Select((o, index) => (o, index)).Where(x => !x.o.Succeeded)
                        .Select(x => new Dictionary<string, object> { ["index"] = x.index, ["reason"] = x.o.Error!.Message }).ToList(),
                },
            });
        });

}
