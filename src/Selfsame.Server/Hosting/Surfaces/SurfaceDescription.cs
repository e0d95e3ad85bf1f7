namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>
/// What the shared pipeline needs to know of one API surface: where its requests carry their key, how it answers each
/// kind of failure, and how large a body it reads. Each surface describes itself once, in its own folder; every endpoint
/// of the surface then adds what it needs (<see cref="EndpointNeeds"/>).
/// </summary>
public sealed record SurfaceDescription
{
    /// <summary>The surface's name, recorded as the origin of its writes ("native", "braze"...).</summary>
    public required string Name { get; init; }

    public required Credentials Credentials { get; init; }

    public required SurfaceErrors Errors { get; init; }

    /// <summary>The largest body an endpoint reads unless it says otherwise; null for the server's MaxRequestBodyBytes.</summary>
    public long? MaxBodyBytes { get; init; }

    /// <summary>How deep a JSON body may nest; null for the server's MaxJsonDepth.</summary>
    public int? MaxJsonDepth { get; init; }

    /// <summary>
    /// A family limited only when the server is configured to (the native API and Journey Analytics document no limit):
    /// every endpoint without a limit of its own counts against it then.
    /// </summary>
    public string? ConfiguredLimitFamily { get; init; }

    /// <summary>Whether writes record the original client of a proxied request (the first address of X-Forwarded-For), as MoEngage's do.</summary>
    public bool RecordsClientAddress { get; init; }
}

/// <summary>What one endpoint asks of the pipeline: the role (and a vendor's named permission) a key needs, the limit it counts against, its body size.</summary>
public sealed record EndpointNeeds(string Role, string? Permission = null, RateLimitRule? Limit = null, long? MaxBodyBytes = null)
{
    /// <summary>
    /// Whether the limit counts requests (the pipeline takes one permit before the handler runs) or items the handler
    /// counts itself (Amplitude's mappings: the handler calls <see cref="SurfaceRequest.Admit"/>).
    /// </summary>
    public bool LimitCountsItems { get; init; }

    /// <summary>A route value that must name the key's own project (Journey Analytics' project id in the path); another project is a denial.</summary>
    public string? ProjectRouteValue { get; init; }

    /// <summary>
    /// A check of the request's headers that runs after authentication and before the request counts against the limit
    /// (Userpilot's X-API-Version): the field at fault, or null when the request may go on.
    /// </summary>
    public Func<Microsoft.AspNetCore.Http.HttpContext, Operations.FieldError?>? Precondition { get; init; }
}

/// <summary>Where a surface's requests carry their API key.</summary>
public abstract record Credentials
{
    /// <summary><c>Authorization: SCHEME KEY</c>: Bearer (native, Braze) or Token (Userpilot, Journey Analytics' identities call).</summary>
    public sealed record Header(string Scheme) : Credentials;

    /// <summary>
    /// <c>Authorization: Basic</c> of <c>WORKSPACE:KEY</c> (MoEngage): the workspace is the key's project id, in any case, and
    /// must be the one the request names in the route value <paramref name="RouteValue"/> or, where the route has none, the
    /// query parameter <paramref name="QueryParameter"/>.
    /// </summary>
    public sealed record BasicWorkspace(string RouteValue, string QueryParameter) : Credentials;

    /// <summary>
    /// <c>Authorization: Basic</c> of <c>API_KEY:SECRET_KEY</c> (Amplitude's lookups): the api key names the project (any live
    /// key of it); the secret key must be a key of the same project that holds the endpoint's role. Without the header, the
    /// parameters <c>api_key</c> and <c>secret_key</c> (query string or form body) carry the pair.
    /// </summary>
    public sealed record BasicKeyPair : Credentials;

    /// <summary>
    /// A named parameter: in the query string, a form body, or a top-level string of a JSON body (Amplitude's api_key), also
    /// under <paramref name="OtherSpelling"/> when given (Amplitude's page spells it api-key once).
    /// </summary>
    public sealed record Parameter(string Name, bool InQuery, bool InForm, bool InJsonBody, string? OtherSpelling = null) : Credentials;

    /// <summary>
    /// <c>Authorization: Basic</c> with the key as the user name and no password (<c>KEY:</c>), as Segment's libraries send
    /// the write key; without the header, the JSON body's string field <paramref name="BodyField"/>.
    /// </summary>
    public sealed record BasicUserName(string BodyField) : Credentials;

    /// <summary>
    /// A key the surface finds in its JSON body, of any Content-Type (PostHog's <c>api_key</c>, or the <c>token</c> among
    /// an event's properties): <paramref name="Find"/> answers it or null; <paramref name="Where"/> says where it goes.
    /// </summary>
    public sealed record JsonBodyKey(Func<System.Text.Json.JsonElement, string?> Find, string Where) : Credentials;

    /// <summary>A segment of the path, named by its route value (Journey Analytics' tracker app key).</summary>
    public sealed record PathSegment(string RouteValue) : Credentials;
}
