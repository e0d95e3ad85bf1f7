using System.Globalization;
using System.Text.Json;
using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Operations;
using static Selfsame.Server.Hosting.Surfaces.TrackingJson;

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
            Identify => new GraphOperation.IdentifyOp(Sender(message, path, Properties(message, "traits", path), ContextTraits(message, path))),
            Track => Event(message, path, RequiredId(message, "event", path), "properties", sentAt),
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
        var userId = OptionalId(message, "userId", path);
        var anonymousId = OptionalId(message, "anonymousId", path);
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
        AddContactIdentifiers(traits, Join(path, "traits"), settings, inputs);
        AddContactIdentifiers(contextTraits, Join(path, "context.traits"), settings, inputs);
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
        var messageId = OptionalId(message, "messageId", path);
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
        return happened is { } at ? Corrected(receivedAt, at, sent, Join(path, "sentAt")) : receivedAt;
    }

    /// <summary>alias: an explicit link from previousId (an anonymous id, or a user id a record holds) into userId.</summary>
    private GraphOperation AliasOf(JsonElement message, string path)
    {
        var previous = RequiredId(message, "previousId", path);
        var userId = RequiredId(message, "userId", path);
        var into = Input(IdentifierTypes.UserId, userId, Join(path, "userId"));
        var from = Input(IdentifierTypes.AnonymousId, previous, Join(path, "previousId")) with { IfHeld = Input(IdentifierTypes.UserId, previous, Join(path, "previousId")) };
        return new GraphOperation.LinkOp(new LinkCommand(from, into, LinkKinds.Alias));
    }

    /// <summary>group: the company (groupId, its traits) and the sender's membership of it.</summary>
    private GraphOperation GroupOf(JsonElement message, string path)
    {
        var groupId = RequiredId(message, "groupId", path);
        if (groupId.Length > Selfsame.Companies.CompanyLimits.MaxIdLength || groupId.Contains('\0', StringComparison.Ordinal) || groupId.Trim().Length == 0)
        {
            throw Invalid(Join(path, "groupId"), $"must be 1 to {Selfsame.Companies.CompanyLimits.MaxIdLength} characters, not blank, without NUL");
        }
        var traits = Properties(message, "traits", path);
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

    private static string Named(JsonElement message, string unnamed, string named) =>
        message.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() is { Length: > 0 } text
            ? string.Format(CultureInfo.InvariantCulture, named, text)
            : unnamed;

    private IdentifierInput Input(string type, string value, string field) => Hosting.Surfaces.TrackingJson.Input(type, value, field, settings);
}
