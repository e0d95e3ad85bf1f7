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
using Selfsame.Storage;

namespace Selfsame.Server.Braze;

/// <summary>
/// Braze's /users family under /braze: aliases, identify, merge, alias update, external id rename, delete, export by ids,
/// and track. Keys come as <c>Authorization: Bearer KEY</c> and may be limited to Braze's named permissions; every answer,
/// errors and 429s included, is a JSON object with "message" (and "errors" where some objects failed), as Braze clients read it.
/// </summary>
public static class BrazeApi
{
    private const string TooManyIds = "The max number of external_ids and aliases per request was exceeded";
    private const string TooManyDeleteIds = "The max number of ids per request was exceeded";

    /// <summary>Braze's named permissions, which keys may be limited to.</summary>
    public static IServiceCollection AddBraze(this IServiceCollection services) =>
        services.AddSingleton(new SurfacePermissions(BrazeSurface.Name, BrazeSurface.Permissions));

    public static IEndpointRouteBuilder MapBrazeApi(this IEndpointRouteBuilder app)
    {
        var braze = app.MapSurface("/braze", BrazeSurface.Description).WithTags("Braze");
        braze.MapPost("/users/alias/new", NewAliasesAsync).Needs(Roles.Write, "users.alias.new", BrazeSurface.UsersFamily).Produces(201);
        braze.MapPost("/users/identify", IdentifyAsync).Needs(Roles.Write, "users.identify", BrazeSurface.UsersFamily).Produces(201);
        braze.MapPost("/users/merge", MergeAsync).Needs(Roles.Write, "users.merge", BrazeSurface.UsersFamily).Produces(202);
        braze.MapPost("/users/alias/update", UpdateAliasesAsync).Needs(Roles.Write, "users.alias.update", BrazeSurface.UsersFamily).Produces(201);
        braze.MapPost("/users/delete", DeleteAsync).Needs(Roles.Write, "users.delete", BrazeSurface.UsersFamily).Produces(201);
        braze.MapPost("/users/external_ids/rename", RenameAsync).Needs(Roles.Write, "users.external_ids.rename", BrazeSurface.RenameFamily).Produces(201);
        braze.MapPost("/users/external_ids/remove", RemoveAsync).Needs(Roles.Write, "users.external_ids.remove", BrazeSurface.RenameFamily).Produces(201);
        braze.MapPost("/users/export/ids", ExportAsync).Needs(Roles.Read, "users.export.ids", BrazeSurface.ExportFamily).Produces(201);
        braze.MapPost("/users/track", TrackAsync).Needs(Roles.Write, "users.track", BrazeSurface.TrackFamily).Produces(201);
        return app;
    }

    /// <summary>Runs <paramref name="handle"/> on the request's JSON object, with a reader of the project's settings and the write's origin.</summary>
    private static async Task<IResult> HandleAsync(HttpContext context, Func<JsonElement, BrazeReader, WriteOrigin, ProjectId, Task<IResult>> handle)
    {
        var request = context.Surface();
        var root = await request.JsonObjectAsync("the body must be a JSON object");
        return await handle(root, new BrazeReader(request.Settings), request.Origin, request.Project);
    }

