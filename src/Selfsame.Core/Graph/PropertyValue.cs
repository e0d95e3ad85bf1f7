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

    /// <summary>An array of strings, numbers and booleans (vendor surfaces that document arrays; the native API takes none).</summary>
    Array,
}

/// <summary>A typed property value. <see cref="Json"/> is the value's JSON text (numbers keep the digits that were sent).</summary>
public sealed record PropertyValue(PropertyType Type, string Json)
{
    public const int MaxKeyLength = 256;
    public const int MaxStringLength = 8192;
    public const int MaxArrayLength = 100;

    public static PropertyValue Null { get; } = new(PropertyType.Null, "null");

    /// <summary>Reads a JSON value as a property; strings in ISO 8601 date-time form (with a time) are date-times.</summary>
    public static PropertyValue? TryFrom(JsonElement element, out string? error) => TryFrom(element, allowArrays: false, out error);

    /// <summary>As <see cref="TryFrom(JsonElement, out string?)"/>; with <paramref name="allowArrays"/>, also an array of up to
    /// <see cref="MaxArrayLength"/> strings, numbers and booleans.</summary>
    public static PropertyValue? TryFrom(JsonElement element, bool allowArrays, out string? error)
    {
        error = null;
        switch (element.ValueKind)
        {
            case JsonValueKind.Array when allowArrays:
                var length = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (++length > MaxArrayLength)
                    {
                        error = $"an array of more than {MaxArrayLength} values";
                        return null;
                    }
                    if (item.ValueKind is JsonValueKind.Array or JsonValueKind.Object or JsonValueKind.Null || TryFrom(item, allowArrays: false, out error) is null)
                    {
                        error = $"an array holding {(error ?? "a value that is not a string, number or boolean")}";
                        return null;
                    }
                }
                return new PropertyValue(PropertyType.Array, element.GetRawText());
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
                error = allowArrays ? "expected a string, number, boolean, array or null" : "expected a string, number, boolean or null";
                return null;
        }
    }

    public static string TypeName(PropertyType type) => type switch
    {
        PropertyType.String => "string",
        PropertyType.Number => "number",
        PropertyType.Boolean => "boolean",
        PropertyType.DateTime => "datetime",
        PropertyType.Array => "array",
        _ => "null",
    };

    public static PropertyType ParseTypeName(string name) => name switch
    {
        "string" => PropertyType.String,
        "number" => PropertyType.Number,
        "boolean" => PropertyType.Boolean,
        "datetime" => PropertyType.DateTime,
        "array" => PropertyType.Array,
        _ => PropertyType.Null,
    };

    private static bool LooksLikeDateTime(string text) =>
        text.Length is >= 16 and <= 40 && text[4] == '-' && text.Contains('T', StringComparison.Ordinal) &&
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _);
}

/// <summary>A property as stored on one record.</summary>
public sealed record StoredProperty(RecordId Record, string Key, PropertyValue Value, DateTimeOffset UpdatedAt, long Sequence);
