using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Userpilot;

/// <summary>
/// Userpilot as the pipeline sees it: <c>Authorization: Token KEY</c>, its real-time limits, and errors in Userpilot's
/// shape <c>{"errors":[{"details","error","error_code","message"}]}</c>.
/// </summary>
public sealed class UserpilotSurface : SurfaceErrors
{
    public const string Name = "userpilot";
    public const string ApiVersion = "2020-09-22";

    /// <summary>Userpilot's documented real-time limits, per project: 600 identify and 600 track requests a minute.</summary>
    public static readonly RateLimitRule IdentifyFamily = new("userpilot.identify", 600, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule TrackFamily = new("userpilot.track", 600, TimeSpan.FromMinutes(1));

    public static SurfaceDescription Description { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.Header("Token"),
        Errors = new UserpilotSurface(),
    };

    /// <summary>Userpilot's error body.</summary>
    internal static IResult Error(int status, string error, string code, string message, string? details = null) =>
        Results.Json(new Dictionary<string, object>
        {
            ["errors"] = new[] { new Dictionary<string, string?> { ["details"] = details ?? message, ["error"] = error, ["error_code"] = code, ["message"] = message } },
        }, statusCode: status);

    /// <summary>
    /// What the real-time endpoints need: a key of <paramref name="role"/>, the X-API-Version header Userpilot requires
    /// there (checked before the request counts against <paramref name="limit"/>).
    /// </summary>
    internal static EndpointNeeds Versioned(string role, RateLimitRule? limit = null, long? maxBodyBytes = null) =>
        new(role, Limit: limit, MaxBodyBytes: maxBodyBytes) { Precondition = Version };

    /// <summary>The X-API-Version header at fault (absent, or another version), or null.</summary>
    private static FieldError? Version(HttpContext context)
    {
        var version = context.Request.Headers["X-API-Version"].ToString();
        return version.Length == 0 ? new FieldError("X-API-Version", $"header is required: send 'X-API-Version: {ApiVersion}'", "missing_api_version")
            : version != ApiVersion ? new FieldError("X-API-Version", $"'{version}' is not supported: send '{ApiVersion}'", "unsupported_api_version")
            : null;
    }

    public override IResult Denied(HttpContext context, Denial denial) => denial.Kind == DenialKind.Forbidden
        ? Error(403, "Forbidden", "forbidden", $"Forbidden - {denial.Detail}")
        : Error(401, "Unauthorized", "invalid_api_key", "Unauthorized - Invalid API key", denial.Kind switch
        {
            DenialKind.Missing => "send 'Authorization: Token YOUR_API_KEY'",
            DenialKind.Malformed => "the Authorization header must use the Token scheme: 'Authorization: Token YOUR_API_KEY' (another scheme, such as Bearer, was sent)",
            _ => "the key after 'Token ' is not a live key",
        });

    public override IResult RateLimited(HttpContext context, RateLimitRefusal refusal) =>
        Error(429, "Too Many Requests", "rate_limited", $"Too Many Requests - at most {refusal.Limit} a minute; back off and retry");

    public override IResult Invalid(HttpContext context, IReadOnlyList<FieldError> errors) =>
        Error(400, "Bad Request", errors[0].Code ?? "invalid_payload", errors[0].ToString(), errors[0].Field);

    public override IResult BadBody(HttpContext context, BodyFault fault, FieldError error) => fault switch
    {
        BodyFault.TooLarge when context.Request.HasFormContentType =>
            Error(413, "Payload Too Large", "file_too_large", $"the file is larger than {UserpilotApi.MaxFileBytes / 1024 / 1024} MB"),
        BodyFault.TooLarge => Error(413, "Payload Too Large", "payload_too_large", $"the body is larger than {context.Surface().MaxBodyBytes} bytes"),
        BodyFault.UnsupportedMediaType => Error(415, "Bad Request", "unsupported_media_type", error.ToString(), error.Field),
        _ => Error(400, "Bad Request", "invalid_payload", error.ToString(), error.Field),
    };

    public override IResult Refused(HttpContext context, GraphException refusal) => refusal.Kind == GraphErrorKind.NotFound
        ? Error(404, "Not Found", "not_found", $"{refusal.Field}: {refusal.Message}", refusal.Field)
        : Error(409, "Conflict", "conflict", $"{refusal.Field}: {refusal.Message}", refusal.Field);

    public override IResult StoreUnavailable(HttpContext context) =>
        Error(503, "Service Unavailable", "service_unavailable", "the database cannot be reached; retry with backoff");

    public override IResult Internal(HttpContext context) =>
        Error(500, "Internal Server Error", "internal_error", "the request failed inside the server; nothing of it was applied");

    public override IResult Unrouted(HttpContext context, int status, string detail) => status == 404
        ? Error(404, "Not Found", "not_found", detail)
        : Error(status, "Method Not Allowed", "method_not_allowed", detail);
}
