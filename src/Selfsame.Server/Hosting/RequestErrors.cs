using Microsoft.AspNetCore.Http;

namespace Selfsame.Server.Hosting;

/// <summary>Turns errors caused by a request's own content into problem details, on every endpoint of a group.</summary>
public static class RequestErrors
{
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (Problems.ForRequestError(e) is { } problem)
        {
            if (Problems.StoreUnavailable(e))
            {
                context.HttpContext.Response.Headers.RetryAfter = "1";
            }
            return problem;
        }
    }
}
