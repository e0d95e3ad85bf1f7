using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Hosting;

/// <summary>
/// One log line per request, written when the answer is done: method, the endpoint's route (never the path itself, which
/// can hold a key, nor the query or the body), status, duration, surface, project, key id and request id.
/// </summary>
public static partial class RequestLog
{
    public const string Category = "Selfsame.Requests";

    public static IApplicationBuilder UseRequestLog(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (context, next) =>
        {
            if (!logger.IsEnabled(LogLevel.Information))
            {
                await next(context);
                return;
            }
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                var surface = context.Features.Get<SurfaceRequest>();
                var caller = surface?.Caller;
                Answered(logger, context.Request.Method, (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no endpoint)",
                    context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds, surface?.Description.Name ?? "-",
                    caller?.Project.Value ?? "-", caller?.KeyId ?? "-", context.TraceIdentifier);
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "{Method} {Endpoint} {Status} {DurationMs:0.0} ms surface={Surface} project={Project} key={KeyId} request={RequestId}")]
    private static partial void Answered(ILogger logger, string method, string endpoint, int status, double durationMs, string surface, string project,
        string keyId, string requestId);
}
