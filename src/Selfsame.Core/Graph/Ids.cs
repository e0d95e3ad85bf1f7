using System.Text.RegularExpressions;

namespace Selfsame.Graph;

/// <summary>A project (tenant) id: a short lowercase slug such as <c>default</c>.</summary>
public readonly partial record struct ProjectId
{
    public string Value { get; }

    private ProjectId(string value) => Value = value;

    public static ProjectId Default { get; } = new("default");

    public static bool TryParse(string? text, out ProjectId id)
    {
        if (text is not null && SlugPattern().IsMatch(text))
        {
            id = new ProjectId(text);
            return true;
        }
        id = default;
        return false;
    }

    public static ProjectId Parse(string text) =>
        TryParse(text, out var id)
            ? id
            : throw new ArgumentException($"'{text}' is not a project id: use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit.", nameof(text));

    public override string ToString() => Value;

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,39}$")]
    private static partial Regex SlugPattern();
}

/// <summary>The stable numeric id of a user record.</summary>
public readonly record struct RecordId(long Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The numeric id of a profile: the id of the profile's root record (see docs/identity-model.md).</summary>
public readonly record struct ProfileId(long Value)
{
    public static ProfileId Of(RecordId root) => new(root.Value);
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public readonly record struct LinkId(long Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
