using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Selfsame.Server.Admin;
using Selfsame.Server.Amplitude;
using Selfsame.Server.Braze;
using Selfsame.Server.Cooladata;
using Selfsame.Server.MoEngage;
using Selfsame.Server.Native;
using Selfsame.Server.PostHog;
using Selfsame.Server.Segment;
using Selfsame.Server.Userpilot;
using Selfsame.Server.WebConsole;
using Selfsame.Storage;

namespace Selfsame.Server.Hosting;

/// <summary>Composes the server: the core, the shared hosting services, then every surface.</summary>
public static class SelfsameServer
{
    public static WebApplication Build(SelfsameOptions options, TimeProvider? time = null, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        builder.Logging.ClearProviders();
        if (options.LogFormat == "json")
        {
            builder.Logging.AddJsonConsole(o => (o.TimestampFormat, o.UseUtcTimestamp) = ("yyyy-MM-ddTHH:mm:ss.fffZ", true));
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat, o.UseUtcTimestamp) = (true, "yyyy-MM-ddTHH:mm:ss.fffZ ", true));
        }
        builder.Logging.SetMinimumLevel(options.LogLevel);
        // The framework's own lines only when something is wrong, but its start and stop lines at the level asked.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", options.LogLevel);
        builder.Logging.AddFilter(RequestLog.Category, options.LogRequests ? options.LogLevel : LogLevel.Warning);
        builder.Services
            .AddSelfsameCore(new StoreLocation(options.Store, options.DataFolder, options.Connection), time ?? TimeProvider.System)
            .AddSelfsameHosting(options)
            .AddSurfaces();
        var app = builder.Build();
        // Routing first, as the framework would put it: the middleware below sees the request's endpoint.
        app.UseRouting();
        // A body sent with Content-Encoding gzip, br or deflate (RudderStack's and PostHog's libraries gzip theirs) is read
        // decompressed; every limit on a body counts its decompressed bytes.
        app.UsePostHogCompression();
        app.UseRequestDecompression();
        app.UseRequestIds();
        app.UseRequestLog();
        app.UseSelfsameErrors();
        app.UseSelfsameMetrics(options);
        app.MapHealth();
        app.MapConsole();
        app.MapNativeApi();
        app.MapAdminApi();
        app.MapAmplitudeApi();
        app.MapCooladataApi();
        app.MapBrazeApi();
        app.MapMoEngageApi();
        app.MapUserpilotApi();
        app.MapSegmentApi();
        app.MapPostHogApi();
        return app;
    }

    /// <summary>What each surface registers for itself: job kinds, named permissions, Kestrel needs, the OpenAPI document.</summary>
    public static IServiceCollection AddSurfaces(this IServiceCollection services) =>
        services.AddRequestDecompression().AddNativeApi().AddAmplitude().AddBraze().AddUserpilot();

    /// <summary>The named permissions every surface together knows, for a caller without a server (the CLI).</summary>
    public static IReadOnlyList<string> KnownPermissions()
    {
        using var services = new ServiceCollection().AddSingleton<KeyPermissions>().AddSurfaces().BuildServiceProvider();
        return services.GetRequiredService<KeyPermissions>().Known;
    }

    /// <summary>The services every surface shares: keys, rate limits, the job runner, retention, JSON and problem details.</summary>
    public static IServiceCollection AddSelfsameHosting(this IServiceCollection services, SelfsameOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<KeyAuthentication>();
        services.AddSingleton<KeyPermissions>();
        services.AddSingleton<RateLimits>();
        services.AddSingleton<Surfaces.SurfacePrefixes>();
        services.AddSingleton<JobRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<JobRunner>());
        services.AddHostedService<RetentionService>();
        // Problem details name the request by its one id (the same as X-Request-Id, links and audit entries), not a trace id.
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            // ASP.NET Core names its trace id after the JSON naming policy ("trace_id" here).
            c.ProblemDetails.Extensions.Remove("traceId");
            c.ProblemDetails.Extensions.Remove("trace_id");
            c.ProblemDetails.Extensions["request_id"] = c.HttpContext.TraceIdentifier;
        });
        services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        return services;
    }

    /// <summary>
    /// What no surface answers: a path without an endpoint (404), a method it does not take (405), and a fault outside every
    /// surface's pipeline; problem details without internals.
    /// </summary>
    public static WebApplication UseSelfsameErrors(this WebApplication app)
    {
        app.UseExceptionHandler(handler => handler.Run(async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            // An error after a surface's filter returned (a streamed answer failing before its first byte) gets that surface's answer.
            if (error is not null && context.Features.Get<Surfaces.SurfaceRequest>() is { } request)
            {
                await Surfaces.SurfacePipeline.Answer(request, error).ExecuteAsync(context);
                return;
            }
            app.Logger.LogError(error, "Request {Path} failed", context.Request.Path);
            await NativeErrors.Instance.Internal(context).ExecuteAsync(context);
        }));
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            var detail = http.Response.StatusCode switch
            {
                404 => $"path: no endpoint {http.Request.Method} {http.Request.Path}",
                405 => $"method: {http.Request.Method} is not allowed on {http.Request.Path} (Allow: {http.Response.Headers.Allow})",
                415 => $"Content-Type: expected application/json, got '{http.Request.ContentType ?? "nothing"}'",
                _ => null,
            };
            // Under a surface's prefix, in that surface's envelope; elsewhere problem details.
            var surface = http.Response.StatusCode is 404 or 405 ? http.RequestServices.GetRequiredService<Surfaces.SurfacePrefixes>().For(http.Request.Path) : null;
            var answer = surface is not null && detail is not null
                ? surface.Errors.Unrouted(http, http.Response.StatusCode, detail)
                : Results.Problem(statusCode: http.Response.StatusCode, detail: detail);
            await answer.ExecuteAsync(http);
        });
        return app;
    }

    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" })).WithTags("Health");
        app.MapGet("/readyz", async (IProjectCatalog catalog, CancellationToken ct) =>
        {
            try
            {
                await catalog.ListProjectsAsync(ct);
                return Results.Ok(new { status = "ready" });
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Results.Problem(statusCode: 503, title: "Not ready", detail: "store: the database cannot be read");
            }
        }).WithTags("Health");
        return app;
    }
}
