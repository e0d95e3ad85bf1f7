using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Selfsame.Graph;
using Selfsame.Operations;
using Selfsame.Storage;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>
/// The one pipeline every request of every surface goes through, as an endpoint filter on the surface's route group:
/// it finds the key where the surface's description says, checks it for the endpoint's role and permission, counts the
/// request against the endpoint's rate limit, admits it with its project's settings, and turns every failure (a denial,
/// a limit, a body that cannot be read, a field that is not valid, a refusal of the graph, an unreachable store, a fault)
/// into the surface's own envelope.
/// </summary>
public static class SurfacePipeline
{
    /// <summary>A route group for a surface: every endpoint mapped in it goes through the pipeline with <paramref name="surface"/>.</summary>
    public static RouteGroupBuilder MapSurface(this IEndpointRouteBuilder app, string prefix, SurfaceDescription surface)
    {
        app.ServiceProvider.GetRequiredService<SurfacePrefixes>().Add(prefix, surface);
        var group = app.MapGroup(prefix);
        group.WithMetadata(surface);
        if (surface.MaxBodyBytes is { } bytes)
        {
            group.WithMetadata(new DecompressedBodyLimit(bytes));
        }
        group.AddEndpointFilter(FilterAsync);
        return group;
    }

    /// <summary>What the endpoint needs: a key of at least <paramref name="role"/> (and the vendor's <paramref name="permission"/>), and the limit it counts against.</summary>
    public static TBuilder Needs<TBuilder>(this TBuilder builder, string role, string? permission = null, RateLimitRule? limit = null, long? maxBodyBytes = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.Needs(new EndpointNeeds(role, permission, limit, maxBodyBytes));

    public static TBuilder Needs<TBuilder>(this TBuilder builder, EndpointNeeds needs) where TBuilder : IEndpointConventionBuilder =>
        needs.MaxBodyBytes is { } bytes ? builder.WithMetadata(needs, new DecompressedBodyLimit(bytes)) : builder.WithMetadata(needs);

    /// <summary>
    /// The request decompression's limit on what it inflates, which it takes from this metadata (else from Kestrel's limit
    /// for every body): one byte past the endpoint's own, so that the body reader is the one to find a body too large and
    /// answer it in the surface's envelope.
    /// </summary>
    private sealed class DecompressedBodyLimit(long bytes) : Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize { get; } = bytes + 1;
    }

