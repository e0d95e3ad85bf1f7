using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Selfsame.Bench;

/// <summary>
/// The reference the HTTP benchmarks are read against: bare Kestrel (the same slim host the server uses, no Selfsame
/// code) answering requests of the same shape as the server's identify and resolve. It checks that a Bearer header is
/// there, parses the JSON body and answers JSON of about the same size as the server's answers, without any store. The
/// ratio of the server's requests/s to this one's, measured in one run, is what the pipeline and the engine cost on top
/// of HTTP and JSON on this machine.
/// </summary>
public static class KestrelReference
{
    public static async Task<int> RunAsync(string[] args)
    {
        var urls = args.ElementAtOrDefault(0) ?? "http://127.0.0.1:8090";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var next = 0L;
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
        app.MapPost("/v1/identify", async (HttpContext context) =>
        {
            if (context.Request.Headers.Authorization.Count == 0)
            {
                return Results.StatusCode(401);
            }
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var userId = body.RootElement.GetProperty("user_id").GetString();
            var email = body.RootElement.GetProperty("identifiers")[0].GetProperty("value").GetString();
            var id = Interlocked.Increment(ref next);
            return Results.Ok(new
            {
                profile_id = id,
                record_id = id,
                created = true,
                attached = new[] { new { type = "user_id", value = userId }, new { type = "email", value = email } },
                merged = Array.Empty<object>(),
                refused = Array.Empty<object>(),
            });
        });
        app.MapGet("/v1/resolve", (HttpContext context, string type, string value) =>
            context.Request.Headers.Authorization.Count == 0
                ? Results.StatusCode(401)
                : Results.Ok(new
                {
                    profile_id = 1,
                    identifiers = new[]
                    {
                        new { type = "user_id", value = "user-" + value.Split('@')[0], display = "user-" + value.Split('@')[0], record_id = 1 },
                        new { type, value, display = value, record_id = 1 },
                    },
                    records = new[] { new { record_id = 1, created_at = DateTimeOffset.UnixEpoch, last_seen_at = DateTimeOffset.UnixEpoch } },
                }));
        await app.RunAsync();
        return 0;
    }
}
