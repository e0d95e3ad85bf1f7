using System.Globalization;
using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Operations;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>
/// The JSON that tracking libraries send (Segment's spec, PostHog's capture): ids given as strings or numbers, ISO 8601
/// times corrected for the sender's clock, objects of properties. Each reader names the field at fault as
/// <c>batch[2].userId</c>.
/// </summary>
internal static class TrackingJson
{
    /// <summary>How deep objects of properties are flattened into keys joined with dots (address.city).</summary>
    public const int MaxFlattenDepth = 5;

    /// <summary>Events or messages in one batch: a cap so that one request stays one commit of reasonable size.</summary>
    public const int MaxBatchItems = 2_500;

    public static string Join(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";

    /// <summary>A string field, or a number read as its digits (libraries send numeric ids as they are given); null when absent, null or empty.</summary>
    public static string? OptionalId(JsonElement message, string name, string path)
    {
        if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
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

    public static string RequiredId(JsonElement message, string name, string path) =>
        OptionalId(message, name, path) ?? throw Invalid(Join(path, name), "is required (a string)");

    public static DateTimeOffset? OptionalTime(JsonElement message, string name, string path) =>
        message.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.ValueKind == JsonValueKind.String ? ParseTime(value.GetString()!, Join(path, name)) : throw Invalid(Join(path, name), "expected an ISO 8601 date-time string")
            : null;

    public static DateTimeOffset ParseTime(string text, string field) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw Invalid(field, $"'{text}' is not an ISO 8601 date-time");

    /// <summary>
    /// When an event happened, on the server's clock: the time of receipt minus how long before sending it happened on the
    /// sender's clock (<paramref name="happened"/> and <paramref name="sent"/>), as Segment and PostHog both correct it.
    /// Without <paramref name="sent"/> the sender's time is taken as it is.
    /// </summary>
    public static DateTimeOffset Corrected(DateTimeOffset receivedAt, DateTimeOffset happened, DateTimeOffset? sent, string sentField)
    {
        if (sent is not { } sentTime)
        {
            return happened;
        }
        // In ticks, which cannot overflow here: each time is within 0001 to 9999.
        var ticks = receivedAt.UtcTicks - (sentTime.UtcTicks - happened.UtcTicks);
        return ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : throw Invalid(sentField, "is too far from the event's time to correct it");
    }

    /// <summary>
    /// The object at <paramref name="field"/> of <paramref name="message"/> as properties: nested objects flattened into keys
    /// joined with dots, arrays of primitives kept; none when it is absent or null.
    /// </summary>
    public static Dictionary<string, PropertyValue> Properties(JsonElement message, string field, string path)
    {
        var properties = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        if (!message.TryGetProperty(field, out var given) || given.ValueKind == JsonValueKind.Null)
        {
            return properties;
        }
        if (given.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(Join(path, field), "expected an object");
        }
        Flatten(given, "", Join(path, field), properties, 0);
        return properties;
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
                    throw Invalid(at, $"objects nest at most {MaxFlattenDepth} deep in properties");
                }
                Flatten(property.Value, key + ".", at, into, depth + 1);
                continue;
            }
            into[key] = PropertyValue.TryFrom(property.Value, allowArrays: true, out var error) ?? throw Invalid(at, error!);
        }
    }

    /// <summary>An event name or idempotency key: 1 to 256 characters without NUL, as the native API takes them.</summary>
    public static void CheckName(string text, string field)
    {
        if (text.Length > OperationReader.MaxNameLength || text.Contains('\0', StringComparison.Ordinal))
        {
            throw Invalid(field, $"must be 1 to {OperationReader.MaxNameLength} characters without NUL");
        }
    }

    /// <summary>The email and phone among <paramref name="traits"/> that are valid as such, as identifiers not yet in <paramref name="inputs"/>.</summary>
    public static void AddContactIdentifiers(Dictionary<string, PropertyValue> traits, string field, ProjectSettings settings, List<IdentifierInput> inputs)
    {
        foreach (var (trait, type) in new[] { ("email", IdentifierTypes.Email), ("phone", IdentifierTypes.Phone) })
        {
            // A value that is not an email address or a phone number stays a property only.
            if (traits.TryGetValue(trait, out var value) && value.Type == PropertyType.String
                && JsonSerializer.Deserialize<string>(value.Json) is { Length: > 0 } text
                && IdentifierNormalizer.TryNormalize(type, text, settings, out _) is { } identifier
                && inputs.All(i => i.Identifier != identifier))
            {
                inputs.Add(new IdentifierInput(identifier, text, Join(field, trait)));
            }
        }
    }

    /// <summary>An identifier of a message: <paramref name="value"/> normalized as <paramref name="type"/>, or the field error that says why it cannot be.</summary>
    public static IdentifierInput Input(string type, string value, string field, ProjectSettings settings) =>
        new(IdentifierNormalizer.TryNormalize(type, value, settings, out var error) ?? throw Invalid(field, error!), value, field);

    public static RequestValidationException Invalid(string field, string message) => RequestValidationException.Of(field, message);
}
