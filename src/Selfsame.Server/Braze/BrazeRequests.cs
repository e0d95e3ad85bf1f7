using System.Text.Json;
using Selfsame.Graph;

namespace Selfsame.Server.Braze;

/// <summary>How a Braze request names a user: by external_id, user_alias, braze_id, email or phone.</summary>
internal sealed record UserRef(string Kind, Identifier? Identifier, string Display, long? BrazeId, IReadOnlyList<string> Prioritization)
{
    public const string ExternalId = "external_id";
    public const string UserAlias = "user_alias";
    public const string BrazeIdKind = "braze_id";
    public const string Email = "email";
    public const string Phone = "phone";

    public IdentifierInput Input(string field) => new(Identifier!, Display, field);

    /// <summary>
    /// The engine's look-up of this user: a braze_id is a profile id (the id of a user merged away names the user it joined);
    /// an identifier's prioritization keeps only identified or unidentified users when it names one of those; an external_id
    /// no user holds names the user whose deprecated external id it is (the former id of a renamed user), as in Braze.
    /// </summary>
    public UserLookup Lookup(string field) => BrazeId is { } id
        ? new UserLookup.ByProfileId(id, MergedIdsToo: true, field, ToString())
        : new UserLookup.ByIdentifier(Input(field), Prioritization.Contains("identified") ? Identification.Identified
            : Prioritization.Contains("unidentified") ? Identification.Unidentified : Identification.Any, ToString())
        {
            Fallback = Kind == ExternalId ? Graph.Identifier.Alias(BrazeApi.DeprecatedExternalIdLabel, Identifier!.Value) : null,
        };

    public override string ToString() => Kind switch
    {
        BrazeIdKind => $"braze_id '{BrazeId}'",
        UserAlias => $"user_alias {Identifier!.AliasParts!.Value.Label}/{Identifier.AliasParts.Value.Name}",
        _ => $"{Kind} '{Display}'",
    };
}

/// <summary>
/// Reads Braze request bodies. A malformed body (a wrong type, a missing field, too many objects) throws
/// a field error (<see cref="BrazeSurface.Invalid"/>) naming the field, before anything is written.
/// </summary>
internal sealed class BrazeReader(ProjectSettings settings)
{
    public const int MaxPerRequest = 50;
    public const int MaxTrackObjects = 75;
    public static readonly string[] Prioritizations = ["identified", "unidentified", "most_recently_updated", "least_recently_updated"];

