using System.Text.Json;
using Selfsame.Graph;

namespace Selfsame.Server.MoEngage;

/// <summary>A customer payload read whole: who it names and what it writes.</summary>
internal sealed record CustomerUpdate(
    IReadOnlyList<IdentifierInput> Identifiers,
    IReadOnlyDictionary<string, PropertyValue> Set,
    IReadOnlyList<string> Unset,
    IReadOnlyDictionary<string, IReadOnlyList<JsonElement>> ArrayAdd,
    IReadOnlyDictionary<string, IReadOnlyList<JsonElement>> ArrayRemove,
    IReadOnlyList<string> ActivePlatforms,
    IReadOnlyList<string> InactivePlatforms,
    bool UpdateExistingOnly);

/// <summary>
/// Reads MoEngage customer payloads: type, customer_id, attributes typed as MoEngage types them, array edits, platforms,
/// and in identity-resolution projects the activated identifier attributes.
/// </summary>
internal sealed class MoEngageAttributes(ProjectSettings settings)
{
    public const int MaxNameLength = 200;
    public const int MaxValueLength = 512;
    public const int MaxArrayLength = 50;
    public const string AddToArray = "addValueToArrayField";
    public const string RemoveFromArray = "removeValueFromArrayField";
    private static readonly string[] Platforms = ["ANDROID", "iOS", "web"];

    /// <summary>
    /// Identity resolution is on when the project turns it on (settings.identity_resolution: moe_mobile and moe_email) or
    /// names its own identifier attributes (settings.identity_attributes).
    /// </summary>
    public bool IdentityResolution => Activated.Count > 0;

    public ProjectSettings Settings => settings;

    public IReadOnlyList<IdentityAttribute> Activated => settings.ActiveIdentityAttributes;

    /// <summary>Most attributes one payload may carry: MoEngage's cap of 256 user attributes.</summary>
    public const int MaxAttributes = 256;

    /// <summary>MoEngage's standard attribute keys, stored under the names its examples use.</summary>
    private static readonly Dictionary<string, string> StandardKeys = new(StringComparer.Ordinal)
    {
        ["u_em"] = "email", ["u_mb"] = "mobile", ["u_n"] = "name", ["u_fn"] = "first_name", ["u_ln"] = "last_name", ["u_gd"] = "gender", ["u_bd"] = "birthday",
    };

