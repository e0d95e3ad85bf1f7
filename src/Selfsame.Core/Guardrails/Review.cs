using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Selfsame.Graph;

namespace Selfsame.Guardrails;

/// <summary>The rules whose refusals are recorded, by the names that settings, answers and the review queue use.</summary>
public static class ReviewRules
{
    /// <summary>A profile would hold more identifiers of a type than <c>max_per_type</c> allows: <c>max_per_type.&lt;type&gt;</c>.</summary>
    public const string MaxPerType = "max_per_type";

    /// <summary>A profile would hold more records than <c>max_records</c> allows.</summary>
    public const string MaxRecords = "max_records";

    /// <summary>An anonymous user's identifier belongs to an identified user already (identify-anonymous, link-record rules).</summary>
    public const string IdentifiedUser = "identified_user";

    /// <summary>A user would hold two aliases of one label (Braze's rule).</summary>
    public const string OneAliasPerLabel = "one_alias_per_label";

    /// <summary>A value suppressed by a detach or a delete with <c>suppress=true</c>.</summary>
    public const string Suppressed = "suppressed";

    public static string PerType(string type) => $"{MaxPerType}.{type}";

    /// <summary>Whether a settings key names a rule whose action may be set: a rule of merge protection, never a deny-list rule.</summary>
    public static bool IsSettable(string rule, ProjectSettings settings) =>
        rule is MaxPerType or MaxRecords or IdentifiedUser or OneAliasPerLabel
        || (rule.StartsWith(MaxPerType + ".", StringComparison.Ordinal) && settings.IsKnownType(rule[(MaxPerType.Length + 1)..]));

    /// <summary>Whether an entry of the rule may be approved as a link: a drop of a junk or suppressed value may not.</summary>
    public static bool IsMerge(string rule) => !rule.StartsWith("deny_list", StringComparison.Ordinal) && rule != Suppressed;
}

/// <summary>What a refusal of a rule does: recorded as refused (the default), recorded as held for review, or not a refusal at all.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReviewAction>))]
public enum ReviewAction
{
    [JsonStringEnumMemberName("refuse")] Refuse,
    [JsonStringEnumMemberName("hold")] Hold,
    [JsonStringEnumMemberName("allow")] Allow,
}

public enum ReviewStatus
{
    Refused,
    Held,
    Approved,
    Rejected,
}

public static class ReviewStatuses
{
    public static string Name(ReviewStatus status) => status switch
    {
        ReviewStatus.Refused => "refused",
        ReviewStatus.Held => "held",
        ReviewStatus.Approved => "approved",
        _ => "rejected",
    };

    public static ReviewStatus? Parse(string? name) => name switch
    {
        "refused" => ReviewStatus.Refused,
        "held" => ReviewStatus.Held,
        "approved" => ReviewStatus.Approved,
        "rejected" => ReviewStatus.Rejected,
        _ => null,
    };
}

/// <summary>
/// One side of a refusal: the record and profile it stood for when it was refused, and the identifier that named it (null
/// once its record was deleted: an entry keeps no value of a deleted record). A dropped identifier has no record.
/// </summary>
public sealed record ReviewSide(Identifier? Identifier, string? Display, RecordId? Record, ProfileId? Profile)
{
    public static ReviewSide Of(IdentifierInput input, RecordId? record, ProfileId? profile) => new(input.Identifier, input.Display, record, profile);
}

/// <summary>A refusal as a rule hands it over to be recorded: side A is the request's own user, side B the other side.</summary>
public sealed record RefusalEntry(string Rule, string Reason, string Field, ReviewSide A, ReviewSide B, ReviewStatus Status)
{
    /// <summary>
    /// What makes two refusals the same: the rule and both sides, each by its record where it has one (a user is the same
    /// user whichever identifier named it), else by its identifier. Hashed, so the key holds no value.
    /// </summary>
    public string Key
    {
        get
        {
            static string Side(ReviewSide s) => s.Record is { } r ? $"r{r.Value}" : $"i{s.Identifier?.Type}\u001f{s.Identifier?.Value}";
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{Rule}\n{Side(A)}\n{Side(B)}")));
        }
    }
}

/// <summary>The entry a refusal was recorded as.</summary>
public sealed record ReviewRef(long Id, ReviewStatus Status);

/// <summary>An entry of the review queue: a refusal, how often it came, and the decision on it.</summary>
public sealed record ReviewEntry(
    long Id,
    string Rule,
    ReviewStatus Status,
    string Reason,
    string Field,
    ReviewSide A,
    ReviewSide B,
    string Surface,
    string? KeyId,
    string? RequestId,
    DateTimeOffset FirstAt,
    DateTimeOffset LastAt,
    long Count,
    DateTimeOffset? DecidedAt,
    string? DecidedByKey,
    string? DecisionRequestId,
    LinkId? Link);

/// <summary>A page of the queue: newest first, before <see cref="Before"/> when given, filtered by what is not null.</summary>
public sealed record ReviewQuery(ReviewStatus? Status, string? Rule, ProfileId? Profile, Identifier? Identifier, long? Before, int Limit);

/// <summary>Suppressed values are kept as a SHA-256 of the normalized value: the list that stops a value coming back holds no value.</summary>
public static class Suppressions
{
    public static byte[] Hash(Identifier identifier) => SHA256.HashData(Encoding.UTF8.GetBytes(identifier.Value));
}
