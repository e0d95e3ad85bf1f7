using System.Globalization;
using System.Text.Json;

namespace Selfsame.Graph;

public enum PropertyType
{
    String,
    Number,
    Boolean,
    DateTime,
    Null,
}

/// <summary>A typed property value. <see cref="Json"/> is the value's JSON text (numbers keep the digits that were sent).</summary>
public sealed record PropertyValue(PropertyType Type, string Json)
{
    public const int MaxKeyLength = 256;
    public const int MaxStringLength = 8192;

    public static PropertyValue Null { get; } = new(PropertyType.Null, "null");

    /// <summary>Reads a JSON value as a property; strings in ISO 8601 date-time form (with a time) are date-times.</summary>
    public static PropertyValue? TryFrom(JsonElement element, out string? error)
    {
        error = null;
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                var text = element.GetString()!;
                if (text.Length > MaxStringLength)
                {
                    error = $"a string longer than {MaxStringLength} characters";
                    return null;
                }
                var type = LooksLikeDateTime(text) ? PropertyType.DateTime : PropertyType.String;
                return new PropertyValue(type, element.GetRawText());
            case JsonValueKind.Number:
                if (!element.TryGetDouble(out var d) || double.IsInfinity(d))
                {
                    error = "a number outside the range of a 64-bit float";
                    return null;
                }
                return new PropertyValue(PropertyType.Number, element.GetRawText());
            case JsonValueKind.True:
            case JsonValueKind.False:
                return new PropertyValue(PropertyType.Boolean, element.GetRawText());
            case JsonValueKind.Null:
                return Null;
            default:
                error = "expected a string, number, boolean or null";
                return null;
        }
    }

    public static string TypeName(PropertyType type) => type switch
    {
        PropertyType.String => "string",
        PropertyType.Number => "number",
        PropertyType.Boolean => "boolean",
        PropertyType.DateTime => "datetime",
        _ => "null",
    };

    public static PropertyType ParseTypeName(string name) => name switch
    {
        "string" => PropertyType.String,
        "number" => PropertyType.Number,
        "boolean" => PropertyType.Boolean,
        "datetime" => PropertyType.DateTime,
        _ => PropertyType.Null,
    };

    private static bool LooksLikeDateTime(string text) =>
        text.Length is >= 16 and <= 40 && text[4] == '-' && text.Contains('T', StringComparison.Ordinal) &&
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _);
}

/// <summary>A property as stored on one record.</summary>
public sealed record StoredProperty(RecordId Record, string Key, PropertyValue Value, DateTimeOffset UpdatedAt, long Sequence);
