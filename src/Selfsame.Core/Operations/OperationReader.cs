using System.Text.Json;
using Selfsame.Graph;

namespace Selfsame.Operations;

/// <summary>
/// Reads graph operations from JSON: the bodies of identify, link and unlink, the entries of a batch and the
/// lines of an import file share this one reader, so they accept and refuse the same things.
/// </summary>
public sealed class OperationReader(ProjectSettings settings)
{
    public const int MaxIdentifiers = 100;
    public const int MaxProperties = 256;

    private static readonly string[] IdentifyFields = ["op", "user_id", "identifiers", "properties", "set_once", "unset"];
    private static readonly string[] LinkFields = ["op", "from", "into"];
    private static readonly string[] TrackFields = ["user_id", "identifiers", "event", "time", "properties", "insert_id"];

    public const int MaxEventPropertiesBytes = 64 * 1024;
    public const int MaxNameLength = 256;

    /// <summary>
    /// Reads one event of <c>POST /v1/track</c>: who sent it (user_id and/or identifiers, as identify), <c>event</c>,
    /// <c>time</c> (ISO 8601; now when absent), <c>properties</c> (a JSON object kept as sent) and <c>insert_id</c>.
    /// </summary>
    public Events.TrackCommand ReadTrack(JsonElement element, string path, bool allowOp = false)
    {
        var errors = new List<FieldError>();
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new RequestValidationException([new FieldError(Root(path), $"expected an event object, got {Describe(element)}")]);
        }
        CheckFields(element, path, allowOp ? ["op", .. TrackFields] : ["", .. TrackFields], errors);
        var identity = ReadIdentifyBody(element, path, errors, withProperties: false);
        var name = RequiredText(element, path, "event", errors);
        DateTimeOffset? time = null;
        if (element.TryGetProperty("time", out var timeElement) && timeElement.ValueKind != JsonValueKind.Null)
        {
            if (timeElement.ValueKind == JsonValueKind.String &&
                DateTimeOffset.TryParse(timeElement.GetString(), System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var parsed))
            {
                time = parsed;
            }
            else
            {
                errors.Add(new FieldError(Join(path, "time"), "expected an ISO 8601 date-time such as \"2026-11-24T10:00:00Z\""));
            }
        }
        var properties = "{}";
        if (element.TryGetProperty("properties", out var propertiesElement) && propertiesElement.ValueKind != JsonValueKind.Null)
        {
            if (propertiesElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new FieldError(Join(path, "properties"), $"expected an object, got {Describe(propertiesElement)}"));
            }
            else
            {
                properties = propertiesElement.GetRawText();
                if (properties.Length > MaxEventPropertiesBytes)
                {
                    errors.Add(new FieldError(Join(path, "properties"), $"is larger than {MaxEventPropertiesBytes} bytes"));
                }
            }
        }
        string? insertId = null;
        if (element.TryGetProperty("insert_id", out var insertElement) && insertElement.ValueKind != JsonValueKind.Null)
        {
            insertId = RequiredText(element, path, "insert_id", errors);
        }
        if (errors.Count > 0 || identity is null || name is null)
        {
            throw new RequestValidationException(errors);
        }
        return new Events.TrackCommand(identity, name, time, properties, insertId);
    }

    private static string? RequiredText(JsonElement element, string path, string name, List<FieldError> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new FieldError(Join(path, name), value.ValueKind == JsonValueKind.Undefined ? "is required: a string" : $"expected a string, got {Describe(value)}"));
            return null;
        }
        var text = value.GetString()!;
        if (text.Length is 0 or > MaxNameLength || text.Contains('\0', StringComparison.Ordinal))
        {
            errors.Add(new FieldError(Join(path, name), $"must be 1 to {MaxNameLength} characters without NUL"));
            return null;
        }
        return text;
    }

    /// <summary>
    /// Reads one operation; <paramref name="defaultOp"/> applies when the object has no "op" field. With
    /// <paramref name="allowTrack"/> (imports), <c>"op":"track"</c> reads an event as POST /v1/track does.
    /// </summary>
    public GraphOperation ReadOperation(JsonElement element, string path, string? defaultOp, bool allowTrack = false)
    {
        var errors = new List<FieldError>();
        var op = ReadOperation(element, path, defaultOp, allowTrack, errors);
        return errors.Count > 0 || op is null ? throw new RequestValidationException(errors) : op;
    }

    public IdentifyCommand ReadIdentify(JsonElement element) =>
        ((GraphOperation.IdentifyOp)ReadOperation(element, "", "identify")).Command;

    public LinkCommand ReadLink(JsonElement element) =>
        ((GraphOperation.LinkOp)ReadOperation(element, "", "link")).Command;

    public UnlinkCommand ReadUnlink(JsonElement element) =>
        ((GraphOperation.UnlinkOp)ReadOperation(element, "", "unlink")).Command;

    /// <summary>Reads one identifier object <c>{"type":..,"value":..}</c> (an alias: <c>{"type":"alias","label":..,"name":..}</c>).</summary>
    public IdentifierInput ReadIdentifier(JsonElement element, string path)
    {
        var errors = new List<FieldError>();
        var input = ReadIdentifier(element, path, errors);
        return input ?? throw new RequestValidationException(errors);
    }

    /// <summary>Reads an identifier from separate strings, as a query string gives them.</summary>
    public IdentifierInput ReadIdentifier(string? type, string? value, string? label, string? name, string prefix)
    {
        var errors = new List<FieldError>();
        var input = Normalize(type, value, label, name, prefix, errors);
        return input ?? throw new RequestValidationException(errors);
    }

    private GraphOperation? ReadOperation(JsonElement element, string path, string? defaultOp, bool allowTrack, List<FieldError> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError(Root(path), $"expected a JSON object, got {Describe(element)}"));
            return null;
        }
        var op = defaultOp;
        if (element.TryGetProperty("op", out var opElement))
        {
            if (opElement.ValueKind != JsonValueKind.String)
            {
                errors.Add(new FieldError(Join(path, "op"), "expected one of \"identify\", \"link\", \"unlink\""));
                return null;
            }
            op = opElement.GetString();
        }
        switch (op)
        {
            case "identify":
                CheckFields(element, path, IdentifyFields, errors);
                var identify = ReadIdentifyBody(element, path, errors, withProperties: true);
                return identify is null ? null : new GraphOperation.IdentifyOp(identify);
            case "link":
            case "unlink":
                CheckFields(element, path, LinkFields, errors);
                var from = ReadRequiredIdentifier(element, path, "from", errors);
                var into = ReadRequiredIdentifier(element, path, "into", errors);
                if (from is null || into is null)
                {
                    return null;
                }
                if (from.Identifier == into.Identifier)
                {
                    errors.Add(new FieldError(Join(path, "into"), "must name another identifier than 'from'"));
                    return null;
                }
                return op == "link" ? new GraphOperation.LinkOp(new LinkCommand(from, into)) : new GraphOperation.UnlinkOp(new UnlinkCommand(from, into));
            case "track" when allowTrack:
                try
                {
                    return new GraphOperation.TrackOp(ReadTrack(element, path, allowOp: true));
                }
                catch (RequestValidationException e)
                {
                    errors.AddRange(e.Errors);
                    return null;
                }
            case null:
                errors.Add(new FieldError(Join(path, "op"), "is required: one of \"identify\", \"link\", \"unlink\""));
                return null;
            default:
                errors.Add(new FieldError(Join(path, "op"), $"unknown operation '{op}'; expected one of \"identify\", \"link\", \"unlink\""));
                return null;
        }
    }

    private IdentifyCommand? ReadIdentifyBody(JsonElement element, string path, List<FieldError> errors, bool withProperties)
    {
        var start = errors.Count;
        IdentifierInput? userId = null;
        if (element.TryGetProperty("user_id", out var userIdElement) && userIdElement.ValueKind != JsonValueKind.Null)
        {
            if (userIdElement.ValueKind != JsonValueKind.String)
            {
                errors.Add(new FieldError(Join(path, "user_id"), $"expected a string, got {Describe(userIdElement)}"));
            }
            else
            {
                userId = Normalize(IdentifierTypes.UserId, userIdElement.GetString(), null, null, Join(path, "user_id"), errors, valueIsField: true);
            }
        }
        var others = new List<IdentifierInput>();
        if (element.TryGetProperty("identifiers", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                errors.Add(new FieldError(Join(path, "identifiers"), $"expected an array, got {Describe(list)}"));
            }
            else if (list.GetArrayLength() > MaxIdentifiers)
            {
                errors.Add(new FieldError(Join(path, "identifiers"), $"holds {list.GetArrayLength()} identifiers; at most {MaxIdentifiers} are allowed"));
            }
            else
            {
                var i = 0;
                foreach (var item in list.EnumerateArray())
                {
                    var input = ReadIdentifier(item, $"{Join(path, "identifiers")}[{i++}]", errors);
                    if (input is not null && others.All(o => o.Identifier != input.Identifier) && input.Identifier != userId?.Identifier)
                    {
                        others.Add(input);
                    }
                }
            }
        }
        var set = withProperties ? ReadProperties(element, path, "properties", errors) : [];
        var setOnce = withProperties ? ReadProperties(element, path, "set_once", errors) : [];
        var unset = new List<string>();
        if (withProperties && element.TryGetProperty("unset", out var unsetElement) && unsetElement.ValueKind != JsonValueKind.Null)
        {
            if (unsetElement.ValueKind != JsonValueKind.Array)
            {
                errors.Add(new FieldError(Join(path, "unset"), $"expected an array of property names, got {Describe(unsetElement)}"));
            }
            else
            {
                var i = 0;
                foreach (var item in unsetElement.EnumerateArray())
                {
                    var field = $"{Join(path, "unset")}[{i++}]";
                    if (item.ValueKind != JsonValueKind.String || !ValidKey(item.GetString()!, field, errors))
                    {
                        if (item.ValueKind != JsonValueKind.String)
                        {
                            errors.Add(new FieldError(field, $"expected a property name, got {Describe(item)}"));
                        }
                        continue;
                    }
                    unset.Add(item.GetString()!);
                }
            }
        }
        if (errors.Count > start)
        {
            return null;
        }
        IdentifierInput primary;
        if (userId is not null)
        {
            primary = userId;
        }
        else if (others.Count > 0)
        {
            primary = others[0];
            others.RemoveAt(0);
        }
        else
        {
            errors.Add(new FieldError(Join(path, "user_id"), "is required unless 'identifiers' names at least one identifier"));
            return null;
        }
        foreach (var key in set.Keys.Intersect(setOnce.Keys).Concat(set.Keys.Intersect(unset)).Concat(setOnce.Keys.Intersect(unset)))
        {
            errors.Add(new FieldError(Join(path, "properties"), $"property '{key}' is written twice in one request (properties, set_once, unset)"));
            return null;
        }
        return new IdentifyCommand(primary, others, set, setOnce, unset);
    }

    private Dictionary<string, PropertyValue> ReadProperties(JsonElement element, string path, string name, List<FieldError> errors)
    {
        var result = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        if (!element.TryGetProperty(name, out var properties) || properties.ValueKind == JsonValueKind.Null)
        {
            return result;
        }
        var field = Join(path, name);
        if (properties.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError(field, $"expected an object of property names and values, got {Describe(properties)}"));
            return result;
        }
        foreach (var property in properties.EnumerateObject())
        {
            var keyField = $"{field}.{property.Name}";
            if (!ValidKey(property.Name, keyField, errors))
            {
                continue;
            }
            if (result.ContainsKey(property.Name))
            {
                errors.Add(new FieldError(keyField, "appears twice"));
                continue;
            }
            if (result.Count == MaxProperties)
            {
                errors.Add(new FieldError(field, $"at most {MaxProperties} properties in one request"));
                break;
            }
            var value = PropertyValue.TryFrom(property.Value, out var error);
            if (value is null)
            {
                errors.Add(new FieldError(keyField, error!));
                continue;
            }
            result[property.Name] = value;
        }
        return result;
    }

    private IdentifierInput? ReadRequiredIdentifier(JsonElement element, string path, string name, List<FieldError> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            errors.Add(new FieldError(Join(path, name), "is required: an identifier such as {\"type\":\"user_id\",\"value\":\"u1\"}"));
            return null;
        }
        return ReadIdentifier(value, Join(path, name), errors);
    }

    private IdentifierInput? ReadIdentifier(JsonElement element, string path, List<FieldError> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError(path, $"expected an identifier object {{\"type\":..,\"value\":..}}, got {Describe(element)}"));
            return null;
        }
        string? type = null, value = null, label = null, name = null;
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                errors.Add(new FieldError($"{path}.{property.Name}", $"expected a string, got {Describe(property.Value)}"));
                return null;
            }
            switch (property.Name)
            {
                case "type": type = property.Value.GetString(); break;
                case "value": value = property.Value.GetString(); break;
                case "label": label = property.Value.GetString(); break;
                case "name": name = property.Value.GetString(); break;
                default:
                    errors.Add(new FieldError($"{path}.{property.Name}", "unknown field; an identifier has 'type' and 'value' (an alias: 'label' and 'name')"));
                    return null;
            }
        }
        return Normalize(type, value, label, name, path, errors);
    }

    private IdentifierInput? Normalize(string? type, string? value, string? label, string? name, string path, List<FieldError> errors, bool valueIsField = false)
    {
        string Field(string part) => valueIsField ? path : Join(path, part);
        if (string.IsNullOrEmpty(type))
        {
            errors.Add(new FieldError(Field("type"), "is required"));
            return null;
        }
        Identifier? identifier;
        string? error;
        string display;
        if (type == IdentifierTypes.Alias)
        {
            if (label is null || name is null)
            {
                errors.Add(new FieldError(Field(label is null ? "label" : "name"), "is required for an alias"));
                return null;
            }
            identifier = IdentifierNormalizer.TryNormalizeAlias(label, name, out error);
            display = $"{label}/{name}";
        }
        else
        {
            if (value is null)
            {
                errors.Add(new FieldError(Field("value"), "is required"));
                return null;
            }
            identifier = IdentifierNormalizer.TryNormalize(type, value, settings, out error);
            display = value;
        }
        if (identifier is null)
        {
            errors.Add(new FieldError(settings.IsKnownType(type) ? Field("value") : Field("type"), error!));
            return null;
        }
        return new IdentifierInput(identifier, display, path);
    }

    private static bool ValidKey(string key, string field, List<FieldError> errors)
    {
        if (key.Length is 0 or > PropertyValue.MaxKeyLength || key.Contains('\0', StringComparison.Ordinal))
        {
            errors.Add(new FieldError(field, $"a property name must be 1 to {PropertyValue.MaxKeyLength} characters without NUL"));
            return false;
        }
        return true;
    }

    private static void CheckFields(JsonElement element, string path, string[] allowed, List<FieldError> errors)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (!allowed.Contains(property.Name, StringComparer.Ordinal))
            {
                errors.Add(new FieldError(Join(path, property.Name), $"unknown field; expected {string.Join(", ", allowed.Skip(1))}"));
            }
        }
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Root(string path) => path.Length == 0 ? "(body)" : path;

    private static string Describe(JsonElement element) => JsonText.Describe(element.ValueKind);
}
