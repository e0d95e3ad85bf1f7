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

namespace Selfsame.Server.Amplitude;

/// <summary>
/// Amplitude's User Mapping API under /amplitude: map and unmap user ids into a global user id (POST /amplitude/usermap)
/// and read the mappings of user ids (GET or POST /amplitude/api/2/usermap). Every answer is JSON with "code" equal to
/// the HTTP status, as Amplitude's SDKs read it.
/// </summary>
public static class AmplitudeApi
{
    public const string Surface = "amplitude";
    public const int MaxMappings = 2000;
    public const int MaxRequestBytes = 1024 * 1024;
    public const int MaxLookupIds = 100;

    public static IEndpointRouteBuilder MapAmplitudeApi(this IEndpointRouteBuilder app)
    {
        var amplitude = app.MapGroup("/amplitude").WithTags("Amplitude").ExcludeFromDescription();
        amplitude.MapMethods("/usermap", ["GET", "POST"], MapUsersAsync);
        amplitude.MapMethods("/api/2/usermap", ["GET", "POST"], LookupAsync);
        amplitude.MapPost("/2/httpapi", HttpApi.IngestAsync);
        amplitude.MapPost("/batch", HttpApi.IngestAsync);
        return app;
    }

    private static async Task<IResult> MapUsersAsync(HttpContext context, KeyAuthentication keys, IdentityEngine engine, MappingWindow window, CancellationToken ct)
    {
        if (context.Request.ContentLength > MaxRequestBytes)
        {
            return Answer(413, new() { ["error"] = "Payload too large" });
        }
        var (form, formFailure) = await ReadFormAsync(context.Request, ct);
        if (formFailure is not null)
        {
            return formFailure;
        }
        var apiKey = Value(context.Request.Query, form, "api_key");
        var check = await keys.CheckAsync(apiKey, Roles.Write, ct);
        switch (check.Result)
        {
            case KeyCheckResult.Missing:
                return Answer(400, new() { ["error"] = "Request missing required field", ["missing_field"] = "api_key" });
            case KeyCheckResult.Invalid:
                return Answer(400, new() { ["error"] = "Invalid API key" });
            case KeyCheckResult.Forbidden:
                return Answer(403, new() { ["error"] = $"Forbidden: {check.Why(Roles.Write)}" });
        }
        var project = check.Caller!.Project;
        var mappingText = Value(context.Request.Query, form, "mapping");
        if (string.IsNullOrEmpty(mappingText))
        {
            return Answer(400, new() { ["error"] = "Request missing required field", ["missing_field"] = "mapping" });
        }
        if (Encoding.UTF8.GetByteCount(mappingText) > MaxRequestBytes)
        {
            return Answer(413, new() { ["error"] = "Payload too large" });
        }
        List<Mapping> mappings;
        try
        {
            mappings = ReadMappings(mappingText);
        }
        catch (RequestValidationException e)
        {
            return Answer(400, new() { ["error"] = $"Invalid mapping: {e.Message}", ["field"] = e.Errors[0].Field });
        }
        catch (JsonException e)
        {
            return Answer(400, new() { ["error"] = $"Invalid mapping: not JSON ({e.Message})", ["field"] = "mapping" });
        }
        if (mappings.Count > MaxMappings)
        {
            return Answer(413, new() { ["error"] = $"Payload too large: {mappings.Count} mappings; at most {MaxMappings} in one request" });
        }
        var admitted = window.TryAdmit(project, mappings.Count, out var retryAfter);
        window.Decision(project, admitted).WriteHeaders(context.Response, window.Now);
        if (!admitted)
        {
            return Answer(429, new() { ["error"] = $"Too many requests: this project mapped {window.Limit} or more user ids in the last 30 seconds; retry after {Math.Ceiling(retryAfter.TotalSeconds)} s" });
        }

        var origin = new WriteOrigin(Surface, context.RequestId(), check.Caller.KeyId);
        var work = mappings.Select(m => (Func<Storage.IGraphTransaction, string>)(tx => Apply(tx, m, origin))).ToList();
        var outcomes = await engine.ApplyEachAsync(project, work, ct);
        var refused = new List<object>();
        int mapped = 0, unmapped = 0;
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (outcomes[i].Succeeded)
            {
                mapped += outcomes[i].Value == "mapped" ? 1 : 0;
                unmapped += outcomes[i].Value == "unmapped" ? 1 : 0;
            }
            else
            {
                refused.Add(new { index = i, user_id = mappings[i].UserId, reason = outcomes[i].Error is GraphException g ? g.Message : "the mapping could not be applied" });
            }
        }
        return Answer(200, new() { ["success"] = refused.Count == 0, ["mapped"] = mapped, ["unmapped"] = unmapped, ["refused"] = refused });
    }

    private static string Apply(Storage.IGraphTransaction tx, Mapping mapping, WriteOrigin origin)
    {
        var user = UserId(mapping.UserId, "user_id");
        if (mapping.Unmap)
        {
            if (tx.FindIdentifier(user.Identifier) is null)
            {
                return "not mapped";
            }
            return IdentityGraph.RemoveOutgoing(tx, user, LinkKinds.Map, origin).Removed.Count > 0 ? "unmapped" : "not mapped";
        }
        IdentityGraph.Map(tx, new LinkCommand(user, UserId(mapping.GlobalUserId!, "global_user_id"), LinkKinds.Map), origin);
        return "mapped";
    }

    private static async Task<IResult> LookupAsync(HttpContext context, KeyAuthentication keys, IdentityEngine engine, CancellationToken ct)
    {
        var (apiKey, secretKey) = BasicCredentials(context.Request);
        if (apiKey is null)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"amplitude\"";
            return Answer(401, new() { ["error"] = "Missing HTTP Basic credentials: send api_key:secret_key" });
        }
        // The pair, as Amplitude has it: the api_key names the project (any live key of it, even a write-only one handed to
        // clients); the secret_key must be a live key of the same project that may read. They may be one key.
        var project = await keys.CheckAsync(apiKey, Roles.Read, ct);
        var secret = await keys.CheckAsync(secretKey, Roles.Read, ct);
        if (project.Result is KeyCheckResult.Missing or KeyCheckResult.Invalid || secret.Result is KeyCheckResult.Missing or KeyCheckResult.Invalid
            || project.Caller!.Project != secret.Caller!.Project)
        {
            return Answer(401, new() { ["error"] = "Invalid API key or secret key" });
        }
        if (project.Result == KeyCheckResult.Forbidden && project.MissingPermission is not null)
        {
            return Answer(403, new() { ["error"] = $"Forbidden: the api key: {project.Why(Roles.Read)}" });
        }
        if (secret.Result == KeyCheckResult.Forbidden)
        {
            return Answer(403, new() { ["error"] = $"Forbidden: the secret key: {secret.Why(Roles.Read)}" });
        }
        var check = secret;
        var (form, formFailure) = await ReadFormAsync(context.Request, ct);
        if (formFailure is not null)
        {
            return formFailure;
        }
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
                    return Answer(400, new() { ["error"] = "user_ids: expected a user id, repeated, or a JSON array of strings" });
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
            return Answer(400, new() { ["error"] = $"user_ids: between 1 and {MaxLookupIds} user ids are required, got {userIds.Count}" });
        }
        if (userIds.FirstOrDefault(u => u.Length is 0 or > IdentifierNormalizer.MaxValueLength || u.Contains('\0', StringComparison.Ordinal)) is { } bad)
        {
            return Answer(400, new() { ["error"] = $"user_ids: '{bad}' is not a user id (1 to {IdentifierNormalizer.MaxValueLength} characters)" });
        }
        var found = await engine.DirectLinksOfAsync(check.Caller!.Project, userIds.Select(u => new Identifier(IdentifierTypes.UserId, u)).ToList(), LinkKinds.Map, ct);
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
        return Answer(200, body);

        static object Other((RecordId Record, IReadOnlyList<StoredIdentifier> Identifiers) other) => new
        {
            amplitude_id = other.Record.Value,
            user_id = other.Identifiers.FirstOrDefault(i => i.Identifier.Type == IdentifierTypes.UserId)?.Identifier.Value,
        };
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

    private static string? Value(IQueryCollection query, IFormCollection form, string name)
    {
        var fromQuery = query[name].ToString();
        return fromQuery.Length > 0 ? fromQuery : form.TryGetValue(name, out var fromForm) ? fromForm.ToString() : null;
    }

    /// <summary>The form body when there is one (url-encoded or multipart), else an empty form; or the answer for a body that cannot be read.</summary>
    private static async Task<(IFormCollection Form, IResult? Failure)> ReadFormAsync(HttpRequest request, CancellationToken ct)
    {
        if (!request.HasFormContentType)
        {
            return (FormCollection.Empty, null);
        }
        try
        {
            return (await request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions
            {
                ValueLengthLimit = MaxRequestBytes,
                MultipartBodyLengthLimit = MaxRequestBytes,
                BufferBodyLengthLimit = MaxRequestBytes,
            }, ct), null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (FormCollection.Empty, Answer(413, new() { ["error"] = "Payload too large" }));
        }
        catch (InvalidDataException e)
        {
            return (FormCollection.Empty, e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)
                ? Answer(413, new() { ["error"] = "Payload too large" })
                : Answer(400, new() { ["error"] = $"Invalid form body: {e.Message}" }));
        }
        catch (IOException e)
        {
            return (FormCollection.Empty, Answer(400, new() { ["error"] = $"Invalid form body: {e.Message}" }));
        }
    }

    private static (string? User, string? Password) BasicCredentials(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return (null, null);
        }
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? (decoded, null) : (decoded[..colon], decoded[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return (null, null);
        }
    }

    /// <summary>A JSON answer with "code" equal to the HTTP status.</summary>
    internal static IResult Answer(int status, Dictionary<string, object?> body)
    {
        var withCode = new Dictionary<string, object?> { ["code"] = status };
        foreach (var (key, value) in body)
        {
            withCode[key] = value;
        }
        return Results.Json(withCode, statusCode: status);
    }
}
