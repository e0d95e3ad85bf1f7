using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>Why the pipeline turned a request away before its handler ran.</summary>
public enum DenialKind
{
    /// <summary>No key where the surface looks for one.</summary>
    Missing,

    /// <summary>A credential that is not in the surface's shape (another scheme, undecodable Basic).</summary>
    Malformed,

    /// <summary>A key that is unknown, revoked, expired or mistyped.</summary>
    Invalid,

    /// <summary>A live key whose role or permissions do not open the endpoint.</summary>
    Forbidden,

    /// <summary>The request names no workspace or project where the surface needs one (MoEngage's app_id).</summary>
    WorkspaceMissing,

    /// <summary>The workspace or project the request names is not the key's.</summary>
    WorkspaceMismatch,
}

/// <summary>A request turned away: why, and a sentence that says it (naming the header or parameter at fault).</summary>
public sealed record Denial(DenialKind Kind, string Detail);

/// <summary>A request over its family's rate limit.</summary>
public sealed record RateLimitRefusal(string Family, int Limit, long RetryAfterSeconds);

/// <summary>
/// A surface's answers for each class of failure, in its vendor's envelope. The pipeline calls exactly one of them for
/// any failure: denials and limits before the handler, and every exception the handler or the engine throws.
/// </summary>
public abstract class SurfaceErrors
{
    public abstract IResult Denied(HttpContext context, Denial denial);

    public abstract IResult RateLimited(HttpContext context, RateLimitRefusal refusal);

    /// <summary>Fields that are missing or not valid; nothing was written.</summary>
    public abstract IResult Invalid(HttpContext context, IReadOnlyList<FieldError> errors);

    /// <summary>
    /// A body that cannot be read as the endpoint needs it: none where one is needed, beyond the limit (the body, or a
    /// list in it), of another Content-Type, or not in the endpoint's format; <paramref name="error"/> names the part at fault.
    /// </summary>
    public abstract IResult BadBody(HttpContext context, BodyFault fault, FieldError error);

    /// <summary>The graph's rules refused the write, or a user it names does not exist.</summary>
    public abstract IResult Refused(HttpContext context, GraphException refusal);

    /// <summary>The store cannot be reached; the pipeline has set Retry-After.</summary>
    public abstract IResult StoreUnavailable(HttpContext context);

    /// <summary>Anything else: a fault of the server, logged; nothing of the request was acknowledged.</summary>
    public abstract IResult Internal(HttpContext context);

    /// <summary>
    /// A path under the surface that no endpoint serves (404), or one served for other methods (405, with the Allow header
    /// routing set); <paramref name="detail"/> names the path and method.
    /// </summary>
    public abstract IResult Unrouted(HttpContext context, int status, string detail);
}