    /// <summary>Marks an endpoint that writes outside the graph (keys, projects, retention): a dry run of it is refused, never done for real.</summary>
    public static TBuilder RefusesDryRun<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new NoDryRun());

    private static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var http = invocation.HttpContext;
        var metadata = http.GetEndpoint()!.Metadata;
        var surface = metadata.GetMetadata<SurfaceDescription>()!;
        var needs = metadata.GetMetadata<EndpointNeeds>()
            ?? throw new InvalidOperationException($"{http.Request.Method} {http.Request.Path} has no Needs(...): every endpoint of a surface says which key it needs");
        var request = new SurfaceRequest(http, surface, needs);
        http.Features.Set(request);
        try
        {
            if (await SurfaceAuthentication.AuthenticateAsync(request) is { } denial)
            {
                return surface.Errors.Denied(http, denial);
            }
            var project = await http.RequestServices.GetRequiredService<Projects>().GetAsync(request.Project, http.RequestAborted)
                ?? throw new GraphException(GraphErrorKind.NotFound, "project", $"project '{request.Project}' no longer exists");
            request.Settings = project.Settings;
            if (needs.Precondition?.Invoke(http) is { } refused)
            {
                return surface.Errors.Invalid(http, [refused]);
            }
            var (dryRun, badFlag) = DryRunAnswer.Asked(http.Request);
            if (badFlag is not null)
            {
                return surface.Errors.Invalid(http, [badFlag]);
            }
            if (dryRun && metadata.GetMetadata<NoDryRun>() is not null)
            {
                return surface.Errors.Invalid(http, [new FieldError(DryRunAnswer.Parameter, "this endpoint writes outside the identity graph and has no dry run; nothing was done")]);
            }
            request.DryRun = dryRun ? new DryRunLog() : null;
            var limits = http.RequestServices.GetRequiredService<RateLimits>();
            if (needs.Limit is { } limit)
            {
                if (!needs.LimitCountsItems)
                {
                    request.Admit(limits, limit, 1);
                }
            }
            else if (surface.ConfiguredLimitFamily is { } family && limits.Configured(family) is { } configured)
            {
                request.Admit(limits, configured, 1);
            }
            var answer = await next(invocation);
            return request.DryRun is { } log && answer is IResult result ? new DryRunAnswer(result, log) : answer;
        }
        catch (Exception e) when (!(e is OperationCanceledException && http.RequestAborted.IsCancellationRequested) && !http.Response.HasStarted)
        {
            if (request.DryRun is not null)
            {
                http.Response.Headers[DryRunAnswer.Header] = "true";
            }
            return Answer(request, e);
        }
    }

    /// <summary>The surface's answer for an exception: every class of failure has exactly one.</summary>
    internal static IResult Answer(SurfaceRequest request, Exception e)
    {
        var http = request.Http;
        var errors = request.Description.Errors;
        switch (e)
        {
            case RequestValidationException invalid:
                return errors.Invalid(http, invalid.Errors);
            case RequestBodyException body:
                return errors.BadBody(http, body.Fault, body.Error);
            case JsonException json:
                return errors.BadBody(http, BodyFault.Malformed, new FieldError("(body)", $"malformed JSON: {json.Message}"));
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                return errors.BadBody(http, BodyFault.TooLarge, new FieldError("(body)", $"larger than {request.MaxBodyBytes} bytes, the most this endpoint accepts"));
            case BadHttpRequestException bad:
                return errors.BadBody(http, BodyFault.Malformed, new FieldError("(body)", bad.Message));
            case GraphException refusal:
                return errors.Refused(http, refusal);
            case RateLimitedException limited:
                return errors.RateLimited(http, limited.Refusal);
            case StoreValueRejectedException:
                Telemetry.SelfsameMetrics.StoreErrors.Add(1, new KeyValuePair<string, object?>("kind", "rejected"));
                return errors.Invalid(http, [new FieldError("(value)", "a value the store cannot keep (too long or malformed for its index)")]);
        }
        if (StoreErrors.Unavailable(e))
        {
            Telemetry.SelfsameMetrics.StoreErrors.Add(1, new KeyValuePair<string, object?>("kind", "unavailable"));
            http.Response.Headers.RetryAfter = "1";
            return errors.StoreUnavailable(http);
        }
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SurfacePipeline))
            .LogError(e, "{Surface} request {Method} {Path} failed", request.Description.Name, http.Request.Method, http.Request.Path);
        return errors.Internal(http);
    }
}

