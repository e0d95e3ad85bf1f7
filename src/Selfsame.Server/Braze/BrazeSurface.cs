using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Braze;

/// <summary>
/// Braze as the pipeline sees it: <c>Authorization: Bearer KEY</c>, keys that may be limited to Braze's named permissions,
/// its rate-limit families, and every failure as a JSON object with "message", as Braze clients read it.
/// </summary>
public sealed class BrazeSurface : SurfaceErrors
{
    public const string Name = "braze";

    /// <summary>Braze's named permissions, each needed by one endpoint; a key may be limited to some of them.</summary>
    public static IReadOnlyList<string> Permissions { get; } =
    [
        "users.track", "users.alias.new", "users.alias.update", "users.identify", "users.merge", "users.delete",
        "users.export.ids", "users.external_ids.rename", "users.external_ids.remove",
    ];

    /// <summary>Braze's documented limits, per project: the shared /users/* family, track, export by ids, and external id rename.</summary>
    public static readonly RateLimitRule UsersFamily = new("braze.users", 20_000, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule TrackFamily = new("braze.track", 3_000, TimeSpan.FromSeconds(3));
    public static readonly RateLimitRule ExportFamily = new("braze.export", 250, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule RenameFamily = new("braze.external_ids", 1_000, TimeSpan.FromMinutes(1));

    /// <summary>The code of a field error whose message is Braze's whole sentence, shown as it is.</summary>
    private const string Sentence = "braze.sentence";

    public static SurfaceDescription Description { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.Header("Bearer"),
        Errors = new BrazeSurface(),
    };

    /// <summary>A request Braze refuses whole, answered 400 with <paramref name="sentence"/> (which names the field) as its message.</summary>
    internal static RequestValidationException Invalid(string sentence) => RequestValidationException.Of("(body)", sentence, Sentence);

    /// <summary>A Braze JSON answer: the fields given, "message", and "errors" when some objects failed.</summary>
    internal static IResult Answer(int status, string message, Dictionary<string, object?>? fields = null, IReadOnlyList<object>? errors = null)
    {
        var body = fields ?? [];
        body["message"] = message;
        if (errors is { Count: > 0 })
        {
            body["errors"] = errors;
        }
        return Results.Json(body, statusCode: status);
    }

    public override IResult Denied(HttpContext context, Denial denial) => denial.Kind switch
    {
        DenialKind.Missing => Answer(401, "Unauthorized: send 'Authorization: Bearer YOUR_REST_API_KEY'"),
        DenialKind.Forbidden => Answer(403, $"Access Denied: {denial.Detail}"),
        _ => Answer(401, "Invalid API key: expected 'Authorization: Bearer KEY' with a live Selfsame key (ss_..., without quotes)"),
    };

    public override IResult RateLimited(HttpContext context, RateLimitRefusal refusal) =>
        Answer(429, $"Rate Limited: this project made {refusal.Limit} requests to the {refusal.Family} family in this window; retry after {refusal.RetryAfterSeconds} s");

    public override IResult Invalid(HttpContext context, IReadOnlyList<FieldError> errors) =>
        Answer(400, errors[0].Code == Sentence ? errors[0].Message : $"Bad Request: {errors[0].Field} {errors[0].Message}");

    public override IResult BadBody(HttpContext context, BodyFault fault, FieldError error) => fault switch
    {
        BodyFault.TooLarge => Answer(413, $"Bad Request: {error}"),
        BodyFault.UnsupportedMediaType => Answer(415, $"Bad Request: {error}"),
        _ => Answer(400, $"Bad Request: {error.Message}"),
    };

    public override IResult Refused(HttpContext context, GraphException refusal) =>
        Answer(refusal.Kind == GraphErrorKind.NotFound ? 404 : 400, refusal.Message);

    public override IResult StoreUnavailable(HttpContext context) =>
        Answer(503, "Service Unavailable: the database cannot be reached; retry with backoff");

    public override IResult Internal(HttpContext context) =>
        Answer(500, "Internal Server Error: nothing of the request was applied");

    public override IResult Unrouted(HttpContext context, int status, string detail) =>
        Answer(status, $"{(status == 404 ? "Not Found" : "Method Not Allowed")}: Selfsame's Braze surface: {detail}");
}
