using System.Globalization;
using System.Text.Json;
using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Operations;

namespace Selfsame.Server.Segment;

/// <summary>
/// Reads Segment's tracking spec (identify, track, page, screen, alias, group) into the engine's operations. A message
/// that is not valid throws a field error naming the field (<c>batch[2].userId</c>), before anything is written.
/// </summary>
internal sealed class SegmentMessages(ProjectSettings settings, DateTimeOffset receivedAt)
{
    public const string Identify = "identify";
    public const string Track = "track";
    public const string Page = "page";
    public const string Screen = "screen";
    public const string Alias = "alias";
    public const string Group = "group";
    public static readonly string[] Types = [Identify, Track, Page, Screen, Alias, Group];

    /// <summary>Segment's cap on one message, in bytes of its JSON.</summary>
    public const int MaxMessageBytes = 32 * 1024;

    /// <summary>How deep traits and properties are flattened into keys joined with dots (address.city).</summary>
    private const int MaxFlattenDepth = 5;

    /// <summary>
    /// The operations of one message of type <paramref name="type"/> at <paramref name="path"/> (empty for a call of its own);
    /// <paramref name="sentAt"/> is the batch's, when the message has none of its own.
    /// </summary>
    public GraphOperation Read(JsonElement message, string type, string path, string? sentAt = null)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path.Length == 0 ? "(body)" : path, "expected a JSON object (a message of Segment's tracking spec)");
        }
        if (path.Length > 0 && System.Text.Encoding.UTF8.GetByteCount(message.GetRawText()) > MaxMessageBytes)
        {
            throw RequestValidationException.Of(path, $"a message is at most {MaxMessageBytes / 1024} KB", "payload_too_large");
        }
        return type switch
        {
            Identify => new GraphOperation.IdentifyOp(Sender(message, path, Traits(message, path, "traits"), ContextTraits(message, path))),
            Track => Event(message, path, RequiredString(message, "event", path), "properties", sentAt),
            Page => Event(message, path, Named(message, "Loaded a Page", "Viewed {0} Page"), "properties", sentAt),
            Screen => Event(message, path, Named(message, "Viewed a Screen", "Viewed {0} Screen"), "properties", sentAt),
            Alias => AliasOf(message, path),
            Group => GroupOf(message, path),
            _ => throw Invalid(Join(path, "type"), $"'{type}' is not a type of Segment's spec ({string.Join(", ", Types)})"),
        };
    }

    /// <summary>
    /// The sender: userId (its user_id) when given, else anonymousId; the other one, and the email and phone of the
    /// message's traits or of <c>context.traits</c> (which every call may carry), join it. Only the traits of an identify
    /// are set as properties.
    /// </summary>
    private IdentifyCommand Sender(JsonElement message, string path, Dictionary<string, PropertyValue> traits, Dictionary<string, PropertyValue> contextTraits)
    {
        var userId = OptionalString(message, "userId", path);
        var anonymousId = OptionalString(message, "anonymousId", path);
        if (userId is null && anonymousId is null)
        {
            throw Invalid(Join(path, "userId"), "a message needs a userId or an anonymousId (or both)");
        }
        var inputs = new List<IdentifierInput>();
        if (userId is not null)
        {
            inputs.Add(Input(IdentifierTypes.UserId, userId, Join(path, "userId")));
        }
        if (anonymousId is not null)
        {
            inputs.Add(Input(IdentifierTypes.AnonymousId, anonymousId, Join(path, "anonymousId")));
        }
        // Traits' email and phone are identifiers of the person as well as properties (the guardrails decide on them).
        foreach (var (source, field) in new[] { (traits, "traits"), (contextTraits, "context.traits") })
        {
            foreach (var (trait, type) in new[] { ("email", IdentifierTypes.Email), ("phone", IdentifierTypes.Phone) })
            {
                // A value that is not an email address or a phone number stays a property only.
                if (source.TryGetValue(trait, out var value) && value.Type == PropertyType.String
                    && JsonSerializer.Deserialize<string>(value.Json) is { Length: > 0 } text
                    && IdentifierNormalizer.TryNormalize(type, text, settings, out _) is { } identifier
                    && inputs.All(i => i.Identifier != identifier))
                {
                    inputs.Add(new IdentifierInput(identifier, text, Join(path, $"{field}.{trait}")));
                }
            }
        }
        return new IdentifyCommand(inputs[0], inputs.Skip(1).ToList(), traits, new Dictionary<string, PropertyValue>(), []);
    }

    private GraphOperation Event(JsonElement message, string path, string name, string propertiesField, string? sentAt)
    {
        CheckName(name, Join(path, "event"));
        var properties = "{}";
        if (message.TryGetProperty(propertiesField, out var given) && given.ValueKind != JsonValueKind.Null)
        {
            properties = given.ValueKind == JsonValueKind.Object ? given.GetRawText() : throw Invalid(Join(path, propertiesField), "expected an object");
        }
        // messageId is Segment's idempotency key: the same message sent twice is one event.
        var messageId = OptionalString(message, "messageId", path);
        if (messageId is not null)
        {
            CheckName(messageId, Join(path, "messageId"));
        }
        var identity = Sender(message, path, new Dictionary<string, PropertyValue>(), ContextTraits(message, path));
        return new GraphOperation.TrackOp(new TrackCommand(identity, name, Time(message, path, sentAt), properties, messageId));
    }

    /// <summary>
    /// The event's time as Segment computes it: when it happened on the sender's clock (<c>originalTimestamp</c>, or the
    /// <c>timestamp</c> a server-side library passes) corrected for that clock by <c>sentAt</c> (the message's, else the
    /// batch's): the time of receipt minus how long before sending it happened. Without <c>sentAt</c> it is taken as sent;
    /// without either, the time of receipt.
    /// </summary>
    private DateTimeOffset Time(JsonElement message, string path, string? batchSentAt)
    {
        var happened = OptionalTime(message, "originalTimestamp", path) ?? OptionalTime(message, "timestamp", path);
        var sent = OptionalTime(message, "sentAt", path) ?? (batchSentAt is null ? null : ParseTime(batchSentAt, "sentAt"));
        if (happened is not { } at)
        {
            return receivedAt;
        }
        if (sent is not { } sentTime)
        {
            return at;
        }
        // In ticks, which cannot overflow here: each time is within 0001 to 9999.
        var ticks = receivedAt.UtcTicks - (sentTime.UtcTicks - at.UtcTicks);
        return ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : throw Invalid(Join(path, "sentAt"), "is too far from the event's time to correct it");
    }

    /// <summary>alias: an explicit link from previousId (an anonymous id, or a user id a record holds) into userId.</summary>
    private GraphOperation AliasOf(JsonElement message, string path)
    {
        var previous = RequiredString(message, "previousId", path);
        var userId = RequiredString(message, "userId", path);
        var into = Input(IdentifierTypes.UserId, userId, Join(path, "userId"));
        return new GraphOperation.LinkOp(new LinkCommand(Input(IdentifierTypes.AnonymousId, previous, Join(path, "previousId")), into, LinkKinds.Alias)
        {
            FromIfHeld = Input(IdentifierTypes.UserId, previous, Join(path, "previousId")),
        });
    }

    /// <summary>group: the company (groupId, its traits) and the sender's membership of it.</summary>
    private GraphOperation GroupOf(JsonElement message, string path)
    {
        var groupId = RequiredString(message, "groupId", path);
        if (groupId.Length > Selfsame.Companies.CompanyLimits.MaxIdLength || groupId.Contains('\0', StringComparison.Ordinal) || groupId.Trim().Length == 0)
        {
            throw Invalid(Join(path, "groupId"), $"must be 1 to {Selfsame.Companies.CompanyLimits.MaxIdLength} characters, not blank, without NUL");
        }
        var traits = Traits(message, path, "traits");
        var sender = Sender(message, path, new Dictionary<string, PropertyValue>(), ContextTraits(message, path));
        return new GraphOperation.Sequence([
            new GraphOperation.IdentifyOp(sender),
            new GraphOperation.CompanyOp(new CompanyCommand(groupId, traits)),
            new GraphOperation.JoinCompanyOp(new JoinCompanyCommand(groupId, sender.Primary)),
        ]);
    }

    /// <summary>
    /// The email and phone of <c>context.traits</c>, the traits a library attaches to any call; the rest of the context
    /// is not read, so that whatever else a library puts there never refuses a message.
    /// </summary>
    private static Dictionary<string, PropertyValue> ContextTraits(JsonElement message, string path)
    {
        var found = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        if (message.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.Object
            && context.TryGetProperty("traits", out var traits) && traits.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in new[] { "email", "phone" })
            {
                if (traits.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && PropertyValue.TryFrom(value, out _) is { } text)
                {
                    found[name] = text;
                }
            }
        }
        return found;
    }

    /// <summary>An object of traits as properties: nested objects flattened into keys joined with dots, arrays of primitives kept.</summary>
    private static Dictionary<string, PropertyValue> Traits(JsonElement message, string path, string field)
    {
        var traits = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        if (!message.TryGetProperty(field, out var given) || given.ValueKind == JsonValueKind.Null)
        {
            return traits;
        }
        if (given.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(Join(path, field), "expected an object");
        }
        Flatten(given, "", Join(path, field), traits, 0);
        return traits;
    }

    private static void Flatten(JsonElement value, string prefix, string path, Dictionary<string, PropertyValue> into, int depth)
    {
        foreach (var property in value.EnumerateObject())
        {
            var key = prefix + property.Name;
            var at = $"{path}.{property.Name}";
            if (key.Length is 0 or > PropertyValue.MaxKeyLength || key.Contains('\0', StringComparison.Ordinal))
            {
                throw Invalid(at, $"a key is 1 to {PropertyValue.MaxKeyLength} characters, without NUL");
            }
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                if (depth + 1 >= MaxFlattenDepth)
                {
                    throw Invalid(at, $"objects nest at most {MaxFlattenDepth} deep in traits");
                }
                Flatten(property.Value, key + ".", at, into, depth + 1);
                continue;
            }
            into[key] = PropertyValue.TryFrom(property.Value, allowArrays: true, out var error) ?? throw Invalid(at, error!);
        }
    }

    /// <summary>An event name or idempotency key: 1 to 256 characters without NUL, as the native API takes them.</summary>
    private static void CheckName(string text, string field)
    {
        if (text.Length > OperationReader.MaxNameLength || text.Contains('\0', StringComparison.Ordinal))
        {
            throw Invalid(field, $"must be 1 to {OperationReader.MaxNameLength} characters without NUL");
        }
    }

    private static string Named(JsonElement message, string unnamed, string named) =>
        message.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() is { Length: > 0 } text
            ? string.Format(CultureInfo.InvariantCulture, named, text)
            : unnamed;

    private IdentifierInput Input(string type, string value, string field) =>
        new(IdentifierNormalizer.TryNormalize(type, value, settings, out var error) ?? throw Invalid(field, error!), value, field);

    private static string RequiredString(JsonElement message, string name, string path) =>
        OptionalString(message, name, path) ?? throw Invalid(Join(path, name), "is required (a string)");

    /// <summary>A string field; a number is read as its digits (Segment's libraries send numeric ids as they are given).</summary>
    private static string? OptionalString(JsonElement message, string name, string path)
    {
        if (!message.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.String when value.GetString() is { Length: > 0 } text => text,
            JsonValueKind.String => null,
            JsonValueKind.Number => value.GetRawText(),
            _ => throw Invalid(Join(path, name), $"expected a string, got {JsonText.Describe(value.ValueKind)}"),
        };
    }

    private static DateTimeOffset? OptionalTime(JsonElement message, string name, string path) =>
        message.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.ValueKind == JsonValueKind.String ? ParseTime(value.GetString()!, Join(path, name)) : throw Invalid(Join(path, name), "expected an ISO 8601 date-time string")
            : null;

    private static DateTimeOffset ParseTime(string text, string field) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw Invalid(field, $"'{text}' is not an ISO 8601 date-time");

    private static string Join(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";

    private static RequestValidationException Invalid(string field, string message) => RequestValidationException.Of(field, message);
}
