using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;
using Selfsame.Storage;

namespace Selfsame.Server.Native;

/// <summary>A change of the feed as the API and the CLI print it.</summary>
public sealed record ChangeDto(long Seq, DateTimeOffset At, string Kind, string Surface, string? KeyId, string? RequestId, JsonElement Detail)
{
    public static ChangeDto Of(ChangeEntry change) =>
        new(change.Seq, change.At, change.Kind, change.Surface, change.KeyId, change.RequestId, JsonElement.Parse(change.DetailJson));
}

/// <summary>A page of the feed; <see cref="NextAfter"/> is the <c>after</c> of the next page (the last change's, else the one asked).</summary>
public sealed record ChangesResponse(IReadOnlyList<ChangeDto> Changes, long NextAfter);

/// <summary>The change feed on the native API (docs/changes.md).</summary>
public static class ChangeEndpoints
{
    public const int MaxPage = 1000;
    public const int DefaultPage = 100;

    public static RouteGroupBuilder MapChangeEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/changes", async (HttpContext context, IProjectCatalog catalog, long? after, int? limit, CancellationToken ct) =>
            {
                if (after is < 0)
                {
                    return Problems.Invalid("after", "must be 0 or more: the seq of the last change read");
                }
                if (limit is < 1 or > MaxPage)
                {
                    return Problems.Invalid("limit", $"must be between 1 and {MaxPage}");
                }
                var project = context.Caller().Project;
                var ndjson = AcceptsNdjson(context.Request);
                // A stream reads a thousand at a time whatever the limit; its first page is this one.
                var page = await catalog.ListChangesAsync(project, after ?? 0, ndjson ? MaxPage : limit ?? DefaultPage, ct);
                // Without a cursor, from the oldest change kept: below the horizon there is none.
                // A cursor below the horizon has missed changes that retention removed.
                if (after is { } cursor && cursor < page.Horizon)
                {
                    return Results.Problem(statusCode: StatusCodes.Status410Gone, title: "The cursor is older than the feed",
                        detail: $"after: changes up to {page.Horizon} were removed by retention (change_retention_days); read again from after={page.Horizon}, and rebuild what those changes would have told",
                        extensions: new Dictionary<string, object?>
                        {
                            ["oldest_after"] = page.Horizon,
                            ["errors"] = new[] { new { field = "after", message = $"older than the feed's horizon {page.Horizon}" } },
                        });
                }
                if (ndjson)
                {
                    return Results.Stream(stream => StreamAsync(context, stream, catalog, project, page, ct), "application/x-ndjson");
                }
                var changes = page.Changes.Select(ChangeDto.Of).ToList();
                return Results.Ok(new ChangesResponse(changes, changes.Count > 0 ? changes[^1].Seq : Math.Max(after ?? 0, page.Horizon)));
            })
            .Needs(Roles.Read).Produces<ChangesResponse>()
            .WithSummary("The project's change feed after a sequence number, oldest first: merges, splits, identifiers attached, detached, replaced and dropped, deletes, review decisions. NDJSON of every change after the cursor with Accept: application/x-ndjson.");
        return v1;
    }

    private static bool AcceptsNdjson(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("application/x-ndjson", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Every change after the cursor as NDJSON, a page at a time, until a page comes back short (the newest change so far).
    /// A prune that passes the cursor while it streams cuts the answer off (the connection is aborted), rather than leave
    /// a hole in it.
    /// </summary>
    private static async Task StreamAsync(HttpContext context, Stream stream, IProjectCatalog catalog, ProjectId project, ChangePage page, CancellationToken ct)
    {
        while (true)
        {
            foreach (var change in page.Changes)
            {
                await JsonSerializer.SerializeAsync(stream, ChangeDto.Of(change), JsonDefaults.Options, ct);
                await stream.WriteAsync(NewLine, ct);
            }
            await stream.FlushAsync(ct);
            if (page.Changes.Count < MaxPage)
            {
                return;
            }
            var after = page.Changes[^1].Seq;
            page = await catalog.ListChangesAsync(project, after, MaxPage, ct);
            if (after < page.Horizon)
            {
                context.Abort();
                return;
            }
        }
    }

    private static readonly ReadOnlyMemory<byte> NewLine = "\n"u8.ToArray();
}
