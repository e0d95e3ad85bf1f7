using PhoneNumbers;

namespace Selfsame.Graph;

/// <summary>Turns what a client sent into an <see cref="Identifier"/>, or says why it cannot.</summary>
public static class IdentifierNormalizer
{
    public const int MaxValueLength = 1024;

    /// <summary>At most this many UTF-8 bytes, so that an identifier fits any store's index (PostgreSQL's holds about 2,700).</summary>
    public const int MaxValueBytes = 2048;

    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    /// <summary>
    /// Normalizes a (type, value) pair. Returns null and an error message when the pair is not acceptable
    /// for the project (unknown type, empty or oversized value, malformed email).
    /// </summary>
    public static Identifier? TryNormalize(string type, string value, ProjectSettings settings, out string? error)
    {
        error = null;
        if (!settings.IsKnownType(type))
        {
            error = $"unknown identifier type '{type}'; built-in types are {string.Join(", ", IdentifierTypes.BuiltIn.Order(StringComparer.Ordinal))}" +
                    (settings.IdentifierTypes.Count > 0 ? $", and this project declares {string.Join(", ", settings.IdentifierTypes)}" : "");
            return null;
        }
        if (type == IdentifierTypes.Alias)
        {
            error = "an alias needs 'label' and 'name' rather than 'value'";
            return null;
        }
        if (!CheckValue(value, "value", out error))
        {
            return null;
        }
        switch (type)
        {
            case IdentifierTypes.Email:
                var email = value.Trim().ToLowerInvariant();
                var at = email.IndexOf('@', StringComparison.Ordinal);
                if (at <= 0 || at == email.Length - 1)
                {
                    error = $"'{value}' is not an email address";
                    return null;
                }
                return new Identifier(type, email);
            case IdentifierTypes.Phone:
                return new Identifier(type, NormalizePhone(value, settings.PhoneRegion));
            default:
                return new Identifier(type, value);
        }
    }

    public static Identifier? TryNormalizeAlias(string label, string name, out string? error)
    {
        if (!CheckValue(label, "label", out error) || !CheckValue(name, "name", out error))
        {
            return null;
        }
        if (label.Contains(Identifier.AliasSeparator, StringComparison.Ordinal) || name.Contains(Identifier.AliasSeparator, StringComparison.Ordinal))
        {
            error = "an alias label or name may not contain the control character U+001F";
            return null;
        }
        return Identifier.Alias(label, name);
    }

    /// <summary>E.164 where the number parses (with the project's default region for numbers without '+'), else the digits as sent.</summary>
    public static string NormalizePhone(string value, string? region)
    {
        var trimmed = value.Trim();
        try
        {
            var parsed = Phones.Parse(trimmed, region ?? "ZZ");
            if (Phones.IsPossibleNumber(parsed))
            {
                return Phones.Format(parsed, PhoneNumberFormat.E164);
            }
        }
        catch (NumberParseException)
        {
            // Not a number libphonenumber understands: keep what was sent, without blanks.
        }
        return string.Concat(trimmed.Where(c => !char.IsWhiteSpace(c)));
    }

    private static bool CheckValue(string value, string field, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = $"'{field}' must not be empty";
            return false;
        }
        if (value.Length > MaxValueLength)
        {
            error = $"'{field}' is longer than {MaxValueLength} characters";
            return false;
        }
        if (System.Text.Encoding.UTF8.GetByteCount(value) > MaxValueBytes)
        {
            error = $"'{field}' is longer than {MaxValueBytes} bytes in UTF-8";
            return false;
        }
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            error = $"'{field}' must not contain a NUL character";
            return false;
        }
        return true;
    }
}
