using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Selfsame.Server.Amplitude;

/// <summary>
/// Amplitude's User Mapping API under /amplitude: map and unmap user ids into a global user id (POST /amplitude/usermap)
/// and read the mappings of user ids (GET or POST /amplitude/api/2/usermap). Every answer is JSON with "code" equal to
/// the HTTP status, as Amplitude's SDKs read it.
/// </summary>
public static class AmplitudeApi
{
    public const int MaxMappings = 2000;
    public const int MaxLookupIds = 100;

    public static IEndpointRouteBuilder MapAmplitudeApi(this IEndpointRouteBuilder app)
    {
        var mappingsPerWindow = app.ServiceProvider.GetRequiredService<SelfsameOptions>().AmplitudeMappingsPerWindow;
        app.MapSurface("/amplitude", AmplitudeSurface.Mapping).WithTags("Amplitude")
            .MapMethods("/usermap", ["GET", "POST"], MapUsersAsync)
            .Needs(new EndpointNeeds(Roles.Write, Limit: AmplitudeSurface.MappingFamily(mappingsPerWindow)) { LimitCountsItems = true });
        app.MapSurface("/amplitude", AmplitudeSurface.Lookup).WithTags("Amplitude")
            .MapMethods("/api/2/usermap", ["GET", "POST"], LookupAsync).Needs(Roles.Read);
        app.MapSurface("/amplitude", AmplitudeSurface.Identify).WithTags("Amplitude")
            .MapMethods("/identify", ["GET", "POST"], IdentifyAsync).Needs(Roles.Write);
        var ingestion = app.MapSurface("/amplitude", AmplitudeSurface.Ingestion).WithTags("Amplitude");
        ingestion.MapPost("/2/httpapi", HttpApi.IngestAsync).Needs(Roles.Write);
        ingestion.MapPost("/batch", HttpApi.IngestAsync).Needs(Roles.Write);
        return app;
    }

    /// <summary>Amplitude's clients send up to 1 MB of mappings in the query string or the body: Kestrel's request line and body limit must hold them.</summary>
    public static IServiceCollection AddAmplitude(this IServiceCollection services) =>
        services.Configure<KestrelServerOptions>(k =>
        {
            // Kestrel's own body limit is the largest any surface reads without raising it per request: it also bounds
            // what Kestrel reads past an answered 413 to keep the connection, so that a client's next request on it works.
            k.Limits.MaxRequestBodySize = Math.Max(k.Limits.MaxRequestBodySize ?? 0, AmplitudeSurface.MaxRequestBytes);
            k.Limits.MaxRequestLineSize = AmplitudeSurface.MaxRequestBytes + 64 * 1024;
            k.Limits.MaxRequestBufferSize = Math.Max(k.Limits.MaxRequestBufferSize ?? 0, k.Limits.MaxRequestLineSize + 64 * 1024);
        });

