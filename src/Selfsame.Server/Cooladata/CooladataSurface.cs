using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Cooladata;

/// <summary>
/// Journey Analytics (Cooladata) as the pipeline sees it: the identities call takes <c>Authorization: Token KEY</c> of an
/// admin key of the project in its path; the tracker takes a write key as the app key in its path. Answers are the
/// vendor's plain text. It documents no rate limit: one applies when configured (<c>--rate-limit cooladata=N/SECONDS</c>).
/// </summary>
public sealed class CooladataSurface : SurfaceErrors
{
    public const string Name = "cooladata";

    private readonly bool _tracker;

    private CooladataSurface(bool tracker) => _tracker = tracker;

    public static SurfaceDescription Identities { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.Header("Token"),
        Errors = new CooladataSurface(tracker: false),
        ConfiguredLimitFamily = Name,
    };

    public static SurfaceDescription Tracker { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.PathSegment("appKey"),
        Errors = new CooladataSurface(tracker: true),
        ConfiguredLimitFamily = Name,
    };

    private static IResult Text(int status, string text) => Results.Text(text, statusCode: status);

    public override IResult Denied(HttpContext context, Denial denial)
    {
        if (_tracker)
        {
            return Text(401, "the app key in the path is not a valid write key of a project");
        }
        if (denial.Kind is DenialKind.Forbidden or DenialKind.WorkspaceMismatch)
        {
            // A key of another project, or one without the admin role, has no admin permission on this project; the answer
            // is the same in both cases, so it says nothing about whether the project exists.
            return Text(400, $"Operation requires admin permissions on project {context.Request.RouteValues["projectId"]}");
        }
        context.Response.Headers.WWWAuthenticate = "Token";
        return Text(401, "Authorization: send 'Authorization: Token <API token>' with a valid token");
    }

    public override IResult RateLimited(HttpContext context, RateLimitRefusal refusal) => Text(429, $"Too many requests: retry after {refusal.RetryAfterSeconds} s");

    public override IResult Invalid(HttpContext context, IReadOnlyList<FieldError> errors) => Text(400, errors[0].ToString());

    public override IResult BadBody(HttpContext context, BodyFault fault, FieldError error) => fault switch
    {
        BodyFault.TooLarge => Text(413, $"Payload too large: at most {context.Surface().MaxBodyBytes} bytes"),
        BodyFault.UnsupportedMediaType => Text(415, error.ToString()),
        _ => Text(400, $"Invalid JSON payload: {error.Message}"),
    };

    public override IResult Refused(HttpContext context, GraphException refusal) => Text(400, refusal.Message);

    public override IResult StoreUnavailable(HttpContext context) => Text(503, "Service unavailable: the database cannot be reached; retry");

    public override IResult Internal(HttpContext context) => Text(500, "Internal error: nothing of the request was applied");

    public override IResult Unrouted(HttpContext context, int status, string detail) => Text(status, detail);
}
