using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Storage;

namespace Selfsame.Server.Native;

// The shapes of the native API, as documented in the OpenAPI document. Property names go out in snake_case.

public sealed record IdentifierRequest(string Type, string? Value, string? Label, string? Name);

public sealed record IdentifyRequest(
    string? UserId,
    IReadOnlyList<IdentifierRequest>? Identifiers,
    IReadOnlyDictionary<string, JsonElement>? Properties,
    IReadOnlyDictionary<string, JsonElement>? SetOnce,
    IReadOnlyList<string>? Unset);

public sealed record LinkRequest(IdentifierRequest From, IdentifierRequest Into);

public sealed record BatchRequest(IReadOnlyList<JsonElement> Operations);

public sealed record IdentifierDto(string Type, string Value, string? Label, string? Name, string? Display, long? RecordId)
{
    public static IdentifierDto Of(Identifier identifier) => Of(identifier, null, null);

    public static IdentifierDto Of(StoredIdentifier stored) => Of(stored.Identifier, stored.Display, stored.Record.Value);

    private static IdentifierDto Of(Identifier identifier, string? display, long? record)
    {
        var alias = identifier.AliasParts;
        return alias is { } parts
            ? new IdentifierDto(identifier.Type, $"{parts.Label}/{parts.Name}", parts.Label, parts.Name, display, record)
            : new IdentifierDto(identifier.Type, identifier.Value, null, null, display, record);
    }
}

public sealed record MergeDto(long MergedProfileId, long RecordId, IdentifierDto Via, long LinkId);

/// <summary>An identifier a write left out: why, by which rule, and the review entry it was recorded as (held: waiting for a decision).</summary>
public sealed record RefusalDto(IdentifierDto Identifier, string Field, string Reason, string Rule, long ReviewId, string Status)
{
    public static RefusalDto Of(Refusal r) => new(IdentifierDto.Of(r.Identifier), r.Field, r.Reason, r.Rule, r.Review.Id, Guardrails.ReviewStatuses.Name(r.Review.Status));
}

public sealed record IdentifyResponse(
    long ProfileId,
    long RecordId,
    bool Created,
    IReadOnlyList<IdentifierDto> Attached,
    IReadOnlyList<MergeDto> Merged,
    IReadOnlyList<RefusalDto> Refused)
{
    public static IdentifyResponse Of(IdentifyResult r) => new(
        r.Profile.Value, r.Record.Value, r.Created,
        r.Attached.Select(IdentifierDto.Of).ToList(),
        r.Merged.Select(m => new MergeDto(m.MergedProfile.Value, m.Record.Value, IdentifierDto.Of(m.Via), m.Link.Value)).ToList(),
        r.Refused.Select(RefusalDto.Of).ToList());
}

public sealed record LinkDto(long LinkId, long FromRecordId, long IntoRecordId, string Kind, bool Explicit, string Surface, DateTimeOffset CreatedAt, string? RequestId)
{
    public static LinkDto Of(Link l) => new(l.Id.Value, l.From.Value, l.Into.Value, l.Kind, l.IsExplicit, l.Surface, l.CreatedAt, l.RequestId);
}

public sealed record LinkResponse(
    long ProfileId,
    long FromRecordId,
    long IntoRecordId,
    LinkDto? Link,
    IReadOnlyList<long> CreatedRecordIds,
    IReadOnlyList<long> MergedProfileIds,
    bool AlreadyJoined)
{
    public static LinkResponse Of(LinkResult r) => new(
        r.Profile.Value, r.From.Value, r.Into.Value, r.Link is null ? null : LinkDto.Of(r.Link),
        r.CreatedRecords.Select(x => x.Value).ToList(), r.MergedProfiles.Select(x => x.Value).ToList(), r.AlreadyJoined);
}

public sealed record UnlinkResponse(IReadOnlyList<LinkDto> RemovedLinks, long FromProfileId, long IntoProfileId, bool StillJoined)
{
    public static UnlinkResponse Of(UnlinkResult r) =>
        new(r.Removed.Select(LinkDto.Of).ToList(), r.FromProfile.Value, r.IntoProfile.Value, r.StillJoined);
}

public sealed record ResolveResponse(long ProfileId, long RecordId, IReadOnlyList<IdentifierDto> Identifiers, IReadOnlyList<long> RecordIds)
{
    public static ResolveResponse Of(Resolution r) =>
        new(r.Profile.Value, r.Record.Value, r.Identifiers.Select(IdentifierDto.Of).ToList(), r.Records.Select(x => x.Value).ToList());
}

