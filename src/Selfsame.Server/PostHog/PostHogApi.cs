using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.PostHog;

/// <summary>
/// PostHog's capture API under <c>/posthog</c>: <c>/capture</c>, <c>/batch</c>, <c>/e</c> and <c>/i/v0/e</c>, each taking
/// one event, <c>{"batch":[...]}</c> or an array of events. Every event of a request is read before anything is written;
/// its events are applied in one commit, each standing or refused alone.
/// </summary>
public static class PostHogApi
{
    public static readonly string[] Paths = ["/capture", "/batch", "/e", "/i/v0/e"];

    public static IEndpointRouteBuilder MapPostHogApi(this IEndpointRouteBuilder app)
    {
        var posthog = app.MapSurface(PostHogSurface.Prefix, PostHogSurface.Description).WithTags("PostHog");
        foreach (var path in Paths)
        {
            posthog.MapPost(path, CaptureAsync).Needs(Roles.Write).Produces(200);
        }
        return app;
    }

    /// <summary>
    /// posthog-js gzips its bodies without saying so in a header, naming it in the query (<c>?compression=gzip-js</c>): such
    /// a body is marked as gzip here, before the request decompression reads it, so that it is read as every other.
    /// </summary>
    public static IApplicationBuilder UsePostHogCompression(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var request = context.Request;
        if (request.Path.StartsWithSegments(PostHogSurface.Prefix, StringComparison.OrdinalIgnoreCase)
            && string.Equals(request.Query["compression"], "gzip-js", StringComparison.OrdinalIgnoreCase)
            && request.Headers.ContentEncoding.Count == 0)
        {
            request.Headers[HeaderNames.ContentEncoding] = "gzip";
        }
        return next(context);
    });

    private static async Task<IResult> CaptureAsync(HttpContext context, IdentityEngine engine, TimeProvider time)
    {
        var request = context.Surface();
        // Whatever its Content-Type: posthog-js sends JSON as text/plain, to spare the browser a preflight.
        var root = await request.JsonAsync(anyContentType: true);
        var (events, batchPath, bodySentAt) = root.ValueKind switch
        {
            JsonValueKind.Array => (root, "batch", (DateTimeOffset?)null),
            JsonValueKind.Object when root.TryGetProperty("batch", out var batch) => batch.ValueKind == JsonValueKind.Array
                ? (batch, "batch", TrackingJson.OptionalTime(root, "sent_at", ""))
                : throw RequestValidationException.Of("batch", "expected an array of events"),
            JsonValueKind.Object => (root, "", TrackingJson.OptionalTime(root, "sent_at", "")),
            _ => throw new RequestBodyException(BodyFault.Malformed, new FieldError("(body)", "expected an event, {\"batch\": [events]} or an array of events")),
        };
        // posthog-js says when it sent a request in the query, as milliseconds since 1970 (?_=...).
        var sentAt = bodySentAt ?? (long.TryParse(context.Request.Query["_"], out var sentMs) && sentMs is > 0 and < 253_402_300_800_000
            ? DateTimeOffset.FromUnixTimeMilliseconds(sentMs)
            : null);
        var reader = new PostHogEvents(request.Settings, time.GetUtcNow());
        var operations = new List<GraphOperation>();
        if (batchPath.Length == 0)
        {
            operations.Add(reader.Read(events, "", sentAt));
        }
        else
        {
            if (events.GetArrayLength() == 0)
            {
                throw RequestValidationException.Of("batch", "holds no event");
            }
            if (events.GetArrayLength() > TrackingJson.MaxBatchItems)
            {
                throw RequestValidationException.Of("batch", $"at most {TrackingJson.MaxBatchItems} events a request");
            }
            var index = 0;
            foreach (var message in events.EnumerateArray())
            {
                operations.Add(reader.Read(message, $"batch[{index++}]", sentAt));
            }
        }
        var outcomes = await engine.ApplyAsync(request.Project, operations, request.Origin, context.RequestAborted);
        outcomes.ThrowUnexpected();
        // An event the graph's rules refuse is left out and listed; the others stand. PostHog too takes the request and warns.
        return PostHogSurface.Success(DroppedIdentifiers.OfSucceeded(outcomes), DroppedIdentifiers.RefusedOperations(outcomes));
    }
}