    /// <summary>The array <paramref name="name"/> of objects; absent gives null. More than <paramref name="max"/> gives <paramref name="tooMany"/>.</summary>
    public static List<JsonElement>? Objects(JsonElement root, string name, int max, string tooMany, bool required = false)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return required ? throw BrazeSurface.Invalid($"'{name}' is required: an array of objects") : null;
        }
        if (array.ValueKind != JsonValueKind.Array || array.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Object))
        {
            throw BrazeSurface.Invalid($"'{name}' must be an array of objects");
        }
        if (array.GetArrayLength() > max)
        {
            throw BrazeSurface.Invalid(tooMany);
        }
        return [.. array.EnumerateArray()];
    }

    public static string RequiredString(JsonElement item, string name, string path, int maxLength = IdentifierNormalizer.MaxValueLength)
    {
        if (!item.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            throw BrazeSurface.Invalid($"{path}.{name} is required: a string");
        }
        return CheckText(element.GetString()!, $"{path}.{name}", maxLength);
    }

    public static string? OptionalString(JsonElement item, string name, string path)
    {
        if (!item.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return element.ValueKind == JsonValueKind.String
            ? CheckText(element.GetString()!, $"{path}.{name}", IdentifierNormalizer.MaxValueLength)
            : throw BrazeSurface.Invalid($"{path}.{name} must be a string");
    }

    public static bool? OptionalBool(JsonElement item, string name, string path) =>
        !item.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null ? null
        : element.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw BrazeSurface.Invalid($"{path}.{name} must be true or false"),
        };

    private static string CheckText(string value, string path, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > maxLength || value.Contains('\0', StringComparison.Ordinal))
        {
            throw BrazeSurface.Invalid($"{path} must be 1 to {maxLength} characters, not blank, without NUL");
        }
        return value;
    }

    public Identifier Alias(JsonElement alias, string path)
    {
        if (alias.ValueKind != JsonValueKind.Object)
        {
            throw BrazeSurface.Invalid($"{path} must be an object with alias_name and alias_label");
        }
        var name = RequiredString(alias, "alias_name", path);
        var label = RequiredString(alias, "alias_label", path);
        return IdentifierNormalizer.TryNormalizeAlias(label, name, out var error) ?? throw BrazeSurface.Invalid($"{path}: {error}");
    }

    public Identifier ExternalId(string value, string path) =>
        IdentifierNormalizer.TryNormalize(IdentifierTypes.UserId, value, settings, out var error) ?? throw BrazeSurface.Invalid($"{path}: {error}");

    public Identifier Email(string value, string path) =>
        IdentifierNormalizer.TryNormalize(IdentifierTypes.Email, value, settings, out var error) ?? throw BrazeSurface.Invalid($"{path}: {error}");

    public Identifier Phone(string value, string path) =>
        IdentifierNormalizer.TryNormalize(IdentifierTypes.Phone, value, settings, out var error) ?? throw BrazeSurface.Invalid($"{path}: {error}");

    /// <summary>
    /// The user an object names, by the first of <paramref name="kinds"/> that it carries (Braze's precedence: external_id,
    /// then user_alias, braze_id, email, phone); null when it carries none.
    /// </summary>
    public UserRef? User(JsonElement item, string path, IReadOnlyList<string> kinds, bool readPrioritization = true)
    {
        foreach (var kind in kinds)
        {
            if (!item.TryGetProperty(kind, out var element) || element.ValueKind == JsonValueKind.Null)
            {
                continue;
            }
            switch (kind)
            {
                case UserRef.UserAlias:
                    var alias = Alias(element, $"{path}.user_alias");
                    return new UserRef(kind, alias, alias.Value, null, []);
                case UserRef.BrazeIdKind:
                    var text = RequiredString(item, kind, path);
                    return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id > 0
                        ? new UserRef(kind, null, text, id, [])
                        : throw BrazeSurface.Invalid($"{path}.braze_id must be the braze_id of a user (Selfsame's profile id, digits)");
                default:
                    var value = RequiredString(item, kind, path);
                    var identifier = kind switch
                    {
                        UserRef.ExternalId => ExternalId(value, $"{path}.{kind}"),
                        UserRef.Email => Email(value, $"{path}.{kind}"),
                        _ => Phone(value, $"{path}.{kind}"),
                    };
                    return new UserRef(kind, identifier, value, null,
                        readPrioritization && kind is UserRef.Email or UserRef.Phone ? Prioritization(item, path, required: false) : []);
            }
        }
        return null;
    }

    /// <summary>Braze's prioritization array: identified and unidentified exclude each other; unknown values are refused.</summary>
    public static IReadOnlyList<string> Prioritization(JsonElement item, string path, bool required)
    {
        if (!item.TryGetProperty("prioritization", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return required ? throw BrazeSurface.Invalid($"{path}.prioritization is required: an array of {string.Join(", ", Prioritizations)}") : [];
        }
        if (element.ValueKind != JsonValueKind.Array || element.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String || !Prioritizations.Contains(e.GetString())))
        {
            throw BrazeSurface.Invalid($"{path}.prioritization must be an array of {string.Join(", ", Prioritizations)}");
        }
        var values = element.EnumerateArray().Select(e => e.GetString()!).ToList();
        if (values.Contains("identified") && values.Contains("unidentified"))
        {
            throw BrazeSurface.Invalid($"{path}.prioritization may not hold both identified and unidentified");
        }
        return values;
    }

    public static DateTimeOffset Time(JsonElement item, string path)
    {
        var text = RequiredString(item, "time", path, 64);
        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw BrazeSurface.Invalid($"{path}.time must be an ISO 8601 date-time, such as 2026-11-25T10:00:00Z");
    }

    /// <summary>An object's <c>properties</c> as JSON text ("{}" when absent).</summary>
    public static string Properties(JsonElement item, string path)
    {
        if (!item.TryGetProperty("properties", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return "{}";
        }
        return element.ValueKind == JsonValueKind.Object ? element.GetRawText() : throw BrazeSurface.Invalid($"{path}.properties must be an object");
    }
}
