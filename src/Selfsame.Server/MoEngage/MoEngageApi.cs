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
using Selfsame.Storage;

namespace Selfsame.Server.MoEngage;

/// <summary>
/// MoEngage's Data API under /moengage: customers (create/update with identity resolution), merge, delete, export and the
/// bulk transition endpoint. HTTP Basic <c>workspace_id:api_key</c>, where the workspace id is the project id (any case)
/// and the key a Selfsame key of that project. Failures use MoEngage's envelope
/// <c>{"status":"fail","error":{"attribute","message","type","request_id"}}</c>.
/// </summary>
public static class MoEngageApi
{
    public const string Surface = MoEngageCustomers.Surface;
    public const int MaxCustomerBytes = 128 * 1024;
    public const int MaxTransitionBytes = 100 * 1024;
    public const int MaxMergePairs = 50;
    public const int MaxExportIdentifiers = 20;
    private const string Accepted = "Your request has been accepted and will be processed soon.";

    /// <summary>MoEngage's documented limits, per project (counted in requests here).</summary>
    public static readonly RateLimitRule CustomerFamily = new("moengage.customer", 10_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule MergeFamily = new("moengage.merge", 1_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule DeleteFamily = new("moengage.delete", 5_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule ExportFamily = new("moengage.export", 1_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule TransitionFamily = new("moengage.transition", 60_000, TimeSpan.FromMinutes(1));

    private const string ClientAddressKey = "selfsame.moengage.client";

    public static IEndpointRouteBuilder MapMoEngageApi(this IEndpointRouteBuilder app)
    {
        var moengage = app.MapGroup("/moengage/v1").WithTags("MoEngage").ExcludeFromDescription();
        moengage.MapPost("/customer/merge", MergeAsync).MoEngage(Roles.Write, MergeFamily, fromQuery: true);
        moengage.MapPost("/customer/delete", DeleteAsync).MoEngage(Roles.Write, DeleteFamily, fromQuery: true);
        moengage.MapPost("/customers/export", ExportAsync).MoEngage(Roles.Read, ExportFamily, fromQuery: true);
        moengage.MapPost("/customer/{workspaceId}", CustomerAsync).MoEngage(Roles.Write, CustomerFamily, fromQuery: false);
        moengage.MapPost("/transition/{workspaceId}", TransitionAsync).MoEngage(Roles.Write, TransitionFamily, fromQuery: false);
        return app;
    }

    /// <summary>The failure envelope; request_id is the request's id (the client's X-Request-Id, else the server's).</summary>
    private static IResult Fail(HttpContext context, int status, string type, string message, string? attribute = null)
    {
        var error = new Dictionary<string, object?>();
        if (attribute is not null)
        {
            error["attribute"] = attribute;
        }
        error["message"] = message;
        error["type"] = type;
        error["request_id"] = context.RequestId();
        return Results.Json(new Dictionary<string, object> { ["status"] = "fail", ["error"] = error }, statusCode: status);
    }

    private static IResult Success(Dictionary<string, object?> fields) =>
        Results.Json(new Dictionary<string, object?> { ["status"] = "success" }.Concat(fields).ToDictionary(), statusCode: 200);

    /// <summary>
    /// Checks Basic workspace_id:api_key, that the workspace in the path (or app_id in the query) is the one in the header,
    /// that the key belongs to that workspace's project with the role, and the rate limit; notes X-Forwarded-For.
    /// </summary>
    private static RouteHandlerBuilder MoEngage(this RouteHandlerBuilder builder, string role, RateLimitRule family, bool fromQuery) =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var header = http.Request.Headers.Authorization.ToString();
            if (header.Length == 0)
            {
                return Fail(http, 401, "Authentication required", "Authentication Header Required");
            }
            if (Basic(header) is not var (workspace, key))
            {
                return Fail(http, 401, "Authentication required",
                    "the Authorization header must be 'Basic ' and base64 of WORKSPACE_ID:API_KEY");
            }
            var named = fromQuery ? http.Request.Query["app_id"].ToString() : http.Request.RouteValues["workspaceId"] as string;
            if (string.IsNullOrEmpty(named))
            {
                return Fail(http, 400, "MissingAttributeError", "app_id is required in path/query params.", "app_id");
            }
            if (!named.Equals(workspace, StringComparison.OrdinalIgnoreCase))
            {
                return Fail(http, 409, "Authentication required", "App key mismatch in params and authentication.");
            }
            var check = await http.RequestServices.GetRequiredService<KeyAuthentication>().CheckAsync(key, role, http.RequestAborted);
            if (check.Result is KeyCheckResult.Missing or KeyCheckResult.Invalid
                || !ProjectId.TryParse(workspace.ToLowerInvariant(), out var project) || check.Caller!.Project != project)
            {
                return Fail(http, 401, "Authentication required", "App Secret key mismatch. Please login to the dashboard to verify key");
            }
            if (check.Result == KeyCheckResult.Forbidden)
            {
                return Fail(http, 403, "Forbidden", check.Why(role));
            }
            var time = http.RequestServices.GetRequiredService<TimeProvider>();
            var decision = http.RequestServices.GetRequiredService<RateLimits>().Acquire(project, family);
            decision.WriteHeaders(http.Response, time.GetUtcNow());
            if (!decision.Admitted)
            {
                return Fail(http, 429, "RateLimitError", "Rate limit exceeded");
            }
            http.Items[KeyAuthentication.ItemKey] = check.Caller;
            http.Items[ClientAddressKey] = ClientAddress(http.Request.Headers["X-Forwarded-For"].ToString());
            return await next(context);
        });

    /// <summary>The original client of a proxied request: the first address of X-Forwarded-For, when it is an IP address.</summary>
    internal static string? ClientAddress(string forwardedFor)
    {
        var first = forwardedFor.Split(',', StringSplitOptions.TrimEntries)[0].Trim('"');
        return IPAddress.TryParse(first, out var address) ? address.ToString() : null;
    }

    private static (string Workspace, string Key)? Basic(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon <= 0 || colon == decoded.Length - 1 ? null : (decoded[..colon], decoded[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static WriteOrigin Origin(HttpContext context) =>
        new(Surface, context.RequestId(), context.Caller().KeyId, context.Items[ClientAddressKey] as string);

    /// <summary>Reads the JSON body within <paramref name="maxBytes"/> and runs <paramref name="handle"/>, answering bad input in MoEngage's envelope.</summary>
    private static async Task<IResult> HandleAsync(HttpContext context, long maxBytes, Func<JsonElement, MoEngageAttributes, Task<IResult>> handle)
    {
        var project = await context.RequestServices.GetRequiredService<Projects>().GetAsync(context.Caller().Project, context.RequestAborted);
        try
        {
            using var body = await JsonBody.ReadAsync(context.Request, context.RequestAborted, maxBytes);
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Fail(context, 400, "JSONDecodeError", "A valid JSON document is required: the body must be a JSON object.");
            }
            return await handle(body.RootElement, new MoEngageAttributes(project!.Settings));
        }
        catch (MoEngageInvalid e)
        {
            return Fail(context, e.Status, e.Type, e.Message, e.Attribute);
        }
        catch (RequestValidationException e)
        {
            return Fail(context, 400, "JSONDecodeError", $"A valid JSON document is required: {e.Errors[0].Field} {e.Errors[0].Message}");
        }
        catch (JsonException e)
        {
            return Fail(context, 400, "JSONDecodeError", $"A valid JSON document is required: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Fail(context, 413, "PayloadTooLarge", $"Payload size exceeds {maxBytes / 1024} KB");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return Fail(context, 415, "MediaTypeError", "Unsupported Media Type: send Content-Type: application/json");
        }
        catch (BadHttpRequestException e)
        {
            return Fail(context, e.StatusCode, "BadRequest", e.Message);
        }
    }

    private static Task<IResult> CustomerAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, MaxCustomerBytes, async (root, reader) =>
        {
            var update = reader.ReadCustomer(root);
            var outcome = await engine.WriteAsync(context.Caller().Project, tx => MoEngageCustomers.Upsert(tx, update, Origin(context)), context.RequestAborted);
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
        }).ToList(),
    };

    private static Task<IResult> MergeAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, MaxCustomerBytes, async (root, reader) =>
        {
            if (reader.IdentityResolution)
            {
                throw new MoEngageInvalid(400, "MergeDisabled",
                    "the merge API is disabled in workspaces with identity resolution: users merge through their identifiers");
            }
            if (!root.TryGetProperty("merge_data", out var data) || data.ValueKind != JsonValueKind.Array || data.EnumerateArray().Any(p => p.ValueKind != JsonValueKind.Object))
            {
                throw MoEngageInvalid.Missing("merge_data", "merge_data is required: an array of {\"merged_user\": ID, \"retained_user\": ID}");
            }
            if (data.GetArrayLength() is 0 or > MaxMergePairs)
            {
                throw new MoEngageInvalid(400, "LimitBreached", $"merge_data must hold 1 to {MaxMergePairs} pairs", "merge_data");
            }
            var origin = Origin(context);
            var pairs = new List<Func<IGraphTransaction, string>>();
            var i = 0;
            foreach (var pair in data.EnumerateArray())
            {
                var path = $"merge_data[{i++}]";
                var merged = UserId(pair, "merged_user", path, reader);
                var retained = UserId(pair, "retained_user", path, reader);
                pairs.Add(tx => MoEngageCustomers.Merge(tx, merged, retained, origin));
            }
            var outcomes = await engine.ApplyEachAsync(context.Caller().Project, pairs, context.RequestAborted);
            outcomes.ThrowUnexpected();
            return Success(new()
            {
                ["operation"] = "created",
                ["merged"] = outcomes.Count(o => o.Succeeded),
                ["skipped"] = outcomes.Select((o, index) => (o, index)).Where(x => !x.o.Succeeded)
                    .Select(x => new Dictionary<string, object> { ["index"] = x.index, ["reason"] = x.o.Error!.Message }).ToList(),
            });
        });

    private static IdentifierInput UserId(JsonElement pair, string name, string path, MoEngageAttributes reader)
    {
        if (!pair.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            throw MoEngageInvalid.Bad($"{path}.{name}", $"{name} is expected to be String or Unicode String.");
        }
        var input = reader.CustomerId(value, $"{path}.{name}");
        return input;
    }

    private static Task<IResult> DeleteAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, MaxCustomerBytes, async (root, reader) =>
        {
            var type = root.TryGetProperty("identity_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type is not ("customer_id" or "moengage_id"))
            {
                throw MoEngageInvalid.Bad("identity_type", "identity_type must be \"customer_id\" or \"moengage_id\"");
            }
            if (!root.TryGetProperty("identity_value", out var v) || v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString())
                || v.GetString()!.Contains('\0', StringComparison.Ordinal))
            {
                throw MoEngageInvalid.Missing("identity_value", "identity_value is required: a non-empty string without NUL");
            }
            var value = v.GetString()!;
            var origin = Origin(context);
            var deleted = await engine.WriteAsync(context.Caller().Project, tx =>
            {
                if (MoEngageCustomers.Find(tx, type, value) is not { } profile)
                {
                    return (DeleteResult?)null;
                }
                return IdentityGraph.DeleteProfile(tx, profile, origin);
            }, context.RequestAborted);
            if (deleted is null)
            {
                return Fail(context, 400, "Not Found", type == "customer_id" ? $"User doesn't exists with customer id {value}" : $"User doesn't exists with moengage id {value}", "identity_value");
            }
            return Success(new() { ["message"] = Accepted, ["deleted_records"] = deleted.DeletedRecords.Count });
        });

    private static Task<IResult> ExportAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, MaxCustomerBytes, async (root, reader) =>
        {
            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
                || !data.TryGetProperty("identifiers", out var identifiers) || identifiers.ValueKind != JsonValueKind.Array)
            {
                throw MoEngageInvalid.Missing("data.identifiers", "data.identifiers is required: an array of {\"identifier_type\": \"customer_id\"|\"id\", \"identifier\": ...}");
            }
            if (identifiers.GetArrayLength() > MaxExportIdentifiers)
            {
                throw new MoEngageInvalid(400, "LimitBreached", $"max limit allowed is {MaxExportIdentifiers}", "data.identifiers");
            }
            var wanted = new List<(string Type, string Value)>();
            var i = 0;
            foreach (var item in identifiers.EnumerateArray())
            {
                var path = $"data.identifiers[{i++}]";
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("identifier_type", out var type) || type.ValueKind != JsonValueKind.String
                    || type.GetString() is not ("customer_id" or "id"))
                {
                    throw MoEngageInvalid.Bad($"{path}.identifier_type", "identifier_type must be \"customer_id\" or \"id\"");
                }
                if (!item.TryGetProperty("identifier", out var value) || value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString())
                    || value.GetString()!.Contains('\0', StringComparison.Ordinal))
                {
                    throw MoEngageInvalid.Missing($"{path}.identifier", "identifier is required: a non-empty string without NUL");
                }
                wanted.Add((type.GetString()!, value.GetString()!));
            }
            List<string>? fields = null;
            if (data.TryGetProperty("user_fields_to_export", out var requested) && requested.ValueKind != JsonValueKind.Null)
            {
                if (requested.ValueKind != JsonValueKind.Array || requested.EnumerateArray().Any(f => f.ValueKind != JsonValueKind.String))
                {
                    throw MoEngageInvalid.Bad("data.user_fields_to_export", "user_fields_to_export must be an array of attribute names");
                }
                fields = requested.EnumerateArray().Select(f => f.GetString()!).ToList();
            }
            var (users, notFound) = await engine.ReadAsync(context.Caller().Project, session =>
            {
                var found = new List<object>();
                var missing = new List<object>();
                var seen = new HashSet<ProfileId>();
                foreach (var (type, value) in wanted)
                {
                    if (MoEngageCustomers.Find(session, type, value) is not { } profile)
                    {
                        missing.Add(new Dictionary<string, string> { ["identifier_type"] = type, ["identifier"] = value });
                    }
                    else if (seen.Add(profile))
                    {
                        found.Add(new Dictionary<string, object> { ["user_attributes"] = MoEngageCustomers.Export(session, profile, fields) });
                    }
                }
                return (found, missing);
            }, context.RequestAborted);
            return Success(new()
            {
                ["type"] = "export_users",
                ["data"] = new Dictionary<string, object> { ["users_not_found"] = notFound, ["users"] = users },
            });
        });

    private static Task<IResult> TransitionAsync(HttpContext context, IdentityEngine engine, TimeProvider time) =>
        HandleAsync(context, MaxTransitionBytes, async (root, reader) =>
        {
            var elements = MoEngageTransition.Read(root, reader, time.GetUtcNow());
            var origin = Origin(context);
            var outcomes = await engine.ApplyEachAsync(context.Caller().Project,
                elements.Select(e => (Func<IGraphTransaction, string>)(tx => e(tx, origin))).ToList(), context.RequestAborted);
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