    /// <summary>Counts the objects that succeeded and lists, in Braze's shape, those the graph refused (each rolled back alone).</summary>
    private static (int Processed, List<object> Errors) Collect<T>(IReadOnlyList<WriteOutcome<T>> outcomes, IReadOnlyList<(string Array, int Index)> positions,
        Func<GraphException, string>? describe = null)
    {
        outcomes.ThrowUnexpected();
        var errors = new List<object>();
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (outcomes[i].Error is GraphException refused)
            {
                errors.Add(new Dictionary<string, object> { ["type"] = describe?.Invoke(refused) ?? refused.Message, ["input_array"] = positions[i].Array, ["index"] = positions[i].Index });
            }
            // An object applied without an identifier that a guardrail dropped: a minor error, as Braze lists them.
            foreach (var dropped in Refusals.Of(outcomes[i].Value))
            {
                errors.Add(new Dictionary<string, object> { ["type"] = $"{dropped.Field}: {dropped.Reason}; the rest of the object was applied (review entry {dropped.Review.Id})",
                    ["input_array"] = positions[i].Array, ["index"] = positions[i].Index });
            }
        }
        return (outcomes.Count(o => o.Succeeded), errors);
    }


    private static Task<IResult> NewAliasesAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var items = BrazeReader.Objects(root, "user_aliases", BrazeReader.MaxPerRequest, TooManyIds, required: true)!;
            var work = new List<GraphOperation>();
            for (var i = 0; i < items.Count; i++)
            {
                var path = $"user_aliases[{i}]";
                var alias = reader.Alias(items[i], path);
                var external = BrazeReader.OptionalString(items[i], "external_id", path);
                var user = external is null ? null : new IdentifierInput(reader.ExternalId(external, $"{path}.external_id"), external, $"{path}.external_id");
                work.Add(new GraphOperation.AttachOp(new AttachCommand(user, new IdentifierInput(alias, alias.Value, path), OneAliasPerLabel: true)));
            }
            var (processed, errors) = Collect(await engine.ApplyAsync(project, work, origin, context.RequestAborted), Positions("user_aliases", items.Count));
            return BrazeSurface.Answer(201, "success", new() { ["aliases_processed"] = processed }, errors);
        });

    private static Task<IResult> IdentifyAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            if (root.TryGetProperty("merge_behavior", out var behavior) && behavior.ValueKind != JsonValueKind.Null
                && (behavior.ValueKind != JsonValueKind.String || behavior.GetString() is not ("none" or "merge")))
            {
                throw BrazeSurface.Invalid("merge_behavior must be \"none\" or \"merge\" (every identify merges, as in Braze since 2023)");
            }
            var arrays = new (string Name, string Kind)[] { ("aliases_to_identify", UserRef.UserAlias), ("emails_to_identify", UserRef.Email), ("phone_numbers_to_identify", UserRef.Phone) };
            var work = new List<GraphOperation>();
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
                    var anonymous = reader.User(items[i], path, [kind]) ?? throw BrazeSurface.Invalid($"{path}.{kind} is required");
                    if (kind != UserRef.UserAlias)
                    {
                        anonymous = anonymous with { Prioritization = BrazeReader.Prioritization(items[i], path, required: true) };
                    }
                    work.Add(new GraphOperation.IdentifyAnonymousOp(new IdentifyAnonymousCommand(
                        (UserLookup.ByIdentifier)anonymous.Lookup(path), user.Input($"{path}.external_id"), OneAliasPerLabel: true)));
                    positions.Add((name, i));
                }
            }
            if (sent.Count == 0)
            {
                throw BrazeSurface.Invalid("the request needs one of 'aliases_to_identify', 'emails_to_identify' or 'phone_numbers_to_identify'");
            }
            if (work.Count > BrazeReader.MaxPerRequest)
            {
                throw BrazeSurface.Invalid(TooManyIds);
            }
            var outcomes = await engine.ApplyAsync(project, work, origin, context.RequestAborted);
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
            return BrazeSurface.Answer(201, "success", fields, errors);
        });

    private static readonly string[] MergeKinds = [UserRef.ExternalId, UserRef.UserAlias, UserRef.Email, UserRef.Phone];
    private const string MergeIdentifierShape = "identifiers must be objects with an 'external_id' property that is a string, or 'user_alias' property that is an object";

    private static Task<IResult> MergeAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            if (!root.TryGetProperty("merge_updates", out var updates) || updates.ValueKind != JsonValueKind.Array
                || updates.EnumerateArray().Any(u => u.ValueKind != JsonValueKind.Object))
            {
                throw BrazeSurface.Invalid("'merge_updates' must be an array of objects");
            }
            if (updates.GetArrayLength() > BrazeReader.MaxPerRequest)
            {
                throw BrazeSurface.Invalid("a single request may not contain more than 50 merge updates");
            }
            var work = new List<GraphOperation>();
            var i = 0;
            foreach (var update in updates.EnumerateArray())
            {
                var path = $"merge_updates[{i++}]";
                if (update.EnumerateObject().Any(p => p.Name is not ("identifier_to_merge" or "identifier_to_keep")))
                {
                    throw BrazeSurface.Invalid("'merge_updates' must only have 'identifier_to_merge' and 'identifier_to_keep'");
                }
                var merge = MergeIdentifier(update, "identifier_to_merge", path, reader);
                var keep = MergeIdentifier(update, "identifier_to_keep", path, reader);
                if (merge.Kind != keep.Kind)
                {
                    throw BrazeSurface.Invalid("identifiers must be objects of the same type");
                }
                work.Add(new GraphOperation.MergeOp(new MergeCommand(merge.Lookup($"{path}.identifier_to_merge"), keep.Lookup($"{path}.identifier_to_keep"), LinkKinds.Merge)));
            }
            var (_, errors) = Collect(await engine.ApplyAsync(project, work, origin, context.RequestAborted), Positions("merge_updates", work.Count));
            return BrazeSurface.Answer(202, "success", null, errors);
        });

    private static UserRef MergeIdentifier(JsonElement update, string name, string path, BrazeReader reader)
    {
        if (!update.TryGetProperty(name, out var identifier) || identifier.ValueKind != JsonValueKind.Object)
        {
            throw BrazeSurface.Invalid(MergeIdentifierShape);
        }
        var kinds = identifier.EnumerateObject().Select(p => p.Name).Where(n => n != "prioritization").ToList();
        if (kinds.Count != 1 || !MergeKinds.Contains(kinds[0])
            || (kinds[0] == UserRef.UserAlias ? identifier.GetProperty(kinds[0]).ValueKind != JsonValueKind.Object : identifier.GetProperty(kinds[0]).ValueKind != JsonValueKind.String))
        {
            throw BrazeSurface.Invalid(MergeIdentifierShape);
        }
        return reader.User(identifier, $"{path}.{name}", kinds)!;
    }

    private static Task<IResult> UpdateAliasesAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var items = BrazeReader.Objects(root, "alias_updates", BrazeReader.MaxPerRequest, TooManyIds, required: true)!;
            var work = new List<GraphOperation>();
            for (var i = 0; i < items.Count; i++)
            {
                var path = $"alias_updates[{i}]";
                var label = BrazeReader.RequiredString(items[i], "alias_label", path);
                var before = Alias(label, BrazeReader.RequiredString(items[i], "old_alias_name", path), $"{path}.old_alias_name");
                var after = Alias(label, BrazeReader.RequiredString(items[i], "new_alias_name", path), $"{path}.new_alias_name");
                work.Add(new GraphOperation.ReplaceIdentifierOp(before, after));
            }
            var (_, errors) = Collect(await engine.ApplyAsync(project, work, origin, context.RequestAborted), Positions("alias_updates", items.Count));
            return BrazeSurface.Answer(201, "success", null, errors);

            static IdentifierInput Alias(string label, string name, string field) =>
                new(IdentifierNormalizer.TryNormalizeAlias(label, name, out var error) ?? throw BrazeSurface.Invalid($"{field}: {error}"), name, field);
        });

    private static Task<IResult> RenameAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var items = BrazeReader.Objects(root, "external_id_renames", BrazeReader.MaxPerRequest, TooManyIds, required: true)!;
            var work = new List<GraphOperation>();
            var current = new List<string>();
            for (var i = 0; i < items.Count; i++)
            {
                var path = $"external_id_renames[{i}]";
                var from = BrazeReader.RequiredString(items[i], "current_external_id", path);
                var to = BrazeReader.RequiredString(items[i], "new_external_id", path);
                var before = new IdentifierInput(reader.ExternalId(from, $"{path}.current_external_id"), from, $"{path}.current_external_id");
                var after = new IdentifierInput(reader.ExternalId(to, $"{path}.new_external_id"), to, $"{path}.new_external_id");
                current.Add(from);
                // As Braze does, the old id stays on the user as a deprecated external id until /users/external_ids/remove.
                var deprecated = new IdentifierInput(Identifier.Alias(DeprecatedExternalIdLabel, before.Identifier.Value), from, $"{path}.current_external_id");
                work.Add(new GraphOperation.Sequence([
                    new GraphOperation.ReplaceIdentifierOp(before, after),
                    new GraphOperation.AttachOp(new AttachCommand(after, deprecated, OneAliasPerLabel: false)),
                ]));
            }
            var outcomes = await engine.ApplyAsync(project, work, origin, context.RequestAborted);
            outcomes.ThrowUnexpected();
            return BrazeSurface.Answer(201, "success", new()
            {
                ["external_ids"] = current.Where((_, i) => outcomes[i].Succeeded).ToList(),
                ["rename_errors"] = current.Select((id, i) => (id, outcomes[i].Error)).Where(x => x.Error is not null)
                    .Select(x => new[] { x.id, x.Error!.Message }).ToList(),
            });
        });

    /// <summary>The alias label under which a renamed user keeps its former external ids.</summary>
    public const string DeprecatedExternalIdLabel = "braze_deprecated_external_id";

    /// <summary>Removes deprecated external ids (the former ids of renamed users); a current external id is a removal error, as in Braze.</summary>
    private static Task<IResult> RemoveAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            if (!root.TryGetProperty("external_ids", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            {
                throw BrazeSurface.Invalid("external_ids: required, an array of 1 to 50 deprecated external ids");
            }
            if (list.GetArrayLength() > BrazeReader.MaxPerRequest)
            {
                throw BrazeSurface.Invalid(TooManyIds);
            }
            var ids = new List<string>();
            var work = new List<GraphOperation>();
            foreach (var (element, i) in list.EnumerateArray().Select((e, i) => (e, i)))
            {
                var path = $"external_ids[{i}]";
                var id = element.ValueKind == JsonValueKind.String ? element.GetString()! : throw BrazeSurface.Invalid($"{path}: an external id is a string");
                var value = reader.ExternalId(id, path).Value;
                ids.Add(id);
                work.Add(new GraphOperation.DetachIdentifierOp(new IdentifierInput(Identifier.Alias(DeprecatedExternalIdLabel, value), id, path), Suppress: false));
            }
            var outcomes = await engine.ApplyAsync(project, work, origin, context.RequestAborted);
            outcomes.ThrowUnexpected();
            return BrazeSurface.Answer(201, "success", new()
            {
                ["removed_ids"] = ids.Where((_, i) => outcomes[i].Succeeded).ToList(),
                ["removal_errors"] = ids.Select((id, i) => (id, i, outcomes[i].Error)).Where(x => x.Error is not null)
                    .Select(x => new object[] { x.i, $"'{x.id}' is not a deprecated external id (only the former ids of renamed users can be removed; a current external_id cannot)" }).ToList(),
            });
        });

    private static Task<IResult> DeleteAsync(HttpContext context, IdentityEngine engine) =>
        HandleAsync(context, async (root, reader, origin, project) =>
        {
            var users = ReadUserLists(root, reader, ["external_ids", "user_aliases", "braze_ids", "email_addresses", "phone_numbers"], TooManyDeleteIds, exactlyOne: true);
            var work = users.Select(u => (GraphOperation)new GraphOperation.DeleteUserOp(u.User.Lookup($"{u.Array}[{u.Index}]"))).ToList();
            var outcomes = await engine.ApplyAsync(project, work, origin, context.RequestAborted);
            var (_, errors) = Collect(outcomes, users.Select(u => (u.Array, u.Index)).ToList());
            return BrazeSurface.Answer(201, "success", new() { ["deleted"] = outcomes.Count(o => o.Value is DeleteResult) }, errors);
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
                    throw BrazeSurface.Invalid($"fields_to_export must be an array of field names: {string.Join(", ", BrazeExport.Fields)}");
                }
                fields = requested.EnumerateArray().Select(f => f.GetString()!).Distinct().ToList();
            }
            var views = await engine.FindUsersAsync(project, users.Select(u => u.User.Lookup($"{u.Array}[{u.Index}]")).ToList(),
                eventSummaries: true, BrazeTrack.PurchaseEvent, context.RequestAborted);
            var found = new List<Dictionary<string, object?>>();
            var invalid = new List<object>();
            var seen = new HashSet<ProfileId>();
            for (var i = 0; i < users.Count; i++)
            {
                if (views[i] is not { } view)
                {
                    invalid.Add(users[i].Sent);
                }
                else if (seen.Add(view.Profile.Id))
                {
                    found.Add(BrazeExport.User(view, fields));
                }
            }
            return BrazeSurface.Answer(201, "success", new() { ["users"] = found, ["invalid_user_ids"] = invalid });
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
            throw BrazeSurface.Invalid(exactlyOne
                ? $"the request needs exactly one of {string.Join(", ", names)}"
                : "the request needs external_ids and/or user_aliases, or exactly one of device_id, braze_id, email_address, phone");
        }
        var users = new List<(UserRef, string, int, object)>();
        foreach (var name in present)
        {
            var value = root.GetProperty(name);
            if (name is "device_id" or "braze_id" or "email_address" or "phone")
            {
                var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : throw BrazeSurface.Invalid($"{name} must be a string");
                users.Add((Single(name, text, name), name, 0, text));
                continue;
            }
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw BrazeSurface.Invalid($"{name} must be an array");
            }
            if (value.GetArrayLength() > BrazeReader.MaxPerRequest)
            {
                throw BrazeSurface.Invalid(tooMany);
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
                    user = reader.User(item, path, [kind]) ?? throw BrazeSurface.Invalid($"{path}.{kind} is required");
                }
                else
                {
                    throw BrazeSurface.Invalid($"{path} must be a string");
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
                throw BrazeSurface.Invalid($"{path} must be 1 to {IdentifierNormalizer.MaxValueLength} characters, not blank, without NUL");
            }
            return name switch
            {
                "external_ids" => new UserRef(UserRef.ExternalId, reader.ExternalId(text, path), text, null, []),
                "braze_ids" or "braze_id" => long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id > 0
                    ? new UserRef(UserRef.BrazeIdKind, null, text, id, [])
                    : throw BrazeSurface.Invalid($"{path} must be the braze_id of a user (Selfsame's profile id, digits)"),
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
            var outcomes = await engine.ApplyAsync(project, items.Select(i => i.Operation).ToList(), origin, context.RequestAborted);
            var (_, errors) = Collect(outcomes, items.Select(i => (i.Array, i.Index)).ToList(), BrazeTrack.Hint);
            var fields = new Dictionary<string, object?>();
            foreach (var array in new[] { "attributes", "events", "purchases" })
            {
                if (root.TryGetProperty(array, out var sent) && sent.ValueKind == JsonValueKind.Array)
                {
                    fields[$"{array}_processed"] = items.Where((item, i) => item.Array == array && outcomes[i].Succeeded).Count();
                }
            }
            return BrazeSurface.Answer(201, "success", fields, errors);
        });

    private static List<(string, int)> Positions(string array, int count) => Enumerable.Range(0, count).Select(i => (array, i)).ToList();
}
