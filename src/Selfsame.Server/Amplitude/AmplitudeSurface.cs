using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Amplitude;

/// <summary>
/// Amplitude's three APIs as the pipeline sees them, each with its own credentials: the mapping API (<c>api_key</c> in the
/// query or a form body, counted in mappings over a sliding 30-second window), the lookups (HTTP Basic
/// <c>api_key:secret_key</c>) and event ingestion (<c>api_key</c> in the JSON body). Every answer is JSON with "code" equal
/// to the HTTP status, as Amplitude's SDKs read it.
/// </summary>
public sealed class AmplitudeSurface : SurfaceErrors
{
    public const string Name = "amplitude";
    public const int MaxRequestBytes = 1024 * 1024;

    private enum Api
    {
        Mapping,
        Lookup,
        Ingestion,
        Identify,
    }

    private readonly Api _api;

    private AmplitudeSurface(Api api) => _api = api;

    public static SurfaceDescription Mapping { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.Parameter("api_key", InQuery: true, InForm: true, InJsonBody: false, OtherSpelling: "api-key"),
        Errors = new AmplitudeSurface(Api.Mapping),
        MaxBodyBytes = MaxRequestBytes,
    };

    /// <summary>The Identify API: api_key and identification in the query string or a form body.</summary>
    public static SurfaceDescription Identify { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.Parameter("api_key", InQuery: true, InForm: true, InJsonBody: false, OtherSpelling: "api-key"),
        Errors = new AmplitudeSurface(Api.Identify),
        MaxBodyBytes = MaxRequestBytes,
    };

    public static SurfaceDescription Lookup { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.BasicKeyPair(),
        Errors = new AmplitudeSurface(Api.Lookup),
        MaxBodyBytes = MaxRequestBytes,
    };

    public static SurfaceDescription Ingestion { get; } = new()
    {
        Name = Name,
        Credentials = new Credentials.Parameter("api_key", InQuery: false, InForm: false, InJsonBody: true, OtherSpelling: "api-key"),
        Errors = new AmplitudeSurface(Api.Ingestion),
        MaxBodyBytes = MaxRequestBytes,
        MaxJsonDepth = 40,
    };

    /// <summary>Amplitude's mapping limit: 1,500 mappings per project in 30 seconds by default (--amplitude-mapping-limit).</summary>
    public static RateLimitRule MappingFamily(int mappingsPerWindow) => new("amplitude.mapping", mappingsPerWindow, TimeSpan.FromSeconds(30), Sliding: true);

    /// <summary>A JSON answer with "code" equal to the HTTP status (every answer but a lookup's map of user ids).</summary>
    internal static IResult Answer(int status, Dictionary<string, object?> body)
    {
        var withCode = new Dictionary<string, object?> { ["code"] = status };
        foreach (var (key, value) in body)
        {
            withCode[key] = value;
        }
        return Results.Json(withCode, statusCode: status);
    }

    private static IResult Error(int status, string error) => Answer(status, new() { ["error"] = error });

    public override IResult Denied(HttpContext context, Denial denial)
    {
        if (_api == Api.Lookup)
        {
            if (denial.Kind == DenialKind.Forbidden)
            {
                return Error(403, $"Forbidden: {denial.Detail}");
            }
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"amplitude\"";
            return Error(401, denial.Kind == DenialKind.Missing ? "Missing HTTP Basic credentials: send api_key:secret_key" : "Invalid API key or secret key");
        }
        // Amplitude documents one answer for a key that will not do, 400 "Invalid API key", which its SDKs read as "drop the
        // batch, retrying cannot help": a read key on a write endpoint gets it too, with why after the colon.
        return denial.Kind switch
        {
            DenialKind.Missing => Answer(400, new() { ["error"] = "Request missing required field", ["missing_field"] = "api_key" }),
            DenialKind.Forbidden => Error(400, $"Invalid API key: {denial.Detail}"),
            _ => Error(400, "Invalid API key"),
        };
    }

    public override IResult RateLimited(HttpContext context, RateLimitRefusal refusal) =>
        Error(429, $"Too many requests: this project mapped {refusal.Limit} or more user ids in the last 30 seconds; retry after {refusal.RetryAfterSeconds} s");

    public override IResult Invalid(HttpContext context, IReadOnlyList<FieldError> errors) => _api switch
    {
        Api.Mapping => Answer(400, new()
        {
            ["error"] = errors[0].Field == "mapping" ? $"Invalid mapping: {errors[0].Message}" : $"Invalid mapping: {errors[0]}",
            ["field"] = errors[0].Field,
        }),
        Api.Ingestion when errors[0].Field == "(body)" => Error(400, "Invalid JSON request body"),
        Api.Identify => Answer(400, new() { ["error"] = $"missing_event: {errors[0]}", ["field"] = errors[0].Field }),
        _ => Error(400, errors[0].ToString()),
    };

    public override IResult BadBody(HttpContext context, BodyFault fault, FieldError error) => fault switch
    {
        BodyFault.TooLarge => Error(413, "Payload too large"),
        BodyFault.UnsupportedMediaType => Error(415, $"Unsupported media type: {error}"),
        BodyFault.Missing when _api == Api.Ingestion => Error(400, "Missing request body"),
        _ when _api == Api.Ingestion => Error(400, "Invalid JSON request body"),
        _ => Error(400, $"Invalid form body: {error.Message}"),
    };

    public override IResult Refused(HttpContext context, GraphException refusal) => Error(400, $"{refusal.Field}: {refusal.Message}");

    public override IResult StoreUnavailable(HttpContext context) => Error(503, _api == Api.Ingestion
        ? "the events could not be stored now (the database cannot be reached); retry"
        : "the database cannot be reached now; retry");

    public override IResult Unrouted(HttpContext context, int status, string detail) => Error(status, detail);

    public override IResult Internal(HttpContext context) => Error(500, _api == Api.Ingestion
        ? "the events could not be stored; none of them was ingested"
        : "the request failed inside the server; nothing of it was applied");
}
