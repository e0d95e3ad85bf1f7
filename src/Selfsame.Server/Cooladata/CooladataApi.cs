using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Selfsame.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Cooladata;

/// <summary>
/// Journey Analytics' (Cooladata's) User Identities Matching API under /cooladata: match a customer_user_id with an
/// alternative_user_id. Errors are 400 with the vendor's plain-text messages; success is 200 with the number of users updated.
/// </summary>
public static class CooladataApi
{

    /// <summary>The alias label under which alternative user ids are kept in the graph.</summary>
    public const string AlternativeIdLabel = "alternative_user_id";

    public static IEndpointRouteBuilder MapCooladataApi(this IEndpointRouteBuilder app)
    {
        app.MapSurface("/cooladata", CooladataSurface.Identities).WithTags("Cooladata")
            .MapPost("/api/v2/projects/{projectId}/users/identities", MatchAsync)
            .Needs(new EndpointNeeds(Roles.Admin) { ProjectRouteValue = "projectId" });
        app.MapSurface("/cooladata", CooladataSurface.Tracker).WithTags("Cooladata")
            .MapPost("/v3/{appKey}/track", TrackAsync).Needs(Roles.Write);
        return app;
    }

    public const int MaxEventsPerCall = 300;

    public static readonly TimeSpan MaxEventAge = TimeSpan.FromDays(30);
    public static readonly TimeSpan MaxEventLead = TimeSpan.FromHours(1);

    private static readonly string[] DateFormats =
        ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFF", "yyyy-MM-dd", "yyyy/MM/dd", "dd/MM/yyyy", "dd-MM-yyyy"];

