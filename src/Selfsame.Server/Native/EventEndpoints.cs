using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Native;

public sealed record TrackRequest(IReadOnlyList<JsonElement> Events);

public sealed record TrackEventResult(int Index, bool Ok, long? EventId, long? RecordId, long? ProfileId, bool Duplicate,
    IReadOnlyList<MergeDto>? Merged, IReadOnlyList<RefusalDto>? Refused, object? Error);

public sealed record TrackResponse(int Accepted, int Duplicates, int Failed, IReadOnlyList<TrackEventResult> Results);

public sealed record EventDto(long EventId, long RecordId, string Event, DateTimeOffset Time, JsonElement Properties, string? InsertId, string Surface, DateTimeOffset ReceivedAt)
{
    public static EventDto Of(StoredEvent e)
    {
        using var properties = JsonDocument.Parse(e.PropertiesJson);
        return new EventDto(e.EventId, e.Record.Value, e.Name, e.Time, properties.RootElement.Clone(), e.InsertId, e.Surface, e.ReceivedAt);
    }
}

public sealed record EventsResponse(IReadOnlyList<EventDto> Events, string? Next);

public sealed record UniqueUsersDayDto(string Day, long Merged, long Raw);

public sealed record UniqueUsersResponse(DateTimeOffset From, DateTimeOffset To, string? Event, long Merged, long Raw, IReadOnlyList<UniqueUsersDayDto> Days);

/// <summary>Events on the native API: ingestion, the stream of a profile or a record, unique users.</summary>
public static class EventEndpoints
{
    public const int MaxPage = 1000;

