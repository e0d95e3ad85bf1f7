using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prometheus;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Hosting;

/// <summary>
/// /metrics in Prometheus' text format, by prometheus-net: its HTTP metrics (by endpoint, method, status and surface, with
/// latency histograms), the process and .NET runtime, and Selfsame's own instruments (<see cref="Telemetry.SelfsameMetrics"/>),
/// which prometheus-net reads from System.Diagnostics.Metrics. Only clients on this machine may read it unless configured.
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    private static int _configured;

    /// <summary>Buckets that fit the writer's instruments (milliseconds of commit, 1 to 512 writes a group); once a process.</summary>
    private static void ConfigureOnce()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1)
        {
            return;
        }
        Metrics.ConfigureMeterAdapter(o => o.ResolveHistogramBuckets = instrument => instrument.Name switch
        {
            "writer_commit_seconds" => Histogram.ExponentialBuckets(0.0005, 2, 14),
            "writer_group_size" => Histogram.ExponentialBuckets(1, 2, 11),
            _ => MeterAdapterOptions.DefaultHistogramBuckets,
        });
        // prometheus-net starts listening to System.Diagnostics.Metrics at its first collection: collect once now, so
        // that what happens before the first scrape (merges, refusals, commits) is counted too.
        Metrics.DefaultRegistry.CollectAndExportAsTextAsync(Stream.Null).GetAwaiter().GetResult();
    }

    public static WebApplication UseSelfsameMetrics(this WebApplication app, SelfsameOptions options)
    {
        if (options.Metrics == "off")
        {
            return app;
        }
        ConfigureOnce();
        app.UseHttpMetrics(o =>
        {
            // The duration histogram alone: its _count is the requests by status, and each series more costs every request.
            o.InProgress.Enabled = false;
            o.RequestCount.Enabled = false;
            o.AddCustomLabel("surface", context => context.Features.Get<SurfaceRequest>()?.Description.Name ?? "");
        });
        if (options.Metrics != "any")
        {
            app.UseWhen(context => context.Request.Path.StartsWithSegments(Path), branch => branch.Use(async (context, next) =>
            {
                if (context.Connection.RemoteIpAddress is not { } client || !IPAddress.IsLoopback(client))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                }
                await next(context);
            }));
        }
        app.MapMetrics(Path);
        return app;
    }
}
