using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Amplitude;

/// <summary>
/// Amplitude's HTTP V2 event ingestion (POST /amplitude/2/httpapi, and /amplitude/batch with the same contract), as
/// Amplitude's server SDKs send it. A request is all or nothing: any invalid event makes it a 400 that says which, in the
/// fields the SDK reads to drop those events and retry the rest.
/// </summary>
public static class HttpApi
{
    public const int MaxEvents = 2000;
    public const int DefaultMinIdLength = 5;

    private static readonly HashSet<string> PlaceholderIds = new(StringComparer.OrdinalIgnoreCase)
    {
        "anonymous", "nil", "none", "null", "n/a", "na", "undefined", "unknown", "", "00000000-0000-0000-0000-000000000000", "{}", "lmy47d", "0", "-1",
    };

    public static async Task<IResult> IngestAsync(HttpContext context, IdentityEngine engine, TimeProvider time, CancellationToken ct)
    {
        var request = context.Surface();
        // The pipeline read the body for its api_key: a JSON object within the size limit.
        var root = await request.JsonAsync(anyContentType: true);
        var size = (await request.BytesAsync()).Length;
        {
            if (!root.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
            {
                return AmplitudeSurface.Answer(400, new() { ["error"] = "Request missing required field", ["missing_field"] = "events" });
            }
            if (events.GetArrayLength() > MaxEvents)
            {
                return AmplitudeSurface.Answer(413, new() { ["error"] = "Payload too large" });
            }
            var minIdLength = root.TryGetProperty("options", out var options) && options.ValueKind == JsonValueKind.Object &&
                              options.TryGetProperty("min_id_length", out var min) && min.ValueKind == JsonValueKind.Number && min.TryGetInt32(out var m) && m >= 1 ? m : DefaultMinIdLength;

            var invalidFields = new Dictionary<string, List<int>>();
            var missingFields = new Dictionary<string, List<int>>();
            var invalidIdLengths = new Dictionary<string, List<int>>();
            var commands = new List<TrackCommand>();
            var operations = new List<GraphOperation>();
            var index = 0;
            foreach (var item in events.EnumerateArray())
            {
                if (ReadEvent(item, index, minIdLength, invalidFields, missingFields, invalidIdLengths) is var (command, edits))
                {
                    commands.Add(command);
                    operations.Add(new GraphOperation.TrackOp(command));
                    if (edits.Count > 0)
                    {
                        // The event's user properties, applied to the user's own record after the event, as Amplitude applies them.
                        operations.Add(new GraphOperation.UpsertOp(new UpsertCommand([command.Identity.Primary], ExistingOnly: false,
                            new Dictionary<string, PropertyValue>(), [], edits) { EditsOnRecord = true }));
                    }
                }
                index++;
            }
            if (invalidFields.Count + missingFields.Count + invalidIdLengths.Count > 0)
            {
                return AmplitudeSurface.Answer(400, new()
                {
                    ["error"] = missingFields.Count > 0 && invalidFields.Count == 0 ? "Request missing required field" : "Invalid field values on some events",
                    ["events_with_invalid_fields"] = invalidFields,
                    ["events_with_missing_fields"] = missingFields,
                    ["events_with_invalid_id_lengths"] = invalidIdLengths,
                });
            }
            var origin = request.Origin;
            // All events in one write: the request is ingested whole or not at all.
            var results = await engine.ApplyAllAsync(request.Project, operations, origin, ct);
            var answer = new Dictionary<string, object?>
            {
                ["events_ingested"] = commands.Count,
                ["payload_size_bytes"] = size,
                ["server_upload_time"] = time.GetUtcNow().ToUnixTimeMilliseconds(),
            };
            if (DroppedIdentifiers.OfResults(results) is { Count: > 0 } dropped)
            {
                // Selfsame's addition: the events were ingested, without these identifiers.
                answer["dropped_identifiers"] = dropped;
            }
            return AmplitudeSurface.Answer(200, answer);
        }
    }

    /// <summary>
    /// A string Amplitude takes (at most 1,024 characters) that both stores can keep: at most 2,048 bytes in UTF-8, the
    /// identifiers' limit, and no NUL, which PostgreSQL cannot keep.
    /// </summary>
    private static bool Storable(string text) =>
        text.Length <= IdentifierNormalizer.MaxValueLength && Encoding.UTF8.GetByteCount(text) <= IdentifierNormalizer.MaxValueBytes
        && !text.Contains('\0', StringComparison.Ordinal);

    private static (TrackCommand, IReadOnlyList<PropertyEdit>)? ReadEvent(JsonElement item, int index, int minIdLength,
        Dictionary<string, List<int>> invalidFields, Dictionary<string, List<int>> missingFields, Dictionary<string, List<int>> invalidIdLengths)
    {
        void Mark(Dictionary<string, List<int>> map, string field)
        {
            if (!map.TryGetValue(field, out var list))
            {
                map[field] = list = [];
            }
            list.Add(index);
        }
        if (item.ValueKind != JsonValueKind.Object)
        {
            Mark(invalidFields, "event");
            return null;
        }
        var valid = true;
        var tooShort = new List<string>(2);
        string? Id(string field)
        {
            if (!item.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }
            if (value.ValueKind != JsonValueKind.String || PlaceholderIds.Contains(value.GetString()!))
            {
                Mark(invalidFields, field);
                valid = false;
                return null;
            }
            var text = value.GetString()!;
            if (text.Length < minIdLength)
            {
                // Amplitude removes an id that is too short from the event; only with no id left is the event invalid.
                tooShort.Add(field);
                return null;
            }
            if (!Storable(text))
            {
                Mark(invalidFields, field);
                valid = false;
                return null;
            }
            return text;
        }
        var userId = Id("user_id");
        var deviceId = Id("device_id");
        if (userId is null && deviceId is null && valid)
        {
            foreach (var field in tooShort)
            {
                Mark(invalidIdLengths, field);
            }
            if (tooShort.Count == 0)
            {
                Mark(missingFields, "user_id or device_id");
            }
            valid = false;
        }
        string? eventType = null;
        if (!item.TryGetProperty("event_type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String || typeElement.GetString()!.Length == 0
            || !Storable(typeElement.GetString()!))
        {
            Mark(typeElement.ValueKind == JsonValueKind.Undefined ? missingFields : invalidFields, "event_type");
            valid = false;
        }
        else
        {
            eventType = typeElement.GetString();
        }
        DateTimeOffset? time = null;
        if (item.TryGetProperty("time", out var timeElement) && timeElement.ValueKind != JsonValueKind.Null)
        {
            if (timeElement.ValueKind == JsonValueKind.Number && timeElement.TryGetInt64(out var ms) && ms is > 0 and < 253402300800000)
            {
                time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            }
            else
            {
                Mark(invalidFields, "time");
                valid = false;
            }
        }
        string? insertId = null;
        if (item.TryGetProperty("insert_id", out var insertElement) && insertElement.ValueKind != JsonValueKind.Null)
        {
            // NUL is refused as in every stored text, since PostgreSQL cannot keep it: both stores take the same input.
            if (insertElement.ValueKind == JsonValueKind.String && insertElement.GetString() is { Length: > 0 and <= 256 } text && !text.Contains('\0', StringComparison.Ordinal))
            {
                insertId = text;
            }
            else
            {
                Mark(invalidFields, "insert_id");
                valid = false;
            }
        }
        var properties = new JsonObject();
        IReadOnlyList<PropertyEdit> edits = [];
        foreach (var (field, name) in new[] { ("event_properties", (string?)null), ("user_properties", "$user_properties") })
        {
            if (!item.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null)
            {
                continue;
            }
            if (element.ValueKind != JsonValueKind.Object)
            {
                Mark(invalidFields, field);
                valid = false;
                continue;
            }
            if (name is null)
            {
                foreach (var property in element.EnumerateObject())
                {
                    properties[property.Name] = JsonNode.Parse(property.Value.GetRawText());
                }
            }
            else
            {
                properties[name] = JsonNode.Parse(element.GetRawText());
                try
                {
                    edits = UserProperties.Read(element, field);
                }
                catch (RequestValidationException)
                {
                    Mark(invalidFields, field);
                    valid = false;
                }
            }
        }
        if (!valid || eventType is null)
        {
            return null;
        }
        var primary = userId is not null
            ? new IdentifierInput(new Identifier(IdentifierTypes.UserId, userId), userId, "user_id")
            : new IdentifierInput(new Identifier(IdentifierTypes.DeviceId, deviceId!), deviceId!, "device_id");
        IReadOnlyList<IdentifierInput> others = userId is not null && deviceId is not null
            ? [new IdentifierInput(new Identifier(IdentifierTypes.DeviceId, deviceId), deviceId, "device_id")]
            : [];
        var identity = new IdentifyCommand(primary, others, new Dictionary<string, PropertyValue>(), new Dictionary<string, PropertyValue>(), []);
        return (new TrackCommand(identity, eventType, time, properties.ToJsonString(), insertId), edits);
    }
}
