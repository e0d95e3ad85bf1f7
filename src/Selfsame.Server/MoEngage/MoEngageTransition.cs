using System.Globalization;
using System.Text.Json;
using Selfsame.Graph;

namespace Selfsame.Server.MoEngage;

/// <summary>
/// The bulk endpoint's elements: customers (as the customer endpoint), devices (a device record linked into its customer)
/// and events (each action stored as an event of the customer). Read whole first; then each element is applied alone.
/// </summary>
internal static class MoEngageTransition
{
    public static List<GraphOperation> Read(JsonElement root, MoEngageAttributes reader, DateTimeOffset now)
    {
        if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "transition")
        {
            throw MoEngageSurface.Bad("type", "type must be \"transition\" (case-sensitive)");
        }
        if (!root.TryGetProperty("elements", out var elements) || elements.ValueKind != JsonValueKind.Array || elements.GetArrayLength() == 0)
        {
            throw MoEngageSurface.Missing("elements", "elements cannot be empty array");
        }
        var work = new List<GraphOperation>();
        var i = 0;
        foreach (var element in elements.EnumerateArray())
        {
            var path = $"elements[{i++}]";
            var kind = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            work.Add(kind switch
            {
                "customer" => MoEngageCustomers.Upsert(reader.ReadCustomer(element, $"{path}.")),
                "device" => Device(element, path, reader),
                "event" => Event(element, path, reader, now),
                _ => throw MoEngageSurface.Bad($"{path}.type", "type in elements should be customer/event/device"),
            });
        }
        return work;
    }

    private static IdentifierInput RequiredCustomer(JsonElement element, string path, MoEngageAttributes reader) =>
        element.TryGetProperty("customer_id", out var customer) && customer.ValueKind != JsonValueKind.Null
            ? reader.CustomerId(customer, $"{path}.customer_id")
            : throw MoEngageSurface.Missing($"{path}.customer_id", "customer_id not found in the payload");

    private static string RequiredText(JsonElement element, string name, string path, string message)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
        {
            throw MoEngageSurface.Missing($"{path}.{name}", message);
        }
        return value.GetString()!;
    }

    /// <summary>A device: its own record (holding device_id, with the device's attributes) linked into the customer's record.</summary>
    private static GraphOperation Device(JsonElement element, string path, MoEngageAttributes reader)
    {
        var customer = RequiredCustomer(element, path, reader);
        var deviceText = RequiredText(element, "device_id", path, "device_id not found in the payload");
        var device = new IdentifierInput(new Identifier(IdentifierTypes.DeviceId, deviceText), deviceText, $"{path}.device_id");
        var attributes = new Dictionary<string, PropertyValue?>(StringComparer.Ordinal);
        if (element.TryGetProperty("attributes", out var given) && given.ValueKind != JsonValueKind.Null)
        {
            if (given.ValueKind != JsonValueKind.Object)
            {
                throw MoEngageSurface.Bad($"{path}.attributes", "attributes must be an object");
            }
            foreach (var attribute in given.EnumerateObject())
            {
                reader.CheckName(attribute.Name, $"{path}.attributes.{attribute.Name}", identifierAllowed: false);
                attributes[attribute.Name] = attribute.Value.ValueKind == JsonValueKind.Null
                    ? null
                    : MoEngageAttributes.Value(attribute.Value, $"{path}.attributes.{attribute.Name}");
            }
        }
        return new GraphOperation.LinkRecordOp(new LinkRecordCommand(device, customer, attributes));
    }

    /// <summary>An event element: each action an event of the customer (named by customer_id or the activated user_identifiers).</summary>
    private static GraphOperation Event(JsonElement element, string path, MoEngageAttributes reader, DateTimeOffset now)
    {
        var identifiers = new List<IdentifierInput>();
        if (element.TryGetProperty("customer_id", out var customer) && customer.ValueKind != JsonValueKind.Null)
        {
            identifiers.Add(reader.CustomerId(customer, $"{path}.customer_id"));
        }
        // user_identifiers name the user by the activated identifiers: read only where identity resolution is on.
        if (reader.IdentityResolution && element.TryGetProperty("user_identifiers", out var userIdentifiers) && userIdentifiers.ValueKind != JsonValueKind.Null)
        {
            var asCustomer = JsonSerializer.SerializeToElement(new { type = "customer", attributes = userIdentifiers });
            identifiers.AddRange(reader.ReadCustomer(asCustomer, $"{path}.user_identifiers.").Identifiers);
        }
        if (identifiers.Count == 0)
        {
            throw MoEngageSurface.Missing($"{path}.customer_id", "customer_id not found in the payload");
        }
        if (element.TryGetProperty("device_id", out var device) && device.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(device.GetString()))
        {
            identifiers.Add(new IdentifierInput(new Identifier(IdentifierTypes.DeviceId, device.GetString()!), device.GetString()!, $"{path}.device_id"));
        }
        if (!element.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array || actions.GetArrayLength() == 0)
        {
            throw MoEngageSurface.Missing($"{path}.actions", "actions cannot be empty array");
        }
        var events = new List<EventInput>();
        var i = 0;
        foreach (var action in actions.EnumerateArray())
        {
            var at = $"{path}.actions[{i++}]";
            if (action.ValueKind != JsonValueKind.Object)
            {
                throw MoEngageSurface.Bad(at, "an action must be an object");
            }
            var name = RequiredText(action, "action", at, "action cannot be empty Unicode string");
            var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (action.TryGetProperty("attributes", out var attributes) && attributes.ValueKind != JsonValueKind.Null)
            {
                if (attributes.ValueKind != JsonValueKind.Object)
                {
                    throw MoEngageSurface.Bad($"{at}.attributes", "attributes must be an object");
                }
                foreach (var attribute in attributes.EnumerateObject())
                {
                    properties[attribute.Name] = attribute.Value.Clone();
                }
            }
            foreach (var extra in new[] { "platform", "app_version", "user_timezone_offset", "current_time" })
            {
                if (action.TryGetProperty(extra, out var value) && value.ValueKind != JsonValueKind.Null)
                {
                    properties.TryAdd(extra, value.Clone());
                }
            }
            events.Add(new EventInput(name, Time(action, at, now), JsonSerializer.Serialize(properties)));
        }
        // As the customer endpoint: the first identifier that a user holds names the sender, else the first one.
        return new GraphOperation.TrackEventsOp(new TrackEventsCommand(identifiers, events));
    }

    /// <summary>An action's user_time: ISO 8601, or epoch seconds (or milliseconds) as a number or string; now when absent; never later than now.</summary>
    private static DateTimeOffset Time(JsonElement action, string path, DateTimeOffset now)
    {
        if (!action.TryGetProperty("user_time", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return now;
        }
        var text = value.ValueKind is JsonValueKind.String or JsonValueKind.Number ? value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText() : "";
        DateTimeOffset time;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch) && epoch < 100_000_000_000_000)
        {
            time = epoch > 100_000_000_000 ? DateTimeOffset.FromUnixTimeMilliseconds(epoch) : DateTimeOffset.FromUnixTimeSeconds(epoch);
        }
        else if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time))
        {
            throw MoEngageSurface.Bad($"{path}.user_time", "user_time must be an ISO 8601 date-time or epoch seconds");
        }
        return time > now ? now : time;
    }
}
