using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.PostHog;

/// <summary>
/// PostHog's capture API as the pipeline sees it: the project API key in the JSON body (<c>api_key</c> or <c>token</c>
/// at the top, as posthog-node sends it, or <c>token</c> among the first event's properties, as posthog-js does); bodies
/// of any Content-Type, gzipped by Content-Encoding or by <c>?compression=gzip-js</c>; 20 MB a request. Answers are
/// <c>{"status":1}</c>; failures are PostHog's API errors, <c>{"type","code","detail","attr"}</c>.
/// </summary>
public sealed class PostHogSurface : SurfaceErrors
{
    public const string Name = "posthog";

    public const string Prefix = "/posthog";

    /// <summary>PostHog's limit on a capture request.</summary>
    public const long MaxRequestBytes = 20 * 1024 * 1024;

    public static SurfaceDescription Description { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.JsonBodyKey(FindKey, "api_key (or token) in the body, or token among the properties of its first event"),
        Errors = new PostHogSurface(),
        MaxBodyBytes = MaxRequestBytes,
    };

    /// <summary>The key of a capture body: api_key, token or $token at the top; else the token in the first event's properties.</summary>
    private static string? FindKey(JsonElement body)
    {
        if (body.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in new[] { "api_key", "token", "$token" })
            {
                if (body.TryGetProperty(name, out var key) && key.ValueKind == JsonValueKind.String)
                {
                    return key.GetString();
                }
            }
        }
        var first = body.ValueKind switch
        {
            JsonValueKind.Array => body.EnumerateArray().FirstOrDefault(),
            JsonValueKind.Object when body.TryGetProperty("batch", out var batch) && batch.ValueKind == JsonValueKind.Array => batch.EnumerateArray().FirstOrDefault(),
            JsonValueKind.Object => body,
            _ => default,
        };
        return first.ValueKind == JsonValueKind.Object && first.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object
               && properties.TryGetProperty("token", out var token) && token.ValueKind == JsonValueKind.String
            ? token.GetString()
            : null;
    }

    /// <summary>
    /// PostHog's answer, <c>{"status":1}</c>; where Selfsame left something out, it says so beside it: the identifiers
    /// dropped (a junk value, a merge that merge protection refused) and the events the graph's rules refused. PostHog
    /// too accepts such events and only warns.
    /// </summary>
    internal static IResult Success(List<Dictionary<string, object?>> dropped, List<Dictionary<string, object?>> refused) =>
        DroppedIdentifiers.Answer(new Dictionary<string, object> { ["status"] = 1 }, dropped, refused);

    private static IResult Error(int status, string type, string code, string detail, string? attr = null) =>
        Results.Json(new Dictionary<string, object?> { ["type"] = type, ["code"] = code, ["detail"] = detail, ["attr"] = attr }, statusCode: status);

    public override IResult Denied(HttpContext context, Denial denial) => denial.Kind == DenialKind.Forbidden
        ? Error(403, "authentication_error", "permission_denied", denial.Detail)
        : Error(401, "authentication_error", "invalid_api_key", denial.Detail);

    public override IResult RateLimited(HttpContext context, RateLimitRefusal refusal) =>
        Error(429, "throttled", "throttled", $"at most {refusal.Limit} requests; retry after {refusal.RetryAfterSeconds} s");

    public override IResult Invalid(HttpContext context, IReadOnlyList<FieldError> errors) =>
        Error(400, "validation_error", "invalid_payload", errors[0].ToString(), errors[0].Field);

    public override IResult BadBody(HttpContext context, BodyFault fault, FieldError error) => fault == BodyFault.TooLarge
        ? Error(413, "validation_error", "payload_too_large", $"the body is larger than {context.Surface().MaxBodyBytes / (1024 * 1024)} MB")
        : Error(400, "validation_error", "invalid_payload", error.ToString(), error.Field);

    public override IResult Refused(HttpContext context, GraphException refusal) => refusal.Kind switch
    {
        GraphErrorKind.NotFound => Error(404, "invalid_request", "not_found", refusal.Message, refusal.Field),
        GraphErrorKind.Conflict => Error(409, "invalid_request", "conflict", refusal.Message, refusal.Field),
        _ => Error(400, "validation_error", "invalid_input", refusal.Message, refusal.Field),
    };

    public override IResult StoreUnavailable(HttpContext context) =>
        Error(503, "server_error", "unavailable", "the database cannot be reached; nothing was written, retry with backoff");

    public override IResult Internal(HttpContext context) =>
        Error(500, "server_error", "error", "the request failed inside the server; nothing of it was applied");

    public override IResult Unrouted(HttpContext context, int status, string detail) =>
        Error(status, "invalid_request", status == 404 ? "not_found" : "method_not_allowed", detail);
}