    public CustomerUpdate ReadCustomer(JsonElement payload, string path = "")
    {
        if (payload.ValueKind != JsonValueKind.Object)
        {
            throw MoEngageSurface.Bad(path.TrimEnd('.'), "the payload must be a JSON object");
        }
        if (!payload.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            throw MoEngageSurface.Missing($"{path}type", "type is not found in the payload: it must be \"customer\"");
        }
        if (type.GetString() != "customer")
        {
            throw MoEngageSurface.Bad($"{path}type", $"type must be \"customer\" (case-sensitive), got \"{type.GetString()}\"");
        }
        // Precedence: customer_id, then the activated attributes in the order the project lists them.
        var identifiers = new SortedDictionary<int, IdentifierInput>();
        if (payload.TryGetProperty("customer_id", out var customer) && customer.ValueKind != JsonValueKind.Null)
        {
            identifiers[-1] = CustomerId(customer, $"{path}customer_id");
        }
        else if (!IdentityResolution)
        {
            throw MoEngageSurface.Missing($"{path}customer_id",
                "customer_id is not found in the payload (identity resolution, which finds users by moe_mobile or moe_email instead, is off: set identity_resolution to true in the project's settings)");
        }
        var updateExistingOnly = false;
        if (payload.TryGetProperty("update_existing_only", out var existingOnly) && existingOnly.ValueKind != JsonValueKind.Null)
        {
            updateExistingOnly = existingOnly.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw MoEngageSurface.Bad($"{path}update_existing_only", "update_existing_only must be true or false"),
            };
        }
        var set = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        var unset = new List<string>();
        var add = new Dictionary<string, IReadOnlyList<JsonElement>>(StringComparer.Ordinal);
        var remove = new Dictionary<string, IReadOnlyList<JsonElement>>(StringComparer.Ordinal);
        var active = new List<string>();
        var inactive = new List<string>();
        if (payload.TryGetProperty("platforms", out var topPlatforms) && topPlatforms.ValueKind != JsonValueKind.Null)
        {
            ReadPlatforms(topPlatforms, $"{path}platforms", active, inactive);
        }
        if (payload.TryGetProperty("attributes", out var attributes) && attributes.ValueKind != JsonValueKind.Null)
        {
            if (attributes.ValueKind != JsonValueKind.Object)
            {
                throw MoEngageSurface.Bad($"{path}attributes", "attributes must be an object");
            }
            if (attributes.EnumerateObject().Count() > MaxAttributes)
            {
                throw MoEngageSurface.Invalid("LimitBreached", $"at most {MaxAttributes} user attributes in a payload", $"{path}attributes");
            }
            foreach (var attribute in attributes.EnumerateObject())
            {
                var name = StandardKeys.GetValueOrDefault(attribute.Name, attribute.Name);
                var at = $"{path}attributes.{name}";
                if (name is AddToArray or RemoveFromArray)
                {
                    ReadArrayEdits(attribute.Value, at, name == AddToArray ? add : remove);
                    continue;
                }
                if (name == "platforms")
                {
                    ReadPlatforms(attribute.Value, at, active, inactive);
                    continue;
                }
                CheckName(name, at);
                var rank = Activated.ToList().FindIndex(a => a.Attribute == name);
                if (rank >= 0)
                {
                    identifiers[rank] = Identifier(Activated[rank], attribute.Value, at);
                    continue;
                }
                if (attribute.Value.ValueKind == JsonValueKind.Null)
                {
                    unset.Add(name);
                    continue;
                }
                set[name] = Value(attribute.Value, at);
            }
        }
        if (add.Keys.Intersect(remove.Keys).FirstOrDefault() is { } both)
        {
            throw MoEngageSurface.Invalid("ArrayFieldError", $"Cannot add and remove '{both}' at the same time", both);
        }
        if (identifiers.Count == 0)
        {
            throw MoEngageSurface.Missing($"{path}attributes",
                $"the payload must carry customer_id or at least one identifier this workspace activated: {string.Join(", ", Activated.Select(a => a.Attribute))}");
        }
        return new CustomerUpdate([.. identifiers.Values], set, unset, add, remove, active, inactive, updateExistingOnly);
    }

    public IdentifierInput CustomerId(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            throw MoEngageSurface.Bad(field, "customer_id is expected to be String or Unicode String.");
        }
        var text = value.GetString()!;
        if (string.IsNullOrWhiteSpace(text))
        {
            throw MoEngageSurface.Missing(field, "customer_id can not be empty Unicode String");
        }
        var identifier = IdentifierNormalizer.TryNormalize(IdentifierTypes.UserId, text, settings, out var error)
            ?? throw MoEngageSurface.Bad(field, $"customer_id: {error}");
        return new IdentifierInput(identifier, text, field);
    }

    private IdentifierInput Identifier(IdentityAttribute activated, JsonElement value, string field)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Number => value.GetRawText(),
            _ => throw MoEngageSurface.Bad(field, $"{activated.Attribute} is an identifier of this workspace: a string or a number"),
        };
        var identifier = IdentifierNormalizer.TryNormalize(activated.Type, text, settings, out var error)
            ?? throw MoEngageSurface.Bad(field, $"{activated.Attribute}: {error}");
        return new IdentifierInput(identifier, text, field);
    }

    /// <summary>Names of the user's own fields in an export; no attribute may take them.</summary>
    public static readonly string[] SystemFields = ["customer_id", "moengage_id", "created_time", "last_seen"];

    /// <summary>
    /// Refuses the names MoEngage blocks (empty, id, _id, over 200 characters, moe_ unless the project activated it) and the
    /// names of the user's own fields; with <paramref name="identifierAllowed"/> false, an activated identifier's name too
    /// (it is an identifier, not an attribute, outside a customer's attributes).
    /// </summary>
    public void CheckName(string name, string field, bool identifierAllowed = true)
    {
        if (SystemFields.Contains(name) || (!identifierAllowed && Activated.Any(a => a.Attribute == name)))
        {
            throw MoEngageSurface.Invalid("ReservedAttributeError", $"'{name}' names a field of the user itself, not an attribute", field);
        }
        if (name is "" or "id" or "_id")
        {
            throw MoEngageSurface.Invalid("ReservedAttributeError", $"'{name}' is a blocked attribute name (\"id\", \"_id\" and \"\" are not allowed)", field);
        }
        if (name.Length > MaxNameLength)
        {
            throw MoEngageSurface.Bad(field, $"attribute names are at most {MaxNameLength} characters");
        }
        if (name.StartsWith("moe_", StringComparison.Ordinal) && Activated.All(a => a.Attribute != name))
        {
            throw MoEngageSurface.Invalid("ReservedAttributeError",
                $"'{name}': the moe_ prefix is reserved for MoEngage; only the identifiers this workspace activated may use it" +
                (Activated.Count > 0 ? $" ({string.Join(", ", Activated.Select(a => a.Attribute))})" : ""), field);
        }
    }

    /// <summary>
    /// A value as MoEngage types it: string (ISO 8601 date-times become dates; strings over 512 characters are cut to 512),
    /// number, boolean, or a homogeneous array of those with at most 50 elements.
    /// </summary>
    public static PropertyValue Value(JsonElement value, string field)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String when value.GetString()!.Length > MaxValueLength:
                using (var cut = JsonDocument.Parse(JsonSerializer.Serialize(value.GetString()![..MaxValueLength])))
                {
                    return PropertyValue.TryFrom(cut.RootElement, out _)!;
                }
            case JsonValueKind.Array:
                var items = value.EnumerateArray().ToList();
                if (items.Count > MaxArrayLength)
                {
                    throw MoEngageSurface.Bad(field, $"arrays hold at most {MaxArrayLength} values");
                }
                if (items.Any(i => i.ValueKind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False))
                    || items.Select(i => i.ValueKind is JsonValueKind.True or JsonValueKind.False ? JsonValueKind.True : i.ValueKind).Distinct().Count() > 1)
                {
                    throw MoEngageSurface.Bad(field, "arrays must hold values of one type: strings, numbers or booleans");
                }
                if (items.Any(i => i.ValueKind == JsonValueKind.String && i.GetString()!.Length > MaxValueLength))
                {
                    throw MoEngageSurface.Bad(field, $"array values are at most {MaxValueLength} characters");
                }
                break;
            case JsonValueKind.Object:
                throw MoEngageSurface.Bad(field, "object values are not stored by Selfsame: send strings, numbers, booleans, dates or arrays");
        }
        return PropertyValue.TryFrom(value, allowArrays: true, out var error) ?? throw MoEngageSurface.Bad(field, $"not a value MoEngage types: {error}");
    }

    private void ReadArrayEdits(JsonElement edits, string field, Dictionary<string, IReadOnlyList<JsonElement>> into)
    {
        if (edits.ValueKind != JsonValueKind.Object)
        {
            throw MoEngageSurface.Bad(field, "expected an object of attribute names to the values to add or remove");
        }
        foreach (var edit in edits.EnumerateObject())
        {
            CheckName(edit.Name, $"{field}.{edit.Name}", identifierAllowed: false);
            var values = edit.Value.ValueKind == JsonValueKind.Array ? edit.Value : throw MoEngageSurface.Bad($"{field}.{edit.Name}", "expected an array of values");
            Value(values, $"{field}.{edit.Name}");
            into[edit.Name] = values.EnumerateArray().Select(v => v.Clone()).ToList();
        }
    }

    private static void ReadPlatforms(JsonElement platforms, string field, List<string> active, List<string> inactive)
    {
        if (platforms.ValueKind != JsonValueKind.Array)
        {
            throw MoEngageSurface.Bad(field, "platforms must be an array of {\"platform\": \"ANDROID\"|\"iOS\"|\"web\", \"active\": \"true\"|\"false\"}");
        }
        var i = 0;
        foreach (var entry in platforms.EnumerateArray())
        {
            var at = $"{field}[{i++}]";
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("platform", out var platform) || platform.ValueKind != JsonValueKind.String
                || Platforms.FirstOrDefault(p => p.Equals(platform.GetString(), StringComparison.OrdinalIgnoreCase)) is not { } name)
            {
                throw MoEngageSurface.Bad(at, "platform must be one of ANDROID, iOS, web");
            }
            var isActive = !entry.TryGetProperty("active", out var flag) || flag.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.String when flag.GetString() is "true" or "false" => flag.GetString() == "true",
                _ => throw MoEngageSurface.Bad($"{at}.active", "active must be \"true\" or \"false\""),
            };
            (isActive ? active : inactive).Add(name);
        }
    }
}
