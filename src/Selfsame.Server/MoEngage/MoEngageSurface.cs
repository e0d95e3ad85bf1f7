using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.MoEngage;

/// <summary>
/// MoEngage as the pipeline sees it: HTTP Basic <c>workspace_id:api_key</c>, where the workspace id is the project id (any
/// case) and must be the one in the path (or app_id in the query); its rate-limit families; the client address of proxied
/// requests recorded on writes; failures in MoEngage's envelope <c>{"status":"fail","error":{"attribute","message","type","request_id"}}</c>.
/// </summary>
public sealed class MoEngageSurface : SurfaceErrors
{
    public const string Name = "moengage";
    public const int MaxCustomerBytes = 128 * 1024;
    public const int MaxTransitionBytes = 100 * 1024;

    /// <summary>MoEngage's documented limits, per project (counted in requests here).</summary>
    public static readonly RateLimitRule CustomerFamily = new("moengage.customer", 10_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule MergeFamily = new("moengage.merge", 1_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule DeleteFamily = new("moengage.delete", 5_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule ExportFamily = new("moengage.export", 1_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule TransitionFamily = new("moengage.transition", 60_000, TimeSpan.FromMinutes(1));

    public static SurfaceDescription Description { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.BasicWorkspace("workspaceId", "app_id"),
        Errors = new MoEngageSurface(),
        MaxBodyBytes = MaxCustomerBytes,
        RecordsClientAddress = true,
    };

    /// <summary>A request MoEngage refuses whole: <paramref name="type"/> is MoEngage's error type, <paramref name="attribute"/> the field at fault.</summary>
    internal static RequestValidationException Invalid(string type, string message, string attribute) => RequestValidationException.Of(attribute, message, type);

    internal static RequestValidationException Missing(string attribute, string message) => Invalid("MissingAttributeError", message, attribute);

    internal static RequestValidationException Bad(string attribute, string message) => Invalid("InvalidAttributeError", message, attribute);

    /// <summary>The failure envelope; request_id is the request's id (the client's X-Request-Id, else the server's).</summary>
    internal static IResult Fail(HttpContext context, int status, string type, string message, string? attribute = null)
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

    public override IResult Denied(HttpContext context, Denial denial) => denial.Kind switch
    {
        DenialKind.Missing => Fail(context, 401, "Authentication required", "Authentication Header Required"),
        DenialKind.Malformed => Fail(context, 401, "Authentication required", "the Authorization header must be 'Basic ' and base64 of WORKSPACE_ID:API_KEY"),
        DenialKind.WorkspaceMissing => Fail(context, 400, "MissingAttributeError", "app_id is required in path/query params.", "app_id"),
        DenialKind.WorkspaceMismatch => Fail(context, 409, "Authentication required", "App key mismatch in params and authentication."),
        DenialKind.Forbidden => Fail(context, 403, "Forbidden", denial.Detail),
        _ => Fail(context, 401, "Authentication required", "App Secret key mismatch. Please login to the dashboard to verify key"),
    };

    /// <summary>MoEngage's 429, in the shape its delete API documents for itself (title and description), else its common envelope.</summary>
    public override IResult RateLimited(HttpContext context, RateLimitRefusal refusal) => refusal.Family == DeleteFamily.Family
        ? Results.Json(new Dictionary<string, string> { ["status"] = "fail", ["title"] = "Rate limit exceeded", ["description"] = "Exceeded rate limit for this url" }, statusCode: 429)
        : Fail(context, 429, "RateLimitError", "Rate limit exceeded");

    public override IResult Invalid(HttpContext context, IReadOnlyList<FieldError> errors) => errors[0] is { Code: { } type } error
        ? Fail(context, 400, type, error.Message, error.Field)
        : Fail(context, 400, "JSONDecodeError", $"A valid JSON document is required: {errors[0].Field} {errors[0].Message}");

    public override IResult BadBody(HttpContext context, BodyFault fault, FieldError error) => fault switch
    {
        BodyFault.TooLarge => Fail(context, 413, "PayloadTooLarge", $"Payload size exceeds {context.Surface().MaxBodyBytes / 1024} KB"),
        BodyFault.UnsupportedMediaType => Fail(context, 415, "MediaTypeError", "Unsupported Media Type: send Content-Type: application/json"),
        _ => Fail(context, 400, "JSONDecodeError", $"A valid JSON document is required: {error.Message}"),
    };

    public override IResult Refused(HttpContext context, GraphException refusal) => refusal.Kind == GraphErrorKind.Conflict
        ? Fail(context, 409, "Conflict", refusal.Message, refusal.Field)
        : Fail(context, 400, refusal.Kind == GraphErrorKind.NotFound ? "Not Found" : "InvalidAttributeError", refusal.Message, refusal.Field);

    public override IResult StoreUnavailable(HttpContext context) =>
        Fail(context, 503, "ServiceUnavailable", "the database cannot be reached; retry with backoff");

    public override IResult Internal(HttpContext context) => Fail(context, 500, "ServerError", "Internal Server Error");

    public override IResult Unrouted(HttpContext context, int status, string detail) =>
        Fail(context, status, status == 404 ? "NotFound" : "MethodNotAllowed", detail);
}
