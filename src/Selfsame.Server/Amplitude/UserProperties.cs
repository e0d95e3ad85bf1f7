using System.Globalization;
using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Operations;

namespace Selfsame.Server.Amplitude;

/// <summary>
/// Amplitude's <c>user_properties</c>, as the Identify API and HTTP V2 events carry them: plain keys (each set), or
/// operations (<c>$set</c>, <c>$setOnce</c>, <c>$add</c>, <c>$append</c>, <c>$prepend</c>, <c>$preInsert</c>,
/// <c>$postInsert</c>, <c>$remove</c>, <c>$unset</c>, <c>$clearAll</c>), never both in one object. They become property
/// edits of the user's own record: Amplitude keeps user properties on the user id they were sent for, even across a mapping.
/// </summary>
public static class UserProperties
{
    private static readonly string[] Operations = ["$set", "$setOnce", "$add", "$append", "$prepend", "$preInsert", "$postInsert", "$remove", "$unset", "$clearAll"];

    /// <summary>The edits of <paramref name="properties"/> (an object, at <paramref name="field"/>), or the first field that is wrong and why.</summary>
    public static IReadOnlyList<PropertyEdit> Read(JsonElement properties, string field)
    {
        if (properties.ValueKind != JsonValueKind.Object)
        {
            throw RequestValidationException.Of(field, "expected an object");
        }
        var names = properties.EnumerateObject().Select(p => p.Name).ToList();
        var operations = names.Count(n => n.StartsWith('$'));
        if (operations > 0 && operations < names.Count)
        {
            throw RequestValidationException.Of(field, "holds both operations ($set, $add...) and plain keys; send one or the other");
        }
        var edits = new List<PropertyEdit>();
        if (operations == 0)
        {
            foreach (var property in properties.EnumerateObject())
            {
                edits.Add(new PropertyEdit.Set(Key(property.Name, field), Value(property.Value, $"{field}.{property.Name}")));
            }
            return edits;
        }
        foreach (var operation in properties.EnumerateObject())
        {
            var at = $"{field}.{operation.Name}";
            if (!Operations.Contains(operation.Name, StringComparer.Ordinal))
            {
                throw RequestValidationException.Of(at, $"not an operation; expected one of {string.Join(", ", Operations)}");
            }
            if (operation.Name == "$clearAll")
            {
                edits.Add(new PropertyEdit.Clear());
                continue;
            }
            if (operation.Value.ValueKind != JsonValueKind.Object)
            {
                throw RequestValidationException.Of(at, "expected an object of user properties");
            }
            foreach (var property in operation.Value.EnumerateObject())
            {
                var key = Key(property.Name, at);
                var path = $"{at}.{property.Name}";
                edits.Add(operation.Name switch
                {
                    "$set" => new PropertyEdit.Set(key, Value(property.Value, path)),
                    "$setOnce" => new PropertyEdit.SetOnce(key, Value(property.Value, path)),
                    "$unset" => new PropertyEdit.Remove(key),
                    "$add" => new PropertyEdit.Increment(key, Number(property.Value, path)),
                    _ => new PropertyEdit.ListEdit(key, Values(property.Value, path),
                        AtStart: operation.Name is "$prepend" or "$preInsert",
                        OnlyNew: operation.Name is "$preInsert" or "$postInsert",
                        TakeOut: operation.Name == "$remove",
                        Cap: PropertyValue.MaxArrayLength),
                });
            }
        }
        return edits;
    }

    private static string Key(string name, string field) => name.Length is > 0 and <= PropertyValue.MaxKeyLength && !name.Contains('\0', StringComparison.Ordinal)
        ? name
        : throw RequestValidationException.Of(field, $"'{name}' is not a property name (1 to {PropertyValue.MaxKeyLength} characters)");

    private static PropertyValue Value(JsonElement value, string field) =>
        PropertyValue.TryFrom(value, allowArrays: true, out var error) ?? throw RequestValidationException.Of(field, error!);

    private static decimal Number(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number && decimal.TryParse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var by)
            ? by
            : throw RequestValidationException.Of(field, "expected a number to add");

    /// <summary>One value or an array of them: strings, numbers or booleans.</summary>
    private static IReadOnlyList<JsonElement> Values(JsonElement value, string field)
    {
        var items = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : [value];
        if (items.Count > PropertyValue.MaxArrayLength)
        {
            throw RequestValidationException.Of(field, $"more than {PropertyValue.MaxArrayLength} values");
        }
        foreach (var item in items)
        {
            if (item.ValueKind is JsonValueKind.Array or JsonValueKind.Object or JsonValueKind.Null || PropertyValue.TryFrom(item, out var error) is null)
            {
                throw RequestValidationException.Of(field, "expected a string, number or boolean, or an array of them");
            }
        }
        return items.Select(i => i.Clone()).ToList();
    }
}