public sealed record PropertyDto(JsonElement Value, string Type, long RecordId, DateTimeOffset UpdatedAt)
{
    public static PropertyDto Of(PropertyValue value, RecordId record, DateTimeOffset updatedAt)
    {
        using var document = JsonDocument.Parse(value.Json);
        return new PropertyDto(document.RootElement.Clone(), PropertyValue.TypeName(value.Type), record.Value, updatedAt);
    }
}

public sealed record RecordDto(
    long RecordId,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastSeenAt,
    IReadOnlyList<IdentifierDto> Identifiers,
    IReadOnlyDictionary<string, PropertyDto> Properties);

public sealed record ProfileResponse(
    long ProfileId,
    IReadOnlyList<IdentifierDto> Identifiers,
    IReadOnlyDictionary<string, PropertyDto> Properties,
    IReadOnlyList<RecordDto> Records,
    IReadOnlyList<LinkDto> Links)
{
    public static ProfileResponse Of(ProfileView view) => new(
        view.Id.Value,
        view.Records.SelectMany(r => r.Identifiers).Select(IdentifierDto.Of).ToList(),
        view.Properties.ToDictionary(p => p.Key, p => PropertyDto.Of(p.Value, p.Record, p.UpdatedAt), StringComparer.Ordinal),
        view.Records.Select(r => new RecordDto(
            r.Record.Id.Value, r.Record.CreatedAt, r.Record.LastSeenAt,
            r.Identifiers.Select(IdentifierDto.Of).ToList(),
            r.Properties.ToDictionary(p => p.Key, p => PropertyDto.Of(p.Value, p.Record, p.UpdatedAt), StringComparer.Ordinal))).ToList(),
        view.Links.Select(LinkDto.Of).ToList());
}

public sealed record ExplainEnd(IdentifierDto Identifier, long RecordId, long ProfileId);

/// <summary>A link of the path; for one approved from the review queue, the entry and the key that approved it.</summary>
public sealed record ExplainStep(LinkDto Link, IReadOnlyList<IdentifierDto> FromIdentifiers, IReadOnlyList<IdentifierDto> IntoIdentifiers, ApprovalDto? Approval = null);

public sealed record ApprovalDto(long ReviewId, string Rule, string? ApprovedByKey, DateTimeOffset? ApprovedAt, string? RequestId);

public sealed record ExplainResponse(bool Joined, ExplainEnd From, ExplainEnd To, IReadOnlyList<ExplainStep> Path, string Summary)
{
    public static ExplainResponse Of(Explanation e)
    {
        IReadOnlyList<IdentifierDto> Ids(RecordId r) =>
            e.RecordIdentifiers.TryGetValue(r, out var list) ? list.Select(IdentifierDto.Of).ToList() : [];
        var steps = e.Path.Select(l => new ExplainStep(LinkDto.Of(l), Ids(l.From), Ids(l.Into),
            e.Approvals.TryGetValue(l.Id, out var r) ? new ApprovalDto(r.Id, r.Rule, r.DecidedByKey, r.DecidedAt, r.DecisionRequestId) : null)).ToList();
        var summary = !e.Joined
            ? $"{e.From.Identifier} and {e.To.Identifier} are different profiles ({e.FromProfile} and {e.ToProfile})"
            : e.Path.Count == 0
                ? $"{e.From.Identifier} and {e.To.Identifier} are on the same record {e.From.Record}"
                : $"{e.From.Identifier} and {e.To.Identifier} are joined in profile {e.FromProfile} by {e.Path.Count} link(s): " +
                  string.Join(", ", e.Path.Select(l => $"record {l.From} -> record {l.Into} ({l.Kind} via {l.Surface}, {l.CreatedAt:u}" +
                      (e.Approvals.TryGetValue(l.Id, out var r) ? $", review entry {r.Id} approved by key {r.DecidedByKey ?? "(none)"}" : "") + ")"));
        return new ExplainResponse(e.Joined,
            new ExplainEnd(IdentifierDto.Of(e.From), e.From.Record.Value, e.FromProfile.Value),
            new ExplainEnd(IdentifierDto.Of(e.To), e.To.Record.Value, e.ToProfile.Value),
            steps, summary);
    }
}

public sealed record DeleteResponse(IReadOnlyList<long> DeletedRecordIds, IReadOnlyList<long> RemainingProfileIds, int SuppressedIdentifiers)
{
    public static DeleteResponse Of(DeleteResult r) =>
        new(r.DeletedRecords.Select(x => x.Value).ToList(), r.RemainingProfiles.Select(x => x.Value).ToList(), r.Suppressed);
}

public sealed record BatchResult(int Index, string Op, bool Ok, object? Result, object? Error);

public sealed record BatchResponse(int Applied, int Failed, IReadOnlyList<BatchResult> Results);