    public static RouteGroupBuilder MapEventEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/track", async (HttpContext context, IdentityEngine engine, Projects projects, SelfsameOptions options, CancellationToken ct) =>
            {
                var caller = context.Caller();
                var body = await context.Surface().JsonAsync();
                if (NativeApi.RequireList(body, "events", options.MaxBatchOperations, "events, each {\"user_id\":..,\"event\":..,\"time\":..,\"properties\":{..},\"insert_id\":..}", out var list) is { } invalid)
                {
                    return invalid;
                }
                var reader = new OperationReader(context.Surface().Settings);
                var results = new TrackEventResult?[list.GetArrayLength()];
                var parsed = new List<(int Index, GraphOperation Operation)>();
                var index = 0;
                foreach (var item in list.EnumerateArray())
                {
                    try
                    {
                        parsed.Add((index, new GraphOperation.TrackOp(reader.ReadTrack(item, $"events[{index}]"))));
                    }
                    catch (RequestValidationException e)
                    {
                        results[index] = new TrackEventResult(index, false, null, null, null, false, null, null, Problems.ForBatch(e));
                    }
                    index++;
                }
                var outcomes = await engine.ApplyAsync(caller.Project, parsed.Select(p => p.Operation).ToList(), context.Surface().Origin, ct);
                for (var i = 0; i < parsed.Count; i++)
                {
                    var at = parsed[i].Index;
                    results[at] = outcomes[i] is { Succeeded: true, Value: TrackResult r }
                        ? new TrackEventResult(at, true, r.EventId, r.Record.Value, r.Profile.Value, r.Duplicate,
                            r.Identity is null ? [] : IdentifyResponse.Of(r.Identity).Merged, r.Identity is null ? [] : IdentifyResponse.Of(r.Identity).Refused, null)
                        : new TrackEventResult(at, false, null, null, null, false, null, null, Problems.ForBatch(outcomes[i].Error!));
                }
                var all = results.Select(r => r!).ToList();
                return Results.Ok(new TrackResponse(all.Count(r => r.Ok && !r.Duplicate), all.Count(r => r.Duplicate), all.Count(r => !r.Ok), all));
            })
            .Needs(Roles.Write).Accepts<TrackRequest>("application/json").Produces<TrackResponse>()
            .WithSummary("Ingest events: each identifies its sender (joining identifiers of two profiles with an 'event' link) and is stored on the sender's record.");

        v1.MapGet("/profiles/{id:long}/events", (HttpContext context, IdentityEngine engine, long id, string? @event, string? from, string? to, int? limit, string? cursor) =>
                StreamAsync(context, engine, id, recordOnly: false, @event, from, to, limit, cursor))
            .Needs(Roles.Read).Produces<EventsResponse>()
            .WithSummary("The events of every record of a profile, newest first, resolved at read time.");

        v1.MapGet("/records/{id:long}/events", (HttpContext context, IdentityEngine engine, long id, string? @event, string? from, string? to, int? limit, string? cursor) =>
                StreamAsync(context, engine, id, recordOnly: true, @event, from, to, limit, cursor))
            .Needs(Roles.Read).Produces<EventsResponse>()
            .WithSummary("The events of one record alone, newest first.");

        v1.MapGet("/stats/unique-users", async (HttpContext context, IdentityEngine engine, TimeProvider time, string? from, string? to, string? @event, bool? per_day) =>
            {
                var errors = new List<FieldError>();
                var end = ParseTime(to, "to", errors) ?? time.GetUtcNow();
                var start = ParseTime(from, "from", errors) ?? end.AddDays(-30);
                if (errors.Count > 0)
                {
                    return Problems.Invalid(errors);
                }
                if (start >= end)
                {
                    return Problems.Invalid("from", "must be before 'to'");
                }
                var name = Given(@event);
                var (total, days) = await engine.UniqueUsersAsync(context.Caller().Project, start, end, name, per_day ?? false, context.RequestAborted);
                return Results.Ok(new UniqueUsersResponse(start, end, name, total.Merged, total.Raw,
                    days.Select(d => new UniqueUsersDayDto(d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), d.Merged, d.Raw)).ToList()));
            })
            .Needs(Roles.Read).Produces<UniqueUsersResponse>()
            .WithSummary("Distinct users with events in a time range: merged (profiles) and raw (records); per UTC day too with per_day=true.");

        return v1;
    }

    private static async Task<IResult> StreamAsync(HttpContext context, IdentityEngine engine, long id, bool recordOnly, string? name, string? from, string? to, int? limit, string? cursor)
    {
        var errors = new List<FieldError>();
        var query = new EventQuery(Given(name), ParseTime(from, "from", errors), ParseTime(to, "to", errors), null, limit ?? 100);
        if (query.From >= query.To)
        {
            errors.Add(new FieldError("from", "must be before 'to'"));
        }
        if (limit is < 1 or > MaxPage)
        {
            errors.Add(new FieldError("limit", $"must be between 1 and {MaxPage}"));
        }
        if (Given(cursor) is not null)
        {
            if (EventCursor.TryParse(cursor!, out var before))
            {
                query = query with { Before = before };
            }
            else
            {
                errors.Add(new FieldError("cursor", "is not a cursor this endpoint gave out (use the 'next' of the previous page)"));
            }
        }
        if (errors.Count > 0)
        {
            return Problems.Invalid(errors);
        }
        var page = await engine.EventsAsync(context.Caller().Project, id, recordOnly, query, context.RequestAborted);
        return page is null
            ? Results.Problem(statusCode: 404, title: "Not found", detail: $"id: no {(recordOnly ? "record" : "profile or record")} {id} in this project")
            : Results.Ok(new EventsResponse(page.Events.Select(EventDto.Of).ToList(), page.Next?.ToString()));
    }

    /// <summary>A query value as given, or null when it is absent or empty (<c>?event=</c> filters nothing).</summary>
    private static string? Given(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static DateTimeOffset? ParseTime(string? text, string field, List<FieldError> errors)
    {
        if (Given(text) is null)
        {
            return null;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            return value;
        }
        errors.Add(new FieldError(field, "expected an ISO 8601 date-time such as 2026-11-24T00:00:00Z"));
        return null;
    }
}
