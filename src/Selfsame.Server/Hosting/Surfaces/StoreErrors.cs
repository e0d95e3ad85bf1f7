using Selfsame.Storage;

namespace Selfsame.Server.Hosting.Surfaces;

public static class StoreErrors
{
    /// <summary>
    /// Whether an error means the store could not be reached (a database down or restarting, a connection that broke, a
    /// timeout): answered 503 with Retry-After so that clients retry, rather than 500.
    /// </summary>
    public static bool Unavailable(Exception e) => e switch
    {
        StoreUnavailableException => true,
        TimeoutException => true,
        AggregateException a => a.InnerExceptions.Any(Unavailable),
        _ => e.InnerException is { } inner && Unavailable(inner),
    };
}
