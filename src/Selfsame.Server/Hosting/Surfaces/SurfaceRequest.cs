using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Graph;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>
/// One request as the pipeline has admitted it: the caller's key, its project's settings, the origin its writes record,
/// and the body, read once by the shared reader within the surface's limits. Handlers get it with
/// <see cref="SurfaceRequestExtensions.Surface"/>.
/// </summary>
public sealed class SurfaceRequest
{
    private readonly SelfsameOptions _options;
    private ReadOnlyMemory<byte>? _bytes;
    private JsonDocument? _json;
    private IFormCollection? _form;

    internal SurfaceRequest(HttpContext http, SurfaceDescription surface, EndpointNeeds needs)
    {
        Http = http;
        Description = surface;
        Needs = needs;
        _options = http.RequestServices.GetRequiredService<SelfsameOptions>();
    }

    public HttpContext Http { get; }

    public SurfaceDescription Description { get; }

    public EndpointNeeds Needs { get; }

    /// <summary>The key the request was made with; its project is the only one the request reaches.</summary>
    public CallerKey Caller { get; internal set; } = null!;

    public ProjectId Project => Caller.Project;

    /// <summary>The caller's project settings as they stood when the request was admitted.</summary>
    public ProjectSettings Settings { get; internal set; } = ProjectSettings.Default;

    /// <summary>The original client of a proxied request, where the surface records one (the first address of X-Forwarded-For).</summary>
    public string? ClientAddress { get; internal set; }

    public CancellationToken Aborted => Http.RequestAborted;

    /// <summary>Set when the request is a dry run (<c>dry_run=true</c>, <c>Selfsame-Dry-Run: true</c>): its writes are rolled back and their effects gathered here.</summary>
    public DryRunLog? DryRun { get; internal set; }

    /// <summary>What the request's writes record as their origin: the surface, the request id, the key id and the client address (and the dry run, when it is one).</summary>
    public WriteOrigin Origin => new(Description.Name, Http.RequestId(), Caller.KeyId, ClientAddress) { DryRun = DryRun };

    /// <summary>The largest body this endpoint reads.</summary>
    public long MaxBodyBytes => Needs.MaxBodyBytes ?? Description.MaxBodyBytes ?? _options.MaxRequestBodyBytes;

    private int MaxJsonDepth => Description.MaxJsonDepth ?? _options.MaxJsonDepth;

    /// <summary>The body as a JSON document (Content-Type application/json unless <paramref name="anyContentType"/>), read once.</summary>
    public async Task<JsonElement> JsonAsync(bool anyContentType = false)
    {
        if (_json is null)
        {
            if (!anyContentType)
            {
                RequestBody.RequireJsonContentType(Http);
            }
            _json = RequestBody.ParseJson(Http, await BytesAsync(), MaxJsonDepth);
        }
        return _json.RootElement;
    }

    /// <summary>The body as a JSON object (of any Content-Type with <paramref name="anyContentType"/>); a body of another kind is malformed.</summary>
    public async Task<JsonElement> JsonObjectAsync(string expected = "expected a JSON object", bool anyContentType = false)
    {
        var root = await JsonAsync(anyContentType);
        return root.ValueKind == JsonValueKind.Object ? root : throw new RequestBodyException(BodyFault.Malformed, new Operations.FieldError("(body)", expected));
    }

    /// <summary>Parses text that a surface took from a form field or a decoded body as JSON, with the body's checks.</summary>
    public JsonElement ParseJson(ReadOnlyMemory<byte> utf8) => RequestBody.ParseJson(Http, utf8, MaxJsonDepth).RootElement;

    /// <summary>The raw body, read once, at most <see cref="MaxBodyBytes"/>.</summary>
    public async Task<ReadOnlyMemory<byte>> BytesAsync() => _bytes ??= await RequestBody.ReadBytesAsync(Http, MaxBodyBytes, Aborted);

    /// <summary>The form body (url-encoded or multipart), read once; empty when the body is not a form.</summary>
    public async Task<IFormCollection> FormAsync() => _form ??= await RequestBody.ReadFormAsync(Http, MaxBodyBytes, Aborted);

    /// <summary>A named parameter: the query string's when it has a value there, else the form body's; empty when neither has one.</summary>
    public async Task<string> ParameterAsync(string name, bool inQuery = true, bool inForm = true)
    {
        var fromQuery = inQuery ? Http.Request.Query[name].ToString() : "";
        return fromQuery.Length > 0 || !inForm || !Http.Request.HasFormContentType ? fromQuery : (await FormAsync())[name].ToString();
    }

    /// <summary>
    /// Counts <paramref name="permits"/> against the endpoint's limit, for an endpoint that counts items rather than requests;
    /// writes the X-RateLimit headers, and refuses with <see cref="RateLimitedException"/> (the surface's 429).
    /// </summary>
    public void Admit(int permits)
    {
        var limits = Http.RequestServices.GetRequiredService<RateLimits>();
        var rule = Needs.Limit ?? throw new InvalidOperationException("this endpoint has no rate limit to count against");
        Admit(limits, rule, permits);
    }

    internal void Admit(RateLimits limits, RateLimitRule rule, int permits)
    {
        var decision = limits.Acquire(Project, rule, permits);
        var now = limits.Now;
        decision.WriteHeaders(Http.Response, now);
        if (!decision.Admitted)
        {
            throw new RateLimitedException(new RateLimitRefusal(limits.RuleFor(rule).Family, decision.Limit, decision.RetryAfterSeconds(now)));
        }
    }
}

/// <summary>A request over its rate limit, answered with the surface's 429.</summary>
public sealed class RateLimitedException(RateLimitRefusal refusal)
    : Exception($"rate limit: {refusal.Limit} in the {refusal.Family} family's window; retry after {refusal.RetryAfterSeconds} s")
{
    public RateLimitRefusal Refusal { get; } = refusal;
}

public static class SurfaceRequestExtensions
{
    /// <summary>The request as the surface pipeline admitted it.</summary>
    public static SurfaceRequest Surface(this HttpContext context) =>
        context.Features.Get<SurfaceRequest>() ?? throw new InvalidOperationException($"{context.Request.Path} is not mapped under a surface (MapSurface)");

    /// <summary>The key a request was made with.</summary>
    public static CallerKey Caller(this HttpContext context) => context.Surface().Caller;

    /// <summary>The request's one id (<see cref="RequestIds"/>): in links, audit entries, error bodies and the X-Request-Id answer header alike.</summary>
    public static string RequestId(this HttpContext context) => context.TraceIdentifier;
}
