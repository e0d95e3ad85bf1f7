namespace Selfsame.Graph;

/// <summary>
/// A normalized identifier: unique within a project, owned by exactly one record.
/// For the alias type the value is the label and the name joined by <see cref="Identifier.AliasSeparator"/>.
/// </summary>
public sealed record Identifier(string Type, string Value)
{
    public const char AliasSeparator = '\u001f';

    public static Identifier Alias(string label, string name) => new(IdentifierTypes.Alias, label + AliasSeparator + name);

    public bool IsAlias => Type == IdentifierTypes.Alias;

    /// <summary>For an alias, its label and name; otherwise null.</summary>
    public (string Label, string Name)? AliasParts
    {
        get
        {
            if (!IsAlias)
            {
                return null;
            }
            var cut = Value.IndexOf(AliasSeparator, StringComparison.Ordinal);
            return (Value[..cut], Value[(cut + 1)..]);
        }
    }

    public override string ToString() => IsAlias ? $"alias:{AliasParts!.Value.Label}/{AliasParts.Value.Name}" : $"{Type}:{Value}";
}

/// <summary>An identifier as stored: normalized, with the spelling that was sent.</summary>
public sealed record StoredIdentifier(Identifier Identifier, string Display, RecordId Record, DateTimeOffset CreatedAt);

public static class IdentifierTypes
{
    public const string UserId = "user_id";
    public const string Alias = "alias";
    public const string Email = "email";
    public const string Phone = "phone";
    public const string DeviceId = "device_id";
    public const string AnonymousId = "anonymous_id";

    public static IReadOnlySet<string> BuiltIn { get; } =
        new HashSet<string>(StringComparer.Ordinal) { UserId, Alias, Email, Phone, DeviceId, AnonymousId };
}