/// <summary>Finds and checks a request's key as its surface's <see cref="Credentials"/> say.</summary>
internal static class SurfaceAuthentication
{
    public static async Task<Denial?> AuthenticateAsync(SurfaceRequest request)
    {
        var http = request.Http;
        var keys = http.RequestServices.GetRequiredService<KeyAuthentication>();
        var needs = request.Needs;
        KeyCheck check;
        switch (request.Description.Credentials)
        {
            case Credentials.Header(var scheme):
            {
                var header = http.Request.Headers.Authorization.ToString();
                if (header.Length == 0)
                {
                    return new Denial(DenialKind.Missing, $"Authorization: this endpoint needs an API key: send 'Authorization: {scheme} KEY'");
                }
                if (!header.StartsWith(scheme + " ", StringComparison.OrdinalIgnoreCase))
                {
                    return new Denial(DenialKind.Malformed, $"Authorization: the header is not '{scheme} KEY' with a Selfsame key (ss_...)");
                }
                check = await keys.CheckAsync(header[(scheme.Length + 1)..], needs.Role, http.RequestAborted, needs.Permission);
                break;
            }
            case Credentials.BasicWorkspace(var routeValue, var queryParameter):
            {
                var header = http.Request.Headers.Authorization.ToString();
                if (header.Length == 0)
                {
                    return new Denial(DenialKind.Missing, "Authorization: send 'Basic ' and base64 of WORKSPACE_ID:API_KEY");
                }
                if (Basic(header) is not var (workspace, key) || workspace.Length == 0 || key is null or { Length: 0 })
                {
                    return new Denial(DenialKind.Malformed, "Authorization: the header must be 'Basic ' and base64 of WORKSPACE_ID:API_KEY");
                }
                var named = http.Request.RouteValues.TryGetValue(routeValue, out var value) ? value as string : http.Request.Query[queryParameter].ToString();
                if (string.IsNullOrEmpty(named))
                {
                    return new Denial(DenialKind.WorkspaceMissing, $"{queryParameter}: the request names no workspace (in the path or the {queryParameter} query parameter)");
                }
                if (!named.Equals(workspace, StringComparison.OrdinalIgnoreCase))
                {
                    return new Denial(DenialKind.WorkspaceMismatch, $"{queryParameter}: the workspace in the request is not the one in the Authorization header");
                }
                check = await keys.CheckAsync(key, needs.Role, http.RequestAborted, needs.Permission);
                if (check.Caller is { } caller && !caller.Project.Value.Equals(workspace, StringComparison.OrdinalIgnoreCase))
                {
                    return new Denial(DenialKind.Invalid, "Authorization: the key is not a key of that workspace");
                }
                break;
            }
            case Credentials.BasicKeyPair:
            {
                string? apiKey, secretKey;
                if (http.Request.Headers.Authorization.Count > 0)
                {
                    if (Basic(http.Request.Headers.Authorization.ToString()) is not var (user, password))
                    {
                        return new Denial(DenialKind.Missing, "Authorization: send HTTP Basic credentials api_key:secret_key");
                    }
                    (apiKey, secretKey) = (user, password);
                }
                else
                {
                    (apiKey, secretKey) = (await request.ParameterAsync("api_key"), await request.ParameterAsync("secret_key"));
                    if (apiKey.Length == 0 || secretKey.Length == 0)
                    {
                        return new Denial(DenialKind.Missing, "Authorization: send HTTP Basic credentials api_key:secret_key, or the parameters api_key and secret_key");
                    }
                }
                // The api key names the project (any live key of it, even one whose role would not do); the secret key
                // must be a live key of the same project that holds the role. They may be one key.
                var project = await keys.CheckAsync(apiKey, needs.Role, http.RequestAborted, needs.Permission);
                check = await keys.CheckAsync(secretKey, needs.Role, http.RequestAborted, needs.Permission);
                if (project.Caller is null || check.Caller is null || project.Caller.Project != check.Caller.Project)
                {
                    return new Denial(DenialKind.Invalid, "Authorization: the api key or the secret key is not a live key of one project");
                }
                if (project.Result == KeyCheckResult.Forbidden && project.MissingPermission is not null)
                {
                    return new Denial(DenialKind.Forbidden, $"the api key: {project.Why(needs.Role)}");
                }
                if (check.Result == KeyCheckResult.Forbidden)
                {
                    return new Denial(DenialKind.Forbidden, $"the secret key: {check.Why(needs.Role)}");
                }
                break;
            }
            case Credentials.Parameter(var name, var inQuery, var inForm, var inJsonBody, var otherSpelling):
            {
                string? presented = null;
                foreach (var spelling in otherSpelling is null ? [name] : new[] { name, otherSpelling })
                {
                    presented = await request.ParameterAsync(spelling, inQuery, inForm);
                    if (string.IsNullOrEmpty(presented) && inJsonBody)
                    {
                        var root = await request.JsonAsync(anyContentType: true);
                        if (root.ValueKind != JsonValueKind.Object)
                        {
                            throw new RequestBodyException(BodyFault.Malformed, new FieldError("(body)", "expected a JSON object"));
                        }
                        presented = root.TryGetProperty(spelling, out var field) && field.ValueKind == JsonValueKind.String ? field.GetString() : null;
                    }
                    if (!string.IsNullOrEmpty(presented))
                    {
                        break;
                    }
                }
                if (string.IsNullOrEmpty(presented))
                {
                    return new Denial(DenialKind.Missing, $"{name}: this endpoint needs an API key in '{name}'");
                }
                check = await keys.CheckAsync(presented, needs.Role, http.RequestAborted, needs.Permission);
                break;
            }
            case Credentials.BasicUserName(var bodyField):
            {
                string? presented;
                if (http.Request.Headers.Authorization.Count > 0)
                {
                    if (Basic(http.Request.Headers.Authorization.ToString()) is not var (user, _) || user.Length == 0)
                    {
                        return new Denial(DenialKind.Malformed, "Authorization: the header must be 'Basic ' and base64 of WRITE_KEY: (the key as the user name, no password)");
                    }
                    presented = user;
                }
                else
                {
                    // Segment's browser library sends its JSON as text/plain, to spare the browser a preflight.
                    var root = await request.JsonAsync(anyContentType: true);
                    presented = root.ValueKind == JsonValueKind.Object && root.TryGetProperty(bodyField, out var field) && field.ValueKind == JsonValueKind.String
                        ? field.GetString()
                        : null;
                    if (string.IsNullOrEmpty(presented))
                    {
                        return new Denial(DenialKind.Missing, $"Authorization: send HTTP Basic with the key as the user name, or '{bodyField}' in the body");
                    }
                }
                check = await keys.CheckAsync(presented, needs.Role, http.RequestAborted, needs.Permission);
                break;
            }
            case Credentials.JsonBodyKey(var find, var where):
            {
                var presented = find(await request.JsonAsync(anyContentType: true));
                if (string.IsNullOrEmpty(presented))
                {
                    return new Denial(DenialKind.Missing, $"no API key: send it as {where}");
                }
                check = await keys.CheckAsync(presented, needs.Role, http.RequestAborted, needs.Permission);
                break;
            }
            case Credentials.PathSegment(var routeValue):
                check = await keys.CheckAsync(http.Request.RouteValues[routeValue] as string, needs.Role, http.RequestAborted, needs.Permission);
                break;
            default:
                throw new InvalidOperationException($"unknown credentials {request.Description.Credentials}");
        }
        switch (check.Result)
        {
            case KeyCheckResult.Missing:
                return new Denial(DenialKind.Missing, "Authorization: this endpoint needs an API key");
            case KeyCheckResult.Invalid:
                return new Denial(DenialKind.Invalid, "Authorization: the API key is not valid (unknown, revoked or mistyped)");
        }
        if (needs.ProjectRouteValue is { } projectValue && !string.Equals(http.Request.RouteValues[projectValue] as string, check.Caller!.Project.Value, StringComparison.Ordinal))
        {
            return new Denial(DenialKind.WorkspaceMismatch, $"{projectValue}: the project in the path is not the key's project");
        }
        if (check.Result == KeyCheckResult.Forbidden)
        {
            return new Denial(DenialKind.Forbidden, check.Why(needs.Role));
        }
        request.Caller = check.Caller!;
        if (request.Description.RecordsClientAddress)
        {
            request.ClientAddress = ClientAddress(http.Request.Headers["X-Forwarded-For"].ToString());
        }
        return null;
    }

    /// <summary>The user name and password of <c>Authorization: Basic</c>; the password is null without a colon.</summary>
    internal static (string User, string? Password)? Basic(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? (decoded, null) : (decoded[..colon], decoded[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The original client of a proxied request: the first address of X-Forwarded-For, when it is an IP address.</summary>
    internal static string? ClientAddress(string forwardedFor)
    {
        var first = forwardedFor.Split(',', StringSplitOptions.TrimEntries)[0].Trim('"');
        return IPAddress.TryParse(first, out var address) ? address.ToString() : null;
    }
}

/// <summary>Endpoint metadata: the endpoint has no dry run (<see cref="SurfacePipeline.RefusesDryRun"/>).</summary>
internal sealed class NoDryRun;
