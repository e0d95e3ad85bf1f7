using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Server.Admin;
using Selfsame.Server.Amplitude;
using Selfsame.Server.Braze;
using Selfsame.Server.Cooladata;
using Selfsame.Server.MoEngage;
using Selfsame.Server.Userpilot;
using Selfsame.Server.Native;
using Selfsame.Storage;
using Selfsame.Storage.Sqlite;

namespace Selfsame.Server.Hosting;

/// <summary>Composes the server: services, then every surface.</summary>
public static class SelfsameServer
{
    public static WebApplication Build(SelfsameOptions options, TimeProvider? time = null, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = Math.Max(options.MaxRequestBodyBytes, AmplitudeApi.MaxRequestBytes);
            // Amplitude's clients send up to 1 MB of mappings in the query string; Kestrel's buffer must hold the line.
            k.Limits.MaxRequestLineSize = AmplitudeApi.MaxRequestBytes + 64 * 1024;
            k.Limits.MaxRequestBufferSize = Math.Max(k.Limits.MaxRequestBufferSize ?? 0, k.Limits.MaxRequestLineSize + 64 * 1024);
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddSelfsame(options, time ?? TimeProvider.System);
        var app = builder.Build();
        app.UseSelfsameErrors();
        app.MapHealth();
        app.MapNativeApi();
        app.MapAdminApi();
        app.MapAmplitudeApi();
        app.MapCooladataApi();
        app.MapBrazeApi();
        app.MapMoEngageApi();
        app.MapUserpilotApi();
        app.MapOpenApi("/openapi/{documentName}.json");
        return app;
    }

    public static WebApplicationBuilder AddSelfsame(this WebApplicationBuilder builder, SelfsameOptions options, TimeProvider time)
    {
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(time);
        services.AddSingleton<IGraphStore>(sp => options.Store == "postgres"
            ? Storage.Postgres.PostgresStore.Open(options.Connection ?? throw new InvalidOperationException("the postgres store needs a connection string"), time)
            : SqliteStore.Open(options.DataFolder, time));
        services.AddSingleton(sp => sp.GetRequiredService<IGraphStore>().Catalog);
        services.AddSingleton<IdentityEngine>();
        services.AddSingleton<Projects>();
        services.AddSingleton<ApiKeys>();
        services.AddSingleton<KeyAuthentication>();
        services.AddSingleton<RateLimits>();
        services.AddSingleton<Jobs.IJobKind, Imports.ImportJobKind>();
        services.AddSingleton<Jobs.IJobKind, UserpilotJobs.Users>();
        services.AddSingleton<Jobs.IJobKind, UserpilotJobs.Companies>();
        services.AddSingleton<Jobs.IJobKind, UserpilotJobs.DeleteUsers>();
        services.AddSingleton(sp => new Jobs.JobProcessor(sp.GetRequiredService<IGraphStore>(), time, sp.GetServices<Jobs.IJobKind>()));
        services.AddSingleton<JobRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<JobRunner>());
        services.AddSingleton<Retention.RetentionSweep>();
        services.AddHostedService<RetentionService>();
        services.AddSingleton(sp => new MappingWindow(time, options.AmplitudeMappingsPerWindow, TimeSpan.FromSeconds(30)));
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Selfsame native API";
            doc.Info.Version = "v1";
            doc.Servers?.Clear();
            return Task.CompletedTask;
        }));
        return builder;
    }

    /// <summary>Any error that escapes an endpoint becomes a problem response without internals; bad requests a 4xx.</summary>
    public static WebApplication UseSelfsameErrors(this WebApplication app)
    {
        app.UseExceptionHandler(handler => handler.Run(async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var problem = error is null ? null : Problems.ForRequestError(error);
            if (error is not null && Problems.StoreUnavailable(error))
            {
                context.Response.Headers.RetryAfter = "1";
            }
            if (problem is null)
            {
                app.Logger.LogError(error, "Request {Path} failed", context.Request.Path);
                problem = Results.Problem(statusCode: 500, title: "Internal error",
                    detail: "the server could not complete the request; nothing of it was acknowledged");
            }
            await problem.ExecuteAsync(context);
        }));
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            var detail = http.Response.StatusCode switch
            {
                404 => $"path: no endpoint {http.Request.Method} {http.Request.Path}",
                405 => $"method: {http.Request.Method} is not allowed on {http.Request.Path}",
                415 => $"Content-Type: expected application/json, got '{http.Request.ContentType ?? "nothing"}'",
                _ => null,
            };
            await Results.Problem(statusCode: http.Response.StatusCode, detail: detail).ExecuteAsync(http);
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
