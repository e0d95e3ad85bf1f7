using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Selfsame.Server.Hosting;

/// <summary>
/// One id per request: the client's <c>X-Request-Id</c> when it sends a usable one (1 to 128 printable ASCII characters),
/// else a new one. It becomes the request's <see cref="HttpContext.TraceIdentifier"/>, so that links, audit entries,
/// problem details (<c>request_id</c>), vendor error bodies and logs all carry the same id, and every answer, errors
/// included, returns it in <c>X-Request-Id</c>.
/// </summary>
public static class RequestIds
{
    public const string Header = "X-Request-Id";

    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var sent = context.Request.Headers[Header].ToString();
            var id = Usable(sent) ? sent : Guid.CreateVersion7().ToString("N");
            context.TraceIdentifier = id;
            // Set as the answer starts: an error handler that clears the response's headers must not lose it.
            context.Response.OnStarting(() =>
            {
                context.Response.Headers[Header] = id;
                return Task.CompletedTask;
            });
            return next(context);
        });

    private static bool Usable(string sent) => sent.Length is > 0 and <= 128 && sent.All(c => c is >= '!' and <= '~');
}