    private static async Task<IResult> MapUsersAsync(HttpContext context, IdentityEngine engine, CancellationToken ct)
    {
        var request = context.Surface();
        var mappingText = await request.ParameterAsync("mapping");
        if (string.IsNullOrEmpty(mappingText))
        {
            return AmplitudeSurface.Answer(400, new() { ["error"] = "Request missing required field", ["missing_field"] = "mapping" });
        }
        if (Encoding.UTF8.GetByteCount(mappingText) > AmplitudeSurface.MaxRequestBytes)
        {
            throw new RequestBodyException(BodyFault.TooLarge, new FieldError("mapping", $"larger than {AmplitudeSurface.MaxRequestBytes} bytes"));
        }
        List<Mapping> mappings;
        try
        {
            mappings = ReadMappings(mappingText);
        }
        catch (JsonException e)
        {
            throw RequestValidationException.Of("mapping", $"not JSON ({e.Message})");
        }
        if (mappings.Count > MaxMappings)
        {
            return AmplitudeSurface.Answer(413, new() { ["error"] = $"Payload too large: {mappings.Count} mappings; at most {MaxMappings} in one request" });
        }
        request.Admit(mappings.Count);

        var outcomes = await engine.ApplyAsync(request.Project, mappings.Select(Operation).ToList(), request.Origin, ct);
        var refused = new List<object>();
        int mapped = 0, unmapped = 0;
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (outcomes[i].Succeeded)
            {
                mapped += outcomes[i].Value is LinkResult ? 1 : 0;
                unmapped += outcomes[i].Value is IReadOnlyList<Link> { Count: > 0 } ? 1 : 0;
            }
            else
            {
                refused.Add(new { index = i, user_id = mappings[i].UserId, reason = outcomes[i].Error is GraphException g ? g.Message : "the mapping could not be applied",
                    rule = (outcomes[i].Error as GraphException)?.Rule, review_id = (outcomes[i].Error as GraphException)?.Review?.Id });
            }
        }
        return AmplitudeSurface.Answer(200, new() { ["success"] = refused.Count == 0, ["mapped"] = mapped, ["unmapped"] = unmapped, ["refused"] = refused });
    }

    /// <summary>A mapping as the engine applies it: a map link of user_id into global_user_id (replacing an earlier one), or the removal of it.</summary>
    private static GraphOperation Operation(Mapping mapping)
    {
        var user = UserId(mapping.UserId, "user_id");
        return mapping.Unmap
            ? new GraphOperation.UnmapOp(user, LinkKinds.Map)
            : new GraphOperation.MapOp(new LinkCommand(user, UserId(mapping.GlobalUserId!, "global_user_id"), LinkKinds.Map));
    }

    private static async Task<IResult> LookupAsync(HttpContext context, IdentityEngine engine, CancellationToken ct)
    {
        var request = context.Surface();
        var form = await request.FormAsync();
        var userIds = new List<string>();
        foreach (var value in context.Request.Query["user_ids"].Concat(form.TryGetValue("user_ids", out var fromBody) ? fromBody : StringValues.Empty))
        {
            if (value is null)
            {
                continue;
            }
            if (value.TrimStart().StartsWith('['))
            {
                try
                {
                    userIds.AddRange(JsonSerializer.Deserialize<List<string>>(value) ?? []);
                }
                catch (JsonException)
                {
                    throw RequestValidationException.Of("user_ids", "expected a user id, repeated, or a JSON array of strings");
                }
            }
            else
            {
                userIds.Add(value);
            }
        }
        userIds = userIds.Distinct(StringComparer.Ordinal).ToList();
        if (userIds.Count is 0 or > MaxLookupIds)
        {
            throw RequestValidationException.Of("user_ids", $"between 1 and {MaxLookupIds} user ids are required, got {userIds.Count}");
        }
        if (userIds.FirstOrDefault(u => u.Length is 0 or > IdentifierNormalizer.MaxValueLength || u.Contains('\0', StringComparison.Ordinal)) is { } bad)
        {
            throw RequestValidationException.Of("user_ids", $"'{bad}' is not a user id (1 to {IdentifierNormalizer.MaxValueLength} characters)");
        }
        var found = await engine.DirectLinksOfAsync(request.Project, userIds.Select(u => new Identifier(IdentifierTypes.UserId, u)).ToList(), LinkKinds.Map, ct);
        var body = new Dictionary<string, object?>();
        for (var i = 0; i < userIds.Count; i++)
        {
            var links = found[i];
            body[userIds[i]] = links is null
                ? new { mapped_from = Array.Empty<object>(), mapped_to = Array.Empty<object>() }
                : new
                {
                    amplitude_id = links.Identifier.Record.Value,
                    mapped_from = links.From.Select(Other).ToList(),
                    mapped_to = links.Into.Select(Other).ToList(),
                };
        }
        // The map of user ids alone, as the seed shows it: a "code" beside them would read as a user id named code.
        return Results.Json(body);

        static object Other((RecordId Record, IReadOnlyList<StoredIdentifier> Identifiers) other) => new
        {
            amplitude_id = other.Record.Value,
            user_id = other.Identifiers.FirstOrDefault(i => i.Identifier.Type == IdentifierTypes.UserId)?.Identifier.Value,
        };
    }

    /// <summary>
    /// Amplitude's Identify API: each identification (one object or an array, in <c>identification</c>) names a user by
    /// user_id and/or device_id, and edits its user properties; it writes no event. A user id on a device's record that has
    /// none names that record, as Amplitude does, rather than starting a new user.
    /// </summary>
    private static async Task<IResult> IdentifyAsync(HttpContext context, IdentityEngine engine, CancellationToken ct)
    {
        var request = context.Surface();
        var text = await request.ParameterAsync("identification");
        if (string.IsNullOrEmpty(text))
        {
            return AmplitudeSurface.Answer(400, new() { ["error"] = "missing_event", ["missing_field"] = "identification" });
        }
        List<GraphOperation> operations;
        try
        {
            using var document = JsonText.Parse(text, maxDepth: 40);
            var root = document.RootElement;
            var items = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
            if (items.Count is 0 or > MaxIdentifications)
            {
                throw RequestValidationException.Of("identification", $"between 1 and {MaxIdentifications} identifications are required, got {items.Count}");
            }
            operations = items.Select((item, i) => Identification(item, root.ValueKind == JsonValueKind.Array ? $"identification[{i}]" : "identification")).ToList();
        }
        catch (JsonException e)
        {
            throw RequestValidationException.Of("identification", $"not JSON ({e.Message})");
        }
        var results = await engine.ApplyAllAsync(request.Project, operations, request.Origin, ct);
        var answer = new Dictionary<string, object?> { ["identified"] = results.Count };
        if (DroppedIdentifiers.OfResults(results) is { Count: > 0 } dropped)
        {
            answer["dropped_identifiers"] = dropped;
        }
        return AmplitudeSurface.Answer(200, answer);
    }

    public const int MaxIdentifications = 2000;

    /// <summary>The user fields an identification may carry beside user_properties, kept as user properties of the same names.</summary>
    private static readonly string[] UserFields =
        ["app_version", "platform", "os_name", "os_version", "device_brand", "device_manufacturer", "device_model", "carrier", "country", "region", "city", "dma", "language", "paying", "start_version"];

    private static GraphOperation Identification(JsonElement item, string path)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, "expected an object with user_id or device_id");
        }
        var identifiers = new List<IdentifierInput>(2);
        foreach (var (field, type) in new[] { ("user_id", IdentifierTypes.UserId), ("device_id", IdentifierTypes.DeviceId) })
        {
            if (item.TryGetProperty(field, out var element) && element.ValueKind != JsonValueKind.Null)
            {
                var value = RequiredString(item, field, path);
                identifiers.Add(new IdentifierInput(new Identifier(type, value), value, $"{path}.{field}"));
            }
        }
        if (identifiers.Count == 0)
        {
            throw Invalid($"{path}.user_id", "user_id or device_id is required");
        }
        var edits = new List<PropertyEdit>();
        foreach (var field in UserFields)
        {
            if (item.TryGetProperty(field, out var element) && element.ValueKind != JsonValueKind.Null)
            {
                edits.Add(new PropertyEdit.Set(field, PropertyValue.TryFrom(element, out var error) ?? throw Invalid($"{path}.{field}", error!)));
            }
        }
        if (item.TryGetProperty("user_properties", out var properties) && properties.ValueKind != JsonValueKind.Null)
        {
            edits.AddRange(UserProperties.Read(properties, $"{path}.user_properties"));
        }
        // The device's record when only it is known (a user id joins it), else the user id's: edits go to that record alone.
        return new GraphOperation.UpsertOp(new UpsertCommand(identifiers, ExistingOnly: false, new Dictionary<string, PropertyValue>(), [], edits) { EditsOnRecord = true });
    }

    private sealed record Mapping(string UserId, string? GlobalUserId, bool Unmap);

    private static List<Mapping> ReadMappings(string text)
    {
        using var document = JsonText.Parse(text, maxDepth: 8);
        var root = document.RootElement;
        var items = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
        var result = new List<Mapping>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var path = root.ValueKind == JsonValueKind.Array ? $"mapping[{i}]" : "mapping";
            var item = items[i];
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(path, "expected a mapping object {\"user_id\":..,\"global_user_id\":..}");
            }
            var userId = RequiredString(item, "user_id", path);
            var unmap = false;
            if (item.TryGetProperty("unmap", out var unmapElement))
            {
                unmap = unmapElement.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw Invalid($"{path}.unmap", "expected true or false"),
                };
            }
            string? global = null;
            if (item.TryGetProperty("global_user_id", out var globalElement))
            {
                if (unmap)
                {
                    throw Invalid($"{path}.global_user_id", "must be absent when unmap is true");
                }
                global = RequiredString(item, "global_user_id", path);
            }
            else if (!unmap)
            {
                throw Invalid($"{path}.global_user_id", "is required unless unmap is true");
            }
            if (global == userId)
            {
                throw Invalid($"{path}.global_user_id", "must differ from user_id");
            }
            result.Add(new Mapping(userId, global, unmap));
        }
        return result;
    }

    private static string RequiredString(JsonElement item, string name, string path)
    {
        if (!item.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            throw Invalid($"{path}.{name}", "is required: a string");
        }
        var value = element.GetString()!;
        if (value.Length is 0 or > IdentifierNormalizer.MaxValueLength || value.Contains('\0', StringComparison.Ordinal))
        {
            throw Invalid($"{path}.{name}", $"must be 1 to {IdentifierNormalizer.MaxValueLength} characters without NUL");
        }
        return value;
    }

    private static RequestValidationException Invalid(string field, string message) => new([new FieldError(field, message)]);

    private static IdentifierInput UserId(string value, string field) => new(new Identifier(IdentifierTypes.UserId, value), value, field);
}
