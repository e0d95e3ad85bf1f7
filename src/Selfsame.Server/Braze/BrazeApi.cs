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

namespace Selfsame.Server.Braze;

/// <summary>
/// Braze's /users family under /braze: aliases, identify, merge, alias update, external id rename, delete, export by ids,
/// and track. Keys come as <c>Authorization: Bearer KEY</c> and may be limited to Braze's named permissions; every answer,
/// errors and 429s included, is a JSON object with "message" (and "errors" where some objects failed), as Braze clients read it.
/// </summary>
public static class BrazeApi
{
    public const string Surface = "braze";

    public static IReadOnlyList<string> Permissions { get; } =
    [
        "users.track", "users.alias.new", "users.alias.update", "users.identify", "users.merge", "users.delete",
        "users.export.ids", "users.external_ids.rename",
    ];

    /// <summary>Braze's documented limits, per project: the shared /users/* family, track, export by ids, and external id rename.</summary>
    public static readonly RateLimitRule UsersFamily = new("braze.users", 20_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule TrackFamily = new("braze.track", 3_000, TimeSpan.FromSeconds(3));
    public static readonly RateLimitRule ExportFamily = new("braze.export", 250, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule RenameFamily = new("braze.external_ids", 1_000, TimeSpan.FromMinutes(1));

    private const string TooManyIds = "The max number of external_ids and aliases per request was exceeded";
    private const string TooManyDeleteIds = "The max number of ids per request was exceeded";

    public static IEndpointRouteBuilder MapBrazeApi(this IEndpointRouteBuilder app)
    {
        var braze = app.MapGroup("/braze").WithTags("Braze").ExcludeFromDescription();
        braze.MapPost("/users/alias/new", NewAliasesAsync).Braze("users.alias.new", Roles.Write, UsersFamily);
        braze.MapPost("/users/identify", IdentifyAsync).Braze("users.identify", Roles.Write, UsersFamily);
        braze.MapPost("/users/merge", MergeAsync).Braze("users.merge", Roles.Write, UsersFamily);
        braze.MapPost("/users/alias/update", UpdateAliasesAsync).Braze("users.alias.update", Roles.Write, UsersFamily);
        braze.MapPost("/users/delete", DeleteAsync).Braze("users.delete", Roles.Write, UsersFamily);
        braze.MapPost("/users/external_ids/rename", RenameAsync).Braze("users.external_ids.rename", Roles.Write, RenameFamily);
        braze.MapPost("/users/export/ids", ExportAsync).Braze("users.export.ids", Roles.Read, ExportFamily);
        braze.MapPost("/users/track", TrackAsync).Braze("users.track", Roles.Write, TrackFamily);
        braze.Map("/{**path}", (HttpContext context) =>
            Answer(404, $"Not Found: Selfsame's Braze surface has no {context.Request.Method} {context.Request.Path}"));
        return app;
    }

    /// <summary>Checks the Bearer key (role and permission) and the family's rate limit, answering failures in Braze's shape.</summary>
    private static RouteHandlerBuilder Braze(this RouteHandlerBuilder builder, string permission, string role, RateLimitRule family) =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var header = http.Request.Headers.Authorization.ToString();
            if (header.Length == 0)
            {
                return Answer(401, "Unauthorized: send 'Authorization: Bearer YOUR_REST_API_KEY'");
            }
            var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..] : null;
            var check = await http.RequestServices.GetRequiredService<KeyAuthentication>().CheckAsync(presented, role, http.RequestAborted, permission);
            switch (check.Result)
            {
                case KeyCheckResult.Missing or KeyCheckResult.Invalid:
                    return Answer(401, "Invalid API key: expected 'Authorization: Bearer KEY' with a live Selfsame key (ss_..., without quotes)");
                case KeyCheckResult.Forbidden:
                    return Answer(403, $"Access Denied: {check.Why(role)}");
            }
            var caller = check.Caller!;
            var time = http.RequestServices.GetRequiredService<TimeProvider>();
            var decision = http.RequestServices.GetRequiredService<RateLimits>().Acquire(caller.Project, family);
            decision.WriteHeaders(http.Response, time.GetUtcNow());
            if (!decision.Admitted)
            {
                return Answer(429, $"Rate Limited: this project made {decision.Limit} requests to the {family.Family} family in this window; " +
                                   $"retry after {decision.RetryAfterSeconds(time.GetUtcNow())} s");
            }
            http.Items[KeyAuthentication.ItemKey] = caller;
            return await next(context);
        });

    /// <summary>A Braze JSON answer: the fields given, "message", and "errors" when some objects failed.</summary>
    private static IResult Answer(int status, string message, Dictionary<string, object?>? fields = null, IReadOnlyList<object>? errors = null)
    {
        var body = fields ?? [];
        body["message"] = message;
        if (errors is { Count: > 0 })
        {
            body["errors"] = errors;
        }
        return Results.Json(body, statusCode: status);
    }

    /// <summary>
    /// Reads the body and runs <paramref name="handle"/>; a malformed body gets Braze's 400 (or 413, 415) with a message
    /// naming the field, and nothing is written.
    /// </summary>
    private static async Task<IResult> HandleAsync(HttpContext context, Func<JsonElement, BrazeReader, WriteOrigin, ProjectId, Task<IResult>> handle)
    {
        var caller = context.Caller();
        var project = await context.RequestServices.GetRequiredService<Projects>().GetAsync(caller.Project, context.RequestAborted);
        var origin = new WriteOrigin(Surface, context.RequestId(), caller.KeyId);
        try
        {
            using var body = await JsonBody.ReadAsync(context.Request, context.RequestAborted);
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Answer(400, "Bad Request: the body must be a JSON object");
            }
            return await handle(body.RootElement, new BrazeReader(project!.Settings), origin, caller.Project);
        }
        catch (BrazeInvalid e)
        {
            return Answer(400, e.Message);
        }
        catch (RequestValidationException e)
        {
            return Answer(400, $"Bad Request: {e.Errors[0].Field} {e.Errors[0].Message}");
        }
        catch (JsonException e)
        {
            return Answer(400, $"Bad Request: the body is not valid JSON ({e.Message})");
        }
        catch (BadHttpRequestException e)
        {
            return Answer(e.StatusCode, $"Bad Request: {e.Message}");
        }
    }

    /// <summary>Counts the objects that succeeded and lists, in Braze's shape, those the graph refused (each rolled back alone).</summary>
    private static (int Processed, List<object> Errors) Collect<T>(IReadOnlyList<WriteOutcome<T>> outcomes, IReadOnlyList<(string Array, int Index)> positions)
    {
        outcomes.ThrowUnexpected();
        var errors = new List<object>();
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (outcomes[i].Error is GraphException refused)
            {
                errors.Add(new Dictionary<string, object> { ["type"] = refused.Message, ["input_array"] = positions[i].Array, ["index"] = positions[i].Index });
            }
        }
        return (outcomes.Count(o => o.Succeeded), errors);
    }


    private static Task<IResult> NewAliasesAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var items = BrazeReader.Objects(root, "user_aliases", BrazeReader.MaxPerRequest, TooManyIds, required: true)!;
            var work = new List<Func<IGraphTransaction, string>>();
            for (var i = 0; i < items.Count; i++)
            {
                var path = $"user_aliases[{i}]";
                var alias = reader.Alias(items[i], path);
                var external = BrazeReader.OptionalString(items[i], "external_id", path);
                var user = external is null ? null : new UserRef(UserRef.ExternalId, reader.ExternalId(external, $"{path}.external_id"), external, null, []);
                var aliasRef = new UserRef(UserRef.UserAlias, alias, alias.Value, null, []);
                work.Add(tx => BrazeUsers.NewAlias(tx, user, aliasRef, path, origin));
            }
            var (processed, errors) = Collect(await engine.ApplyEachAsync(project, work, context.RequestAborted), Positions("user_aliases", items.Count));
            return Answer(201, "success", new() { ["aliases_processed"] = processed }, errors);
        });

    private static Task<IResult> IdentifyAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            if (root.TryGetProperty("merge_behavior", out var behavior) && behavior.ValueKind != JsonValueKind.Null
                && (behavior.ValueKind != JsonValueKind.String || behavior.GetString() is not ("none" or "merge")))
            {
                throw new BrazeInvalid("merge_behavior must be \"none\" or \"merge\" (every identify merges, as in Braze since 2023)");
            }
            var arrays = new (string Name, string Kind)[] { ("aliases_to_identify", UserRef.UserAlias), ("emails_to_identify", UserRef.Email), ("phone_numbers_to_identify", UserRef.Phone) };
            var work = new List<Func<IGraphTransaction, string>>();
            var positions = new List<(string, int)>();
            var sent = new List<string>();
            foreach (var (name, kind) in arrays)
            {
                var items = BrazeReader.Objects(root, name, BrazeReader.MaxPerRequest, TooManyIds);
                if (items is null)
                {
                    continue;
                }
                sent.Add(name);
                for (var i = 0; i < items.Count; i++)
                {
                    var path = $"{name}[{i}]";
                    var external = BrazeReader.RequiredString(items[i], "external_id", path);
                    var user = new UserRef(UserRef.ExternalId, reader.ExternalId(external, $"{path}.external_id"), external, null, []);
                    var anonymous = reader.User(items[i], path, [kind]) ?? throw new BrazeInvalid($"{path}.{kind} is required");
                    if (kind != UserRef.UserAlias)
                    {
                        anonymous = anonymous with { Prioritization = BrazeReader.Prioritization(items[i], path, required: true) };
                    }
                    work.Add(tx => BrazeUsers.Identify(tx, user, anonymous, path, origin));
                    positions.Add((name, i));
                }
            }
            if (sent.Count == 0)
            {
                throw new BrazeInvalid("the request needs one of 'aliases_to_identify', 'emails_to_identify' or 'phone_numbers_to_identify'");
            }
            if (work.Count > BrazeReader.MaxPerRequest)
            {
                throw new BrazeInvalid(TooManyIds);
            }
            var outcomes = await engine.ApplyEachAsync(project, work, context.RequestAborted);
            var (_, errors) = Collect(outcomes, positions);
            var fields = new Dictionary<string, object?>();
            foreach (var (name, counted) in new[] { ("aliases_to_identify", "aliases_processed"), ("emails_to_identify", "emails_processed"), ("phone_numbers_to_identify", "phone_numbers_processed") })
            {
                // aliases_processed is always in the answer, as Braze documents it; the other counts when their array was sent.
                if (sent.Contains(name) || name == "aliases_to_identify")
                {
                    fields[counted] = positions.Where((p, i) => p.Item1 == name && outcomes[i].Succeeded).Count();
                }
            }
            return Answer(201, "success", fields, errors);
        });

    private static readonly string[] MergeKinds = [UserRef.ExternalId, UserRef.UserAlias, UserRef.Email, UserRef.Phone];
    private const string MergeIdentifierShape = "identifiers must be objects with an 'external_id' property that is a string, or 'user_alias' property that is an object";

    private static Task<IResult> MergeAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            if (!root.TryGetProperty("merge_updates", out var updates) || updates.ValueKind != JsonValueKind.Array
                || updates.EnumerateArray().Any(u => u.ValueKind != JsonValueKind.Object))
            {
                throw new BrazeInvalid("'merge_updates' must be an array of objects");
            }
            if (updates.GetArrayLength() > BrazeReader.MaxPerRequest)
            {
                throw new BrazeInvalid("a single request may not contain more than 50 merge updates");
            }
            var work = new List<Func<IGraphTransaction, string>>();
            var i = 0;
            foreach (var update in updates.EnumerateArray())
            {
                var path = $"merge_updates[{i++}]";
                if (update.EnumerateObject().Any(p => p.Name is not ("identifier_to_merge" or "identifier_to_keep")))
                {
                    throw new BrazeInvalid("'merge_updates' must only have 'identifier_to_merge' and 'identifier_to_keep'");
                }
                var merge = MergeIdentifier(update, "identifier_to_merge", path, reader);
                var keep = MergeIdentifier(update, "identifier_to_keep", path, reader);
                if (merge.Kind != keep.Kind)
                {
                    throw new BrazeInvalid("identifiers must be objects of the same type");
                }
                work.Add(tx => BrazeUsers.Merge(tx, merge, keep, path, origin));
            }
            var (_, errors) = Collect(await engine.ApplyEachAsync(project, work, context.RequestAborted), Positions("merge_updates", work.Count));
            return Answer(202, "success", null, errors);
        });

    private static UserRef MergeIdentifier(JsonElement update, string name, string path, BrazeReader reader)
    {
        if (!update.TryGetProperty(name, out var identifier) || identifier.ValueKind != JsonValueKind.Object)
        {
            throw new BrazeInvalid(MergeIdentifierShape);
        }
        var kinds = identifier.EnumerateObject().Select(p => p.Name).Where(n => n != "prioritization").ToList();
        if (kinds.Count != 1 || !MergeKinds.Contains(kinds[0])
            || (kinds[0] == UserRef.UserAlias ? identifier.GetProperty(kinds[0]).ValueKind != JsonValueKind.Object : identifier.GetProperty(kinds[0]).ValueKind != JsonValueKind.String))
        {
            throw new BrazeInvalid(MergeIdentifierShape);
        }
        return reader.User(identifier, $"{path}.{name}", kinds)!;
    }

    private static Task<IResult> UpdateAliasesAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var items = BrazeReader.Objects(root, "alias_updates", BrazeReader.MaxPerRequest, TooManyIds, required: true)!;
            var work = new List<Func<IGraphTransaction, RecordId>>();
            for (var i = 0; i < items.Count; i++)
            {
                var path = $"alias_updates[{i}]";
                var label = BrazeReader.RequiredString(items[i], "alias_label", path);
                var before = Alias(label, BrazeReader.RequiredString(items[i], "old_alias_name", path), $"{path}.old_alias_name");
                var after = Alias(label, BrazeReader.RequiredString(items[i], "new_alias_name", path), $"{path}.new_alias_name");
                work.Add(tx => IdentityGraph.ReplaceIdentifier(tx, before, after, origin));
            }
            var (_, errors) = Collect(await engine.ApplyEachAsync(project, work, context.RequestAborted), Positions("alias_updates", items.Count));
            return Answer(201, "success", null, errors);

            static IdentifierInput Alias(string label, string name, string field) =>
                new(IdentifierNormalizer.TryNormalizeAlias(label, name, out var error) ?? throw new BrazeInvalid($"{field}: {error}"), name, field);
        });

    private static Task<IResult> RenameAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var items = BrazeReader.Objects(root, "external_id_renames", BrazeReader.MaxPerRequest, TooManyIds, required: true)!;
            var work = new List<Func<IGraphTransaction, RecordId>>();
            var current = new List<string>();
            for (var i = 0; i < items.Count; i++)
            {
                var path = $"external_id_renames[{i}]";
                var from = BrazeReader.RequiredString(items[i], "current_external_id", path);
                var to = BrazeReader.RequiredString(items[i], "new_external_id", path);
                var before = new IdentifierInput(reader.ExternalId(from, $"{path}.current_external_id"), from, $"{path}.current_external_id");
                var after = new IdentifierInput(reader.ExternalId(to, $"{path}.new_external_id"), to, $"{path}.new_external_id");
                current.Add(from);
                work.Add(tx => IdentityGraph.ReplaceIdentifier(tx, before, after, origin));
            }
            var outcomes = await engine.ApplyEachAsync(project, work, context.RequestAborted);
            outcomes.ThrowUnexpected();
            return Answer(201, "success", new()
            {
                ["external_ids"] = current.Where((_, i) => outcomes[i].Succeeded).ToList(),
                ["rename_errors"] = current.Select((id, i) => (id, outcomes[i].Error)).Where(x => x.Error is not null)
                    .Select(x => new[] { x.id, x.Error!.Message }).ToList(),
            });
        });

    private static Task<IResult> DeleteAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var users = ReadUserLists(root, reader, ["external_ids", "user_aliases", "braze_ids", "email_addresses", "phone_numbers"], TooManyDeleteIds, exactlyOne: true);
            var work = users.Select(u => (Func<IGraphTransaction, bool>)(tx => BrazeUsers.Delete(tx, u.User, origin))).ToList();
            var outcomes = await engine.ApplyEachAsync(project, work, context.RequestAborted);
            var (_, errors) = Collect(outcomes, users.Select(u => (u.Array, u.Index)).ToList());
            return Answer(201, "success", new() { ["deleted"] = outcomes.Count(o => o.Succeeded && o.Value) }, errors);
        });

    private static Task<IResult> ExportAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var users = ReadUserLists(root, reader, ["external_ids", "user_aliases", "device_id", "braze_id", "email_address", "phone"], TooManyIds, exactlyOne: false);
            List<string>? fields = null;
            if (root.TryGetProperty("fields_to_export", out var requested) && requested.ValueKind != JsonValueKind.Null)
            {
                if (requested.ValueKind != JsonValueKind.Array || requested.EnumerateArray().Any(f => f.ValueKind != JsonValueKind.String || !BrazeExport.Fields.Contains(f.GetString())))
                {
                    throw new BrazeInvalid($"fields_to_export must be an array of field names: {string.Join(", ", BrazeExport.Fields)}");
                }
                fields = requested.EnumerateArray().Select(f => f.GetString()!).Distinct().ToList();
            }
            var (found, invalid) = await engine.ReadAsync(project, session =>
            {
                var exported = new List<Dictionary<string, object?>>();
                var seen = new HashSet<ProfileId>();
                var notFound = new List<object>();
                foreach (var (user, _, _, sent) in users)
                {
                    if (BrazeUsers.Find(session, user) is not { } record)
                    {
                        notFound.Add(sent);
                        continue;
                    }
                    var profile = BrazeUsers.ProfileOf(session, record);
                    if (seen.Add(profile))
                    {
                        exported.Add(BrazeExport.User(session, profile, fields));
                    }
                }
                return (exported, notFound);
            }, context.RequestAborted);
            return Answer(201, "success", new() { ["users"] = found, ["invalid_user_ids"] = invalid });
        });

    /// <summary>
    /// The users a delete or export names: arrays of external ids, aliases, braze ids, emails or phones (up to 50 each), and
    /// for export single device_id, braze_id, email_address or phone fields. With <paramref name="exactlyOne"/> the request
    /// must use exactly one of them.
    /// </summary>
    private static List<(UserRef User, string Array, int Index, object Sent)> ReadUserLists(JsonElement root, BrazeReader reader, string[] names, string tooMany, bool exactlyOne)
    {
        var present = names.Where(n => root.TryGetProperty(n, out var v) && v.ValueKind != JsonValueKind.Null).ToList();
        var singles = present.Where(n => n is "device_id" or "braze_id" or "email_address" or "phone").ToList();
        if (present.Count == 0 || (exactlyOne && present.Count > 1) || (singles.Count > 0 && present.Count > 1))
        {
            throw new BrazeInvalid(exactlyOne
                ? $"the request needs exactly one of {string.Join(", ", names)}"
                : "the request needs external_ids and/or user_aliases, or exactly one of device_id, braze_id, email_address, phone");
        }
        var users = new List<(UserRef, string, int, object)>();
        foreach (var name in present)
        {
            var value = root.GetProperty(name);
            if (name is "device_id" or "braze_id" or "email_address" or "phone")
            {
                var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new BrazeInvalid($"{name} must be a string");
                users.Add((Single(name, text, name), name, 0, text));
                continue;
            }
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw new BrazeInvalid($"{name} must be an array");
            }
            if (value.GetArrayLength() > BrazeReader.MaxPerRequest)
            {
                throw new BrazeInvalid(tooMany);
            }
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                var path = $"{name}[{i}]";
                UserRef user;
                if (name == "user_aliases")
                {
                    var alias = reader.Alias(item, path);
                    user = new UserRef(UserRef.UserAlias, alias, alias.Value, null, []);
                }
                else if (item.ValueKind == JsonValueKind.String)
                {
                    user = Single(name, item.GetString()!, path);
                }
                else if (item.ValueKind == JsonValueKind.Object && name is "email_addresses" or "phone_numbers")
                {
                    var kind = name == "email_addresses" ? UserRef.Email : UserRef.Phone;
                    user = reader.User(item, path, [kind]) ?? throw new BrazeInvalid($"{path}.{kind} is required");
                }
                else
                {
                    throw new BrazeInvalid($"{path} must be a string");
                }
                users.Add((user, name, i, item.ValueKind == JsonValueKind.String ? item.GetString()! : item.Clone()));
                i++;
            }
        }
        return users;

        UserRef Single(string name, string text, string path)
        {
            if (string.IsNullOrWhiteSpace(text) || text.Length > IdentifierNormalizer.MaxValueLength || text.Contains('\0', StringComparison.Ordinal))
            {
                throw new BrazeInvalid($"{path} must be 1 to {IdentifierNormalizer.MaxValueLength} characters, not blank, without NUL");
            }
            return name switch
            {
                "external_ids" => new UserRef(UserRef.ExternalId, reader.ExternalId(text, path), text, null, []),
                "braze_ids" or "braze_id" => long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id > 0
                    ? new UserRef(UserRef.BrazeIdKind, null, text, id, [])
                    : throw new BrazeInvalid($"{path} must be the braze_id of a user (Selfsame's profile id, digits)"),
                "email_addresses" or "email_address" => new UserRef(UserRef.Email, reader.Email(text, path), text, null, []),
                "device_id" => new UserRef(IdentifierTypes.DeviceId, new Identifier(IdentifierTypes.DeviceId, text), text, null, []),
                _ => new UserRef(UserRef.Phone, reader.Phone(text, path), text, null, []),
            };
        }
    }

    private static Task<IResult> TrackAsync(HttpContext context, IdentityEngine engine, TimeProvider time) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var items = BrazeTrack.Read(root, reader, time.GetUtcNow());
            var work = items.Select(item => (Func<IGraphTransaction, string>)(tx => item.Apply(tx, origin))).ToList();
            var outcomes = await engine.ApplyEachAsync(project, work, context.RequestAborted);
            var (_, errors) = Collect(outcomes, items.Select(i => (i.Array, i.Index)).ToList());
            var fields = new Dictionary<string, object?>();
            foreach (var array in new[] { "attributes", "events", "purchases" })
            {
                if (root.TryGetProperty(array, out var sent) && sent.ValueKind == JsonValueKind.Array)
                {
                    fields[$"{array}_processed"] = items.Where((item, i) => item.Array == array && outcomes[i].Succeeded).Count();
                }
            }
            return Answer(201, "success", fields, errors);
        });

    private static List<(string, int)> Positions(string array, int count) => Enumerable.Range(0, count).Select(i => (array, i)).ToList();
}
