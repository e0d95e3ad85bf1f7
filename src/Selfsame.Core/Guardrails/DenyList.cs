using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using PhoneNumbers;
using Selfsame.Graph;

namespace Selfsame.Guardrails;

/// <summary>
/// A project's additions to the built-in deny-list, and the built-in entries it switches off. Stored in the project's
/// settings as <c>deny_list</c>.
/// </summary>
public sealed record DenyListSettings
{
    /// <summary>Built-in entries switched off: an entry's id (every type) or <c>id.type</c> (that type alone).</summary>
    [JsonPropertyName("builtin_off")]
    public IReadOnlyList<string> BuiltInOff { get; init; } = [];

    /// <summary>Exact values per identifier type, compared with the value as normalized (emails lower case, phones E.164).</summary>
    [JsonPropertyName("values")]
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Values { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>Regular expressions per identifier type, matched against the normalized value in linear time.</summary>
    [JsonPropertyName("patterns")]
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Patterns { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    public const int MaxPatternsPerType = 100;
    public const int MaxPatternLength = 500;
    public const int MaxValuesPerType = 10_000;

    /// <summary>The same entries with each value normalized as an identifier of its type (emails lower case, phones E.164), duplicates once.</summary>
    public DenyListSettings Normalized(ProjectSettings settings) => this with
    {
        Values = Values.ToDictionary(v => v.Key, v => (IReadOnlyList<string>)v.Value
            .Select(value => IdentifierNormalizer.TryNormalize(v.Key, value, settings, out _)?.Value ?? value)
            .Distinct(StringComparer.Ordinal)
            .ToList()),
    };

    /// <summary>Checks the entries against the project's identifier types; returns a message naming the bad field, or null.</summary>
    public string? Validate(ProjectSettings settings)
    {
        if (BuiltInOff is null || Values is null || Patterns is null)
        {
            return "deny_list: builtin_off, values and patterns must not be null";
        }
        foreach (var off in BuiltInOff)
        {
            var (id, type) = off?.Split('.', 2) is [var a, var b] ? (a, b) : (off, null);
            if (id is null || DenyList.BuiltIn.All(e => e.Id != id))
            {
                return $"deny_list.builtin_off: '{off}' is not a built-in entry; they are {string.Join(", ", DenyList.BuiltIn.Select(e => e.Id))}";
            }
            if (type is not null && !settings.IsKnownType(type))
            {
                return $"deny_list.builtin_off: '{off}' names an identifier type this project does not have";
            }
        }
        foreach (var (type, values) in Values)
        {
            if (!settings.IsKnownType(type) || type == IdentifierTypes.Alias)
            {
                return $"deny_list.values.{type}: not an identifier type of this project (aliases have none)";
            }
            if (values is null || values.Count > MaxValuesPerType)
            {
                return $"deny_list.values.{type}: a list of at most {MaxValuesPerType} values";
            }
            for (var i = 0; i < values.Count; i++)
            {
                if (IdentifierNormalizer.TryNormalize(type, values[i] ?? "", settings, out var error) is null)
                {
                    return $"deny_list.values.{type}[{i}]: {error}";
                }
            }
        }
        foreach (var (type, patterns) in Patterns)
        {
            if (!settings.IsKnownType(type) || type == IdentifierTypes.Alias)
            {
                return $"deny_list.patterns.{type}: not an identifier type of this project (aliases have none)";
            }
            if (patterns is null || patterns.Count > MaxPatternsPerType)
            {
                return $"deny_list.patterns.{type}: a list of at most {MaxPatternsPerType} patterns";
            }
            for (var i = 0; i < patterns.Count; i++)
            {
                if (patterns[i] is not { Length: > 0 and <= MaxPatternLength } pattern)
                {
                    return $"deny_list.patterns.{type}[{i}]: 1 to {MaxPatternLength} characters";
                }
                try
                {
                    DenyList.Compile(pattern);
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException)
                {
                    return $"deny_list.patterns.{type}[{i}]: not a pattern Selfsame can match in linear time ({e.Message})";
                }
            }
        }
        return null;
    }
}

/// <summary>Why an identifier is denied: the rule (<c>deny_list.&lt;entry&gt;</c>, <c>deny_list.values</c>, <c>deny_list.patterns</c>, <c>suppressed</c>) and a sentence.</summary>
public sealed record Denial(string Rule, string Reason);

/// <summary>
/// Junk identifiers: values that many people send (placeholders, test addresses, all-zero ids) and that would join
/// strangers into one profile. A denied identifier is never attached and never merged on.
/// </summary>
public static class DenyList
{
    /// <summary>One built-in entry: an id for settings and answers, the types it applies to (null: every type but alias), a test.</summary>
    public sealed record Entry(string Id, IReadOnlyList<string>? Types, string Description, Func<Identifier, bool> Matches);

    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    private static readonly HashSet<string> PlaceholderWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "null", "undefined", "none", "nil", "0", "-1", "unknown", "anonymous", "guest", "n/a", "na", "nan", "[object object]", "(null)", "<null>",
    };

    private static readonly HashSet<string> PlaceholderEmails = new(StringComparer.Ordinal)
    {
        "test@test.com", "email@email.com", "a@a.com", "abc@abc.com", "asdf@asdf.com", "none@none.com", "no@no.com", "null@null.com",
        "noemail@noemail.com", "test@gmail.com", "name@domain.com", "user@domain.com", "email@domain.com", "xxx@xxx.com", "123@123.com",
    };

    private static readonly HashSet<string> NoReplyLocalParts = new(StringComparer.Ordinal)
    {
        "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
    };

    /// <summary>Domains reserved for examples and tests (RFC 2606, RFC 6761): no person has an address there.</summary>
    private static readonly string[] ReservedDomains = ["example.com", "example.org", "example.net"];
    private static readonly string[] ReservedSuffixes = [".example", ".test", ".invalid", ".localhost"];

    public static IReadOnlyList<Entry> BuiltIn { get; } =
    [
        new("placeholder_value", null, "a word or number that stands for no value: null, undefined, none, nil, 0, -1, unknown, anonymous, guest, n/a, na, nan, [object Object], (null), <null> (any case, blanks around ignored)",
            i => i.Value.Length <= 24 && PlaceholderWords.Contains(char.IsWhiteSpace(i.Value[0]) || char.IsWhiteSpace(i.Value[^1]) ? i.Value.Trim() : i.Value)),
        new("zero_id", null, "an id of zeros alone, with or without dashes: the all-zero UUID, and the advertising id (IDFA, AAID) a device sends when tracking is limited",
            i => i.Value.Length >= 8 && i.Value.All(c => c is '0' or '-') && i.Value.Contains('0', StringComparison.Ordinal)),
        new("placeholder_email", [IdentifierTypes.Email], "an address typed to get past a form: test@test.com, email@email.com, a@a.com, abc@abc.com, asdf@asdf.com, none@none.com, no@no.com, null@null.com, noemail@noemail.com, test@gmail.com, name@domain.com, user@domain.com, email@domain.com, xxx@xxx.com, 123@123.com",
            i => PlaceholderEmails.Contains(i.Value)),
        new("reserved_domain_email", [IdentifierTypes.Email], "an address at a domain reserved for examples and tests: example.com, example.org, example.net, and any name under .example, .test, .invalid or .localhost",
            i => IsReservedDomain(i.Value)),
        new("noreply_email", [IdentifierTypes.Email], "an address that no person reads: the local part noreply, no-reply, no_reply, donotreply, do-not-reply or do_not_reply, at any domain",
            i => i.Value.IndexOf('@', StringComparison.Ordinal) is > 0 and var at && NoReplyLocalParts.GetAlternateLookup<ReadOnlySpan<char>>().Contains(i.Value.AsSpan(0, at))),
        new("repeated_digit_phone", [IdentifierTypes.Phone], "a number whose national digits are one digit repeated, such as +1 111 111 1111 or 0000000",
            i => NationalDigits(i.Value) is { Length: >= 2 } digits && digits.All(c => c == digits[0])),
        new("short_phone", [IdentifierTypes.Phone], "a number too short to be one: shorter than its region allows (libphonenumber's possible-number check) or under 5 national digits, or fewer than 7 digits where no region is known",
            i => TooShort(i.Value)),
    ];

    private const int RegexCacheSize = 1000;
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    /// <summary>How long one project pattern may take on one value before it counts as not matching.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Why <paramref name="identifier"/> is denied in a project with <paramref name="settings"/>, or null. Project values
    /// (stored normalized: <see cref="DenyListSettings.Normalized"/>) and patterns are checked before the built-in entries,
    /// so that an answer names the project's own rule where both match.
    /// </summary>
    public static Denial? Check(Identifier identifier, ProjectSettings settings)
    {
        if (identifier.IsAlias)
        {
            return null;
        }
        var deny = settings.DenyList;
        if (deny.Values.TryGetValue(identifier.Type, out var values) && values.Count > 0 && ValueSet(values).Contains(identifier.Value))
        {
            return new Denial("deny_list.values", $"{identifier.Type} '{identifier.Value}' is on this project's deny-list (deny_list.values.{identifier.Type})");
        }
        if (deny.Patterns.TryGetValue(identifier.Type, out var patterns))
        {
            foreach (var pattern in patterns)
            {
                if (Matches(pattern, identifier.Value))
                {
                    return new Denial("deny_list.patterns", $"{identifier.Type} '{identifier.Value}' matches this project's deny-list pattern '{pattern}' (deny_list.patterns.{identifier.Type})");
                }
            }
        }
        foreach (var entry in BuiltIn)
        {
            if ((entry.Types is null || entry.Types.Contains(identifier.Type)) && !IsOff(deny, entry.Id, identifier.Type) && entry.Matches(identifier))
            {
                return new Denial($"deny_list.{entry.Id}", $"{identifier.Type} '{identifier.Value}' is a junk value that many people send (built-in entry deny_list.{entry.Id})");
            }
        }
        return null;
    }

    internal static Regex Compile(string pattern)
    {
        if (Compiled.TryGetValue(pattern, out var regex))
        {
            return regex;
        }
        regex = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, MatchTimeout);
        if (Compiled.Count >= RegexCacheSize)
        {
            Compiled.Clear();
        }
        return Compiled.GetOrAdd(pattern, regex);
    }

