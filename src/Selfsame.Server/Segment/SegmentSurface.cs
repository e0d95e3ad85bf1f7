using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Segment;

/// <summary>
/// Segment's HTTP Tracking API as the pipeline sees it: the write key as the user name of HTTP Basic (how Segment's
/// libraries send it) or the body's <c>writeKey</c>; 32 KB a call and 500 KB a batch; a body Segment cannot take is 400,
/// as Segment answers it. Answers are <c>{"success":true}</c>, failures <c>{"success":false,"code","message"}</c>.
/// </summary>
public sealed class SegmentSurface : SurfaceErrors
{
    public const string Name = "segment";

    public const long MaxCallBytes = 32 * 1024;
    public const long MaxBatchBytes = 500 * 1024;

    public static SurfaceDescription Description { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.BasicUserName("writeKey"),
        Errors = new SegmentSurface(),
        MaxBodyBytes = MaxCallBytes,
    };

    /// <summary>
    /// Segment's answer, <c>{"success":true}</c>; where Selfsame left something out, it says so beside it: the identifiers
    /// dropped (a junk value, a merge that merge protection refused) and the batch's messages the graph's rules refused.
    /// </summary>
    internal static IResult Success(List<Dictionary<string, object?>> dropped, List<Dictionary<string, object?>> refused) =>
        DroppedIdentifiers.Answer(new Dictionary<string, object> { ["success"] = true }, dropped, refused);

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new Dictionary<string, object> { ["success"] = false, ["code"] = code, ["message"] = message }, statusCode: status);

    public override IResult Denied(HttpContext context, Denial denial) => denial.Kind == DenialKind.Forbidden
        ? Error(403, "forbidden", denial.Detail)
        : Error(401, "invalid_write_key", denial.Kind == DenialKind.Missing
            ? "no write key: send it as the user name of HTTP Basic (WRITE_KEY:), as Segment's libraries do, or as writeKey in the body"
            : denial.Detail);

    public override IResult RateLimited(HttpContext context, RateLimitRefusal refusal) =>
        Error(429, "rate_limited", $"at most {refusal.Limit} requests; retry after {refusal.RetryAfterSeconds} s");

    public override IResult Invalid(HttpContext context, IReadOnlyList<FieldError> errors) => Error(400, errors[0].Code ?? "invalid_request", errors[0].ToString());

    // Segment answers 400 for a body over its limits and for JSON it cannot read.
    public override IResult BadBody(HttpContext context, BodyFault fault, FieldError error) => fault switch
    {
        BodyFault.TooLarge => Error(400, "payload_too_large", $"the body is larger than {context.Surface().MaxBodyBytes / 1024} KB"),
        _ => Error(400, "invalid_request", error.ToString()),
    };

    public override IResult Refused(HttpContext context, GraphException refusal) =>
        refusal.Kind switch
        {
            GraphErrorKind.NotFound => Error(404, "not_found", $"{refusal.Field}: {refusal.Message}"),
            GraphErrorKind.Conflict => Error(409, "refused", $"{refusal.Field}: {refusal.Message}"),
            _ => Error(400, "invalid_request", $"{refusal.Field}: {refusal.Message}"),
        };

    public override IResult StoreUnavailable(HttpContext context) =>
        Error(503, "unavailable", "the database cannot be reached; nothing was written, retry with backoff");

    public override IResult Internal(HttpContext context) =>
        Error(500, "internal_error", "the request failed inside the server; nothing of it was applied");

    public override IResult Unrouted(HttpContext context, int status, string detail) =>
        Error(status, status == 404 ? "not_found" : "method_not_allowed", detail);
}
