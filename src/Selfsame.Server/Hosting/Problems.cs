using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Hosting;

/// <summary>RFC 9457 problem details for the native API; the detail names the field at fault.</summary>
public static class Problems
{
    public static IResult Invalid(IReadOnlyList<FieldError> errors, int status = StatusCodes.Status400BadRequest) =>
        Results.Problem(
            statusCode: status,
            title: status == StatusCodes.Status400BadRequest ? "The request is not valid" : null,
            detail: string.Join("; ", errors.Take(5).Select(e => e.ToString())),
            extensions: new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { field = e.Field, message = e.Message }).ToList() });

    public static IResult Invalid(string field, string message, int status = StatusCodes.Status400BadRequest) =>
        Invalid([new FieldError(field, message)], status);

    public static IResult From(GraphException e) => e.Kind switch
    {
        GraphErrorKind.NotFound => Results.Problem(statusCode: 404, title: "Not found", detail: $"{e.Field}: {e.Message}",
            extensions: new Dictionary<string, object?> { ["errors"] = new[] { new { field = e.Field, message = e.Message } } }),
        GraphErrorKind.Conflict => Results.Problem(statusCode: 409, title: "Refused by the graph's rules", detail: $"{e.Field}: {e.Message}",
            extensions: Refusal(e)),
        _ => Invalid(e.Field, e.Message),
    };

    /// <summary>The field at fault; for a guardrail's refusal, its rule and the review entry it was recorded as.</summary>
    private static Dictionary<string, object?> Refusal(GraphException e)
    {
        var extensions = new Dictionary<string, object?> { ["errors"] = new[] { new { field = e.Field, message = e.Message } } };
        if (e.Rule is { } rule)
        {
            extensions["rule"] = rule;
        }
        if (e.Review is { } review)
        {
            extensions["review_id"] = review.Id;
            extensions["review_status"] = Guardrails.ReviewStatuses.Name(review.Status);
        }
        return extensions;
    }

    /// <summary>The problem as an object, for one result inside a batch response.</summary>
    public static object ForBatch(Exception e) => e switch
    {
        RequestValidationException v => new { status = 400, detail = v.Message, errors = v.Errors.Select(x => new { field = x.Field, message = x.Message }) },
        GraphException g => new { status = g.Kind switch { GraphErrorKind.NotFound => 404, GraphErrorKind.Conflict => 409, _ => 400 }, detail = $"{g.Field}: {g.Message}", errors = new[] { new { field = g.Field, message = g.Message } },
            rule = g.Rule, review_id = g.Review?.Id },
        Storage.StoreValueRejectedException => new { status = 400, detail = "(value): a value the store cannot keep (too long or malformed for its index)", errors = new[] { new { field = "(value)", message = "a value the store cannot keep" } } },
        _ when StoreErrors.Unavailable(e) => new { status = 503, detail = "store: the database cannot be reached; retry shortly", errors = Array.Empty<object>() },
        _ => new { status = 500, detail = "the operation failed inside the server; it was not applied", errors = Array.Empty<object>() },
    };
}

/// <summary>The native API's answers: problem details (RFC 9457) for every failure, the field at fault in <c>errors</c>.</summary>
public sealed class NativeErrors : SurfaceErrors
{
    public static NativeErrors Instance { get; } = new();

    /// <summary>The native surface: Bearer keys, problem details, a limit only when configured (<c>--rate-limit native=N/SECONDS</c>).</summary>
    public static SurfaceDescription Surface { get; } = new()
    {
        Name = "native",
        Credentials = new Credentials.Header("Bearer"),
        Errors = Instance,
        ConfiguredLimitFamily = "native",
    };

    public override IResult Denied(HttpContext context, Denial denial)
    {
        if (denial.Kind == DenialKind.Forbidden)
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: $"Authorization: {denial.Detail}");
        }
        context.Response.Headers.WWWAuthenticate = "Bearer";
        var detail = denial.Kind == DenialKind.Missing ? $"{denial.Detail} (create one with 'selfsame key create')" : denial.Detail;
        return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: detail);
    }

    public override IResult RateLimited(HttpContext context, RateLimitRefusal refusal) =>
        Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
            detail: $"rate limit: this project made {refusal.Limit} {refusal.Family} requests in the current window; retry after {refusal.RetryAfterSeconds} s");

    public override IResult Invalid(HttpContext context, IReadOnlyList<FieldError> errors) => Problems.Invalid(errors);

    public override IResult BadBody(HttpContext context, BodyFault fault, FieldError error) => fault switch
    {
        BodyFault.TooLarge => Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, detail: error.ToString()),
        BodyFault.UnsupportedMediaType => Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, detail: error.ToString()),
        _ => Problems.Invalid([error]),
    };

    public override IResult Refused(HttpContext context, GraphException refusal) => Problems.From(refusal);

    public override IResult StoreUnavailable(HttpContext context) =>
        Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Store unavailable",
            detail: "store: the database cannot be reached; retry shortly (a write whose commit was under way when the connection broke may have been applied: send an insert_id with events)",
            extensions: new Dictionary<string, object?> { ["retry_after_seconds"] = 1 });

    public override IResult Internal(HttpContext context) =>
        Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "Internal error",
            detail: "the server could not complete the request; nothing of it was acknowledged");

    public override IResult Unrouted(HttpContext context, int status, string detail) => Results.Problem(statusCode: status, detail: detail);
}