    private static bool Matches(string pattern, string value)
    {
        try
        {
            return Compile(pattern).IsMatch(value);
        }
        catch (RegexMatchTimeoutException)
        {
            // A value is kept rather than dropped when a pattern cannot decide in time: nothing acknowledged is lost.
            return false;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsOff(DenyListSettings deny, string id, string type) =>
        deny.BuiltInOff.Count > 0 && (deny.BuiltInOff.Contains(id, StringComparer.Ordinal) || deny.BuiltInOff.Contains($"{id}.{type}", StringComparer.Ordinal));

    private static readonly ConditionalWeakTable<IReadOnlyList<string>, HashSet<string>> ValueSets = new();

    private static HashSet<string> ValueSet(IReadOnlyList<string> values) =>
        ValueSets.GetValue(values, list => list.ToHashSet(StringComparer.Ordinal));

    private static bool IsReservedDomain(string email)
    {
        var at = email.LastIndexOf('@');
        if (at <= 0 || at == email.Length - 1)
        {
            return false;
        }
        var domain = email.AsSpan(at + 1);
        foreach (var reserved in ReservedDomains)
        {
            if (domain.SequenceEqual(reserved))
            {
                return true;
            }
        }
        foreach (var suffix in ReservedSuffixes)
        {
            if (domain.EndsWith(suffix, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The national significant number of an E.164 value; the digits as sent otherwise.</summary>
    private static string NationalDigits(string phone)
    {
        if (phone.StartsWith('+'))
        {
            try
            {
                return Phones.GetNationalSignificantNumber(Phones.Parse(phone, "ZZ"));
            }
            catch (NumberParseException)
            {
                // Not a number libphonenumber reads: look at its digits.
            }
        }
        return string.Concat(phone.Where(char.IsAsciiDigit));
    }

    private static bool TooShort(string phone)
    {
        if (phone.StartsWith('+'))
        {
            try
            {
                var parsed = Phones.Parse(phone, "ZZ");
                return Phones.IsPossibleNumberWithReason(parsed) == PhoneNumberUtil.ValidationResult.TOO_SHORT
                    || Phones.GetNationalSignificantNumber(parsed).Length < 5;
            }
            catch (NumberParseException e) when (e.ErrorType is ErrorType.TOO_SHORT_NSN or ErrorType.TOO_SHORT_AFTER_IDD)
            {
                return true;
            }
            catch (NumberParseException)
            {
                // Fall back to counting digits.
            }
        }
        return phone.Count(char.IsAsciiDigit) < 7;
    }
}