    /// <summary>
    /// The REST tracker: events as Journey Analytics' tracker sends them, url-encoded JSON <c>{"events":[...]}</c> (also as a
    /// <c>data</c> or <c>events</c> form field, or as plain JSON). Each event is stored on its user_id's record (created when
    /// new); an event that also carries <c>user_alternative_id</c> (or <c>alternative_user_id</c>) matches the two ids exactly
    /// as the identities call does. Like the vendor, the call answers 200; events that cannot be stored are listed, with why.
    /// </summary>
    private static async Task<IResult> TrackAsync(HttpContext context, IdentityEngine engine, TimeProvider clock, CancellationToken ct)
    {
        var request = context.Surface();
        var text = System.Text.Encoding.UTF8.GetString((await request.BytesAsync()).Span);
        if (context.Request.HasFormContentType)
        {
            var form = QueryHelpers.ParseQuery(text);
            text = form.TryGetValue("data", out var data) ? data.ToString()
                : form.TryGetValue("events", out var events) ? events.ToString()
                : Uri.UnescapeDataString(text.Replace('+', ' '));
        }
        List<JsonElement> items;
        using (var document = JsonText.Parse(text, maxDepth: 8))
        {
            var root = document.RootElement;
            var list = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("events", out var wrapped) ? wrapped : root;
            items = list.ValueKind switch
            {
                JsonValueKind.Array => list.EnumerateArray().Select(e => e.Clone()).ToList(),
                JsonValueKind.Object => [list.Clone()],
                _ => [],
            };
        }
        if (items.Count == 0)
        {
            return Fail("The payload must be {\"events\":[...]} with at least one event");
        }
        if (items.Count > MaxEventsPerCall)
        {
            return Results.Text($"Payload too large: {items.Count} events; at most {MaxEventsPerCall} in one call", statusCode: 413);
        }

        var origin = request.Origin;
        var invalid = new List<InvalidEvent>();
        var work = new List<GraphOperation>();
        var now = clock.GetUtcNow();
        var indexes = new List<int>();
        for (var i = 0; i < items.Count; i++)
        {
            if (ReadEvent(items[i], now, out var command, out var alternative) is { } reason)
            {
                invalid.Add(new InvalidEvent(i, reason));
                continue;
            }
            indexes.Add(i);
            var track = new GraphOperation.TrackOp(command!);
            work.Add(alternative is null
                ? track
                : new GraphOperation.Sequence([track, new GraphOperation.LinkOp(new LinkCommand(alternative, command!.Identity.Primary, LinkKinds.Match))]));
        }
        var outcomes = await engine.ApplyAsync(request.Project, work, origin, ct);
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (!outcomes[i].Succeeded)
            {
                invalid.Add(new InvalidEvent(indexes[i], outcomes[i].Error is GraphException g ? g.Message : "the event could not be stored"));
            }
        }
        var dropped = outcomes.Select((o, i) => (o, i)).Where(x => x.o.Succeeded)
            .SelectMany(x => DroppedIdentifiers.Of(Refusals.Of(x.o.Value)).Select(d => { d["index"] = indexes[x.i]; return d; }))
            .ToList();
        return dropped.Count == 0
            ? Results.Json(new { status = "ok", accepted = outcomes.Count(o => o.Succeeded), invalid = invalid.OrderBy(x => x.Index).ToList() })
            : Results.Json(new { status = "ok", accepted = outcomes.Count(o => o.Succeeded), invalid = invalid.OrderBy(x => x.Index).ToList(), dropped_identifiers = dropped });
    }

    private sealed record InvalidEvent(int Index, string Reason);

    /// <summary>Reads one tracker event; returns why it is invalid, or null.</summary>
    private static string? ReadEvent(JsonElement item, DateTimeOffset now, out TrackCommand? command, out IdentifierInput? alternative)
    {
        command = null;
        alternative = null;
        if (item.ValueKind != JsonValueKind.Object)
        {
            return "an event must be a JSON object";
        }
        string? name = null, userId = null, alternativeId = null;
        DateTimeOffset? time = null;
        var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in item.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "event_name" or "user_id" or "user_alternative_id" or "alternative_user_id":
                    if (value.ValueKind != JsonValueKind.String || value.GetString()!.Length is 0 or > IdentifierNormalizer.MaxValueLength)
                    {
                        return $"{property.Name} must be a non-empty string";
                    }
                    if (property.Name == "event_name")
                    {
                        name = value.GetString();
                    }
                    else if (property.Name == "user_id")
                    {
                        userId = value.GetString();
                    }
                    else
                    {
                        alternativeId = value.GetString();
                    }
                    break;
                case "event_timestamp_epoch":
                    time = ReadTime(value);
                    if (time is null)
                    {
                        return "event_timestamp_epoch must be epoch milliseconds or a date such as 2026-11-24T10:00:00";
                    }
                    break;
                default:
                    if (value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                    {
                        return $"{property.Name}: events are flat; nested objects and arrays are not accepted";
                    }
                    properties[property.Name] = value;
                    break;
            }
        }
        if (name is null)
        {
            return "event_name is required";
        }
        if (userId is null)
        {
            return "user_id is required";
        }
        // The vendor's tracker takes events of the last 30 days up to an hour ahead, each with its time.
        if (time is null)
        {
            return "event_timestamp_epoch is required";
        }
        if (time < now - MaxEventAge || time > now + MaxEventLead)
        {
            return $"event_timestamp_epoch {time:yyyy-MM-dd'T'HH:mm:ss'Z'} is out of range: events are taken from 30 days in the past to 1 hour in the future";
        }
        var user = new IdentifierInput(new Identifier(IdentifierTypes.UserId, userId), userId, "user_id");
        if (alternativeId is not null && alternativeId != userId)
        {
            alternative = new IdentifierInput(Identifier.Alias(AlternativeIdLabel, alternativeId), alternativeId, AlternativeIdLabel);
        }
        command = new TrackCommand(new IdentifyCommand(user, [], new Dictionary<string, PropertyValue>(), new Dictionary<string, PropertyValue>(), []),
            name, time, JsonSerializer.Serialize(properties), null);
        return null;
    }

    private static DateTimeOffset? ReadTime(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var epoch))
        {
            return epoch is > 0 and < 253402300800000 ? DateTimeOffset.FromUnixTimeMilliseconds(epoch) : null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        var text = value.GetString()!;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var digits))
        {
            return digits is > 0 and < 253402300800000 ? DateTimeOffset.FromUnixTimeMilliseconds(digits) : null;
        }
        return DateTimeOffset.TryParseExact(text, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed
            : null;
    }

    private static async Task<IResult> MatchAsync(HttpContext context, string projectId, IdentityEngine engine, CancellationToken ct)
    {
        var request = context.Surface();
        var body = await request.JsonAsync();
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Fail("The payload must be a JSON object {\"customer_user_id\": ..., \"alternative_user_id\": ...}");
        }
        var customerUserId = RequiredId(body, "customer_user_id");
        var alternativeUserId = RequiredId(body, "alternative_user_id");
        var customer = new IdentifierInput(new Identifier(IdentifierTypes.UserId, customerUserId), customerUserId, "customer_user_id");
        var alternative = new IdentifierInput(Identifier.Alias(AlternativeIdLabel, alternativeUserId), alternativeUserId, "alternative_user_id");
        var origin = request.Origin;
        // Only users that exist (on any surface) can be matched.
        var match = new MatchCommand(alternative, customer, LinkKinds.Match, $"No customer user id {customerUserId} for project {projectId}");
        var result = await engine.ApplyOneAsync<LinkResult>(request.Project, new GraphOperation.MatchOp(match), origin, ct);
        // The users updated: every record whose events the match gave to the customer user (all of the alternative id's
        // profile when it was another one), none when the two were one user already.
        return Results.Json(result.AlreadyJoined ? 0 : result.JoinedRecords);
    }

    private static string RequiredId(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            throw RequestValidationException.Of(name, "is required (a string)");
        }
        if (element.ValueKind != JsonValueKind.String)
        {
            throw RequestValidationException.Of(name, $"must be a string, not {JsonText.Describe(element.ValueKind)}");
        }
        var value = element.GetString()!;
        if (value.Length is 0 or > IdentifierNormalizer.MaxValueLength || value.Contains('\0', StringComparison.Ordinal))
        {
            throw RequestValidationException.Of(name, $"must be 1 to {IdentifierNormalizer.MaxValueLength} characters");
        }
        return value;
    }

    private static IResult Fail(string message) => Results.Text(message, statusCode: 400);
}
