using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;
using Selfsame.Storage;

namespace Selfsame.Server.Segment;

/// <summary>
/// Segment's HTTP Tracking API under <c>/segment/v1</c>: identify, track, page, screen, alias, group, batch and import.
/// Every message of a call is read before anything is written; a call's messages are applied in one commit.
/// </summary>
public static class SegmentApi
{
    /// <summary>Messages in one batch, beyond Segment's byte limit.</summary>
    public const int MaxBatchMessages = TrackingJson.MaxBatchItems;

    public static IEndpointRouteBuilder MapSegmentApi(this IEndpointRouteBuilder app)
    {
        var segment = app.MapSurface("/segment/v1", SegmentSurface.Description).WithTags("Segment");
        foreach (var type in SegmentMessages.Types)
        {
            segment.MapPost("/" + type, (HttpContext context, IdentityEngine engine, TimeProvider time) => CallAsync(context, engine, time, type))
                .Needs(Roles.Write).Produces(200);
        }
        segment.MapPost("/batch", BatchAsync).Needs(Roles.Write, maxBodyBytes: SegmentSurface.MaxBatchBytes).Produces(200);
        segment.MapPost("/import", BatchAsync).Needs(Roles.Write, maxBodyBytes: SegmentSurface.MaxBatchBytes).Produces(200);
        return app;
    }

    private static async Task<IResult> CallAsync(HttpContext context, IdentityEngine engine, TimeProvider time, string type)
    {
        var request = context.Surface();
        // Whatever its Content-Type: Segment's browser library sends JSON as text/plain.
        var root = await request.JsonObjectAsync(anyContentType: true);
        var operation = new SegmentMessages(request.Settings, time.GetUtcNow()).Read(root, type, "");
        var outcome = (await ApplyAsync(context, engine, [operation]))[0];
        // One call refused by the graph's rules (an alias over the record cap, on a junk id) is answered as a refusal.
        if (outcome.Error is GraphException refused)
        {
            throw refused;
        }
        return SegmentSurface.Success(DroppedIdentifiers.OfResults([outcome.Value]), []);
    }

    private static async Task<IResult> BatchAsync(HttpContext context, IdentityEngine engine, TimeProvider time)
    {
        var request = context.Surface();
        var root = await request.JsonObjectAsync(anyContentType: true);
        if (!root.TryGetProperty("batch", out var batch) || batch.ValueKind != JsonValueKind.Array)
        {
            throw RequestValidationException.Of("batch", "is required: an array of messages, each with its type");
        }
        if (batch.GetArrayLength() > MaxBatchMessages)
        {
            throw RequestValidationException.Of("batch", $"at most {MaxBatchMessages} messages a batch");
        }
        var sentAt = root.TryGetProperty("sentAt", out var sent) && sent.ValueKind == JsonValueKind.String ? sent.GetString() : null;
        var reader = new SegmentMessages(request.Settings, time.GetUtcNow());
        var operations = new List<GraphOperation>(batch.GetArrayLength());
        var index = 0;
        foreach (var message in batch.EnumerateArray())
        {
            var path = $"batch[{index++}]";
            var type = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString()!
                : throw RequestValidationException.Of($"{path}.type", $"is required: one of {string.Join(", ", SegmentMessages.Types)}");
            operations.Add(reader.Read(message, type, path, sentAt));
        }
        var outcomes = operations.Count > 0 ? await ApplyAsync(context, engine, operations) : [];
        // A message the graph's rules refuse is left out and listed; the others stand, as each is its own write.
        return SegmentSurface.Success(DroppedIdentifiers.OfSucceeded(outcomes), DroppedIdentifiers.RefusedOperations(outcomes));
    }

    /// <summary>Applies a call's operations in one commit, each succeeding or failing alone; a failure of the store fails the call.</summary>
    private static async Task<IReadOnlyList<WriteOutcome<object>>> ApplyAsync(HttpContext context, IdentityEngine engine, IReadOnlyList<GraphOperation> operations)
    {
        var outcomes = await engine.ApplyAsync(context.Caller().Project, operations, context.Surface().Origin, context.RequestAborted);
        outcomes.ThrowUnexpected();
        return outcomes;
    }
}
