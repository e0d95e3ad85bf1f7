using System.Text.Json;
using System.Text.Json.Serialization;
using Selfsame.Graph;
using Selfsame.Guardrails;

namespace Selfsame;

/// <summary>
/// Per-project settings: merge protection, the project's own identifier types, the default phone region.
/// Stored as JSON with the project.
/// </summary>
public sealed record ProjectSettings
{
    public const int DefaultMaxRecordsPerProfile = 1000;

    /// <summary>Most identifiers of a type that one profile may hold through implicit merges.</summary>
    [JsonPropertyName("max_per_type")]
    public IReadOnlyDictionary<string, int> MaxPerType { get; init; } = new Dictionary<string, int> { [Graph.IdentifierTypes.UserId] = 1 };

    /// <summary>Most records one profile may hold, explicit links included.</summary>
    [JsonPropertyName("max_records")]
    public int MaxRecords { get; init; } = DefaultMaxRecordsPerProfile;

    /// <summary>Identifier types this project declares beside the built-in ones.</summary>
    [JsonPropertyName("identifier_types")]
    public IReadOnlyList<string> IdentifierTypes { get; init; } = [];

    /// <summary>ISO 3166 region used to read phone numbers written without a '+' country code (null: none).</summary>
    [JsonPropertyName("phone_region")]
    public string? PhoneRegion { get; init; }

    /// <summary>Records not seen for this many days are deleted by the retention sweep (null: never).</summary>
    [JsonPropertyName("retention_days")]
    public int? RetentionDays { get; init; }

    /// <summary>Days the change feed keeps a change (docs/changes.md); older ones are removed by the retention sweep.</summary>
    [JsonPropertyName("change_retention_days")]
    public int ChangeRetentionDays { get; init; } = DefaultChangeRetentionDays;

    public const int DefaultChangeRetentionDays = 30;

    /// <summary>
    /// Attributes that name identifiers, in order of precedence (a vendor surface that resolves users by attributes, such as
    /// MoEngage's identity resolution, reads them); empty: none.
    /// </summary>
    [JsonPropertyName("identity_attributes")]
    public IReadOnlyList<IdentityAttribute> IdentityAttributes { get; init; } = [];

    /// <summary>
    /// Resolves users by identifier attributes (MoEngage's identity resolution): with <see cref="IdentityAttributes"/> empty,
    /// by <see cref="StandardIdentityAttributes"/>. Naming identity attributes turns it on too.
    /// </summary>
    [JsonPropertyName("identity_resolution")]
    public bool IdentityResolution { get; init; }

    /// <summary>The identifier attributes identity resolution uses when the project names none: a mobile number, then an email.</summary>
    public static IReadOnlyList<IdentityAttribute> StandardIdentityAttributes { get; } =
        [new("moe_mobile", Graph.IdentifierTypes.Phone), new("moe_email", Graph.IdentifierTypes.Email)];

    /// <summary>The identifier attributes in force: the project's own, else the standard ones when identity resolution is on, else none.</summary>
    [JsonIgnore]
    public IReadOnlyList<IdentityAttribute> ActiveIdentityAttributes =>
        IdentityAttributes.Count > 0 ? IdentityAttributes : IdentityResolution ? StandardIdentityAttributes : [];

    /// <summary>The project's junk identifiers beside the built-in ones, and the built-in entries it switches off.</summary>
    [JsonPropertyName("deny_list")]
    public DenyListSettings DenyList { get; init; } = new();

    /// <summary>
    /// What a refusal of each rule of merge protection does (<see cref="ReviewRules"/>): refuse (the default), hold for
    /// review, or allow. <c>max_per_type</c> stands for every type; <c>max_per_type.&lt;type&gt;</c> for one, and wins.
    /// </summary>
    [JsonPropertyName("review")]
    public IReadOnlyDictionary<string, ReviewAction> Review { get; init; } = new Dictionary<string, ReviewAction>();

    public static ProjectSettings Default { get; } = new();

    public ReviewAction ActionFor(string rule) =>
        Review.Count == 0 ? ReviewAction.Refuse
        : Review.TryGetValue(rule, out var action) ? action
        : rule.StartsWith(ReviewRules.MaxPerType + ".", StringComparison.Ordinal) && Review.TryGetValue(ReviewRules.MaxPerType, out var all) ? all
        : ReviewAction.Refuse;

    public bool IsKnownType(string type) =>
        Graph.IdentifierTypes.BuiltIn.Contains(type) || IdentifierTypes.Contains(type, StringComparer.Ordinal);

    public int? LimitFor(string type) => MaxPerType.TryGetValue(type, out var max) ? max : null;

    public string ToJson() => JsonSerializer.Serialize(this);

    public static ProjectSettings FromJson(string json) => JsonSerializer.Deserialize<ProjectSettings>(json) ?? Default;

    /// <summary>Checks the settings; returns a message naming the bad field, or null.</summary>
    public string? Validate()
    {
        if (MaxPerType is null || IdentifierTypes is null || IdentifierTypes.Any(t => t is null))
        {
            return $"{(MaxPerType is null ? "max_per_type" : "identifier_types")}: must not be null or hold null";
        }
        if (RetentionDays is < 1 or > 36_500)
        {
            return "retention_days must be between 1 and 36500, or null for no retention";
        }
        if (ChangeRetentionDays is < 1 or > 36_500)
        {
            return "change_retention_days must be between 1 and 36500";
        }
        if (MaxRecords is < 2 or > 100_000)
        {
            return "max_records must be between 2 and 100000";
        }
        foreach (var (type, max) in MaxPerType)
        {
            if (max < 1)
            {
                return $"max_per_type.{type} must be at least 1";
            }
            if (!IsKnownType(type))
            {
                return $"max_per_type.{type}: unknown identifier type";
            }
        }
        foreach (var type in IdentifierTypes)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(type, "^[a-z][a-z0-9_]{0,39}$"))
            {
                return $"identifier_types: '{type}' must be 1 to 40 lowercase letters, digits or '_', starting with a letter";
            }
            if (Graph.IdentifierTypes.BuiltIn.Contains(type))
            {
                return $"identifier_types: '{type}' is built in already";
            }
        }
        if (IdentityAttributes is null || IdentityAttributes.Any(a => a is null))
        {
            return "identity_attributes: must not be null or hold null";
        }
        for (var i = 0; i < IdentityAttributes.Count; i++)
        {
            var (attribute, type) = (IdentityAttributes[i].Attribute, IdentityAttributes[i].Type);
            if (attribute is null || attribute.Length is 0 or > 200 || attribute is "id" or "_id")
            {
                return $"identity_attributes[{i}].attribute must be 1 to 200 characters, not id or _id";
            }
            if (type is null || type == Graph.IdentifierTypes.Alias || !IsKnownType(type))
            {
                return $"identity_attributes[{i}].type: '{type}' is not an identifier type of this project (an alias cannot be one)";
            }
            if (IdentityAttributes.Take(i).Any(a => a.Attribute == attribute))
            {
                return $"identity_attributes[{i}].attribute: '{attribute}' is listed twice";
            }
        }
        if (DenyList is null || Review is null)
        {
            return $"{(DenyList is null ? "deny_list" : "review")}: must not be null";
        }
        if (DenyList.Validate(this) is { } denyError)
        {
            return denyError;
        }
        foreach (var rule in Review.Keys)
        {
            if (!ReviewRules.IsSettable(rule, this))
            {
                return $"review.{rule}: not a rule of merge protection; they are max_per_type, max_per_type.<type>, max_records, identified_user and one_alias_per_label (deny-list entries are switched off in deny_list.builtin_off)";
            }
        }
        if (PhoneRegion is not null && !PhoneNumbers.PhoneNumberUtil.GetInstance().GetSupportedRegions().Contains(PhoneRegion))
        {
            return $"phone_region: '{PhoneRegion}' is not a region code such as US or DE";
        }
        return null;
    }
}

/// <summary>An attribute whose value is an identifier of <see cref="Type"/>.</summary>
public sealed record IdentityAttribute(
    [property: JsonPropertyName("attribute")] string Attribute,
    [property: JsonPropertyName("type")] string Type);

public sealed record Project(ProjectId Id, string Name, DateTimeOffset CreatedAt, ProjectSettings Settings);
