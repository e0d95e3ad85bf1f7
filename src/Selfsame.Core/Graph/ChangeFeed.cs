using Selfsame.Guardrails;
using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>The kinds of change the feed records (docs/changes.md).</summary>
public static class ChangeKinds
{
    public const string ProfileMerged = "profile.merged";
    public const string ProfileSplit = "profile.split";
    public const string ProfileRenamed = "profile.renamed";
    public const string ProfileDeleted = "profile.deleted";
    public const string RecordDeleted = "record.deleted";
    public const string IdentifierAttached = "identifier.attached";
    public const string IdentifierDetached = "identifier.detached";
    public const string IdentifierReplaced = "identifier.replaced";
    public const string IdentifierDropped = "identifier.dropped";
    public const string ReviewApproved = "review.approved";
    public const string ReviewRejected = "review.rejected";

    public static readonly IReadOnlyList<string> All =
    [
        ProfileMerged, ProfileSplit, ProfileRenamed, ProfileDeleted, RecordDeleted,
        IdentifierAttached, IdentifierDetached, IdentifierReplaced, IdentifierDropped, ReviewApproved, ReviewRejected,
    ];
}

/// <summary>
/// Writes the changes of the feed, each where the rule makes the change and in its transaction: a change is kept if and
/// only if the write is. Unlike the audit log, a change names the identifiers' values: a downstream copy keyed by user
/// id needs them.
/// </summary>
internal static class ChangeFeed
{
    private static object Of(Identifier identifier) => new { type = identifier.Type, value = identifier.Value };

    private static void Add(IGraphTransaction tx, string kind, WriteOrigin origin, object detail) =>
        tx.AddChange(kind, origin, System.Text.Json.JsonSerializer.Serialize(detail));

    /// <summary>A buffer and writer per thread for the changes every identify makes, written without reflection or an object per change.</summary>
    [ThreadStatic]
    private static (System.Buffers.ArrayBufferWriter<byte> Buffer, System.Text.Json.Utf8JsonWriter Writer)? _json;

    private static string IdentifierChange(Identifier identifier, RecordId record, ProfileId profile, bool? suppressed)
    {
        var (buffer, writer) = _json ??= NewWriter();
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteStartObject("identifier");
        writer.WriteString("type", identifier.Type);
        writer.WriteString("value", identifier.Value);
        writer.WriteEndObject();
        writer.WriteNumber("record_id", record.Value);
        writer.WriteNumber("profile_id", profile.Value);
        if (suppressed is { } value)
        {
            writer.WriteBoolean("suppressed", value);
        }
        writer.WriteEndObject();
        writer.Flush();
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static (System.Buffers.ArrayBufferWriter<byte>, System.Text.Json.Utf8JsonWriter) NewWriter()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        return (buffer, new System.Text.Json.Utf8JsonWriter(buffer));
    }

    private static object? Of(ReviewSide side) => side.Identifier is null && side.Record is null
        ? null
        : new { identifier = side.Identifier is { } identifier ? Of(identifier) : null, record_id = side.Record?.Value, profile_id = side.Profile?.Value };

    public static void Attached(IGraphTransaction tx, WriteOrigin origin, Identifier identifier, RecordId record, ProfileId profile) =>
        tx.AddChange(ChangeKinds.IdentifierAttached, origin, IdentifierChange(identifier, record, profile, null));

    public static void Detached(IGraphTransaction tx, WriteOrigin origin, Identifier identifier, RecordId record, ProfileId profile, bool suppressed) =>
        tx.AddChange(ChangeKinds.IdentifierDetached, origin, IdentifierChange(identifier, record, profile, suppressed));

    public static void Replaced(IGraphTransaction tx, WriteOrigin origin, Identifier old, Identifier replacement, RecordId record, ProfileId profile) =>
        Add(tx, ChangeKinds.IdentifierReplaced, origin,
            new { identifier = Of(old), replacement = Of(replacement), record_id = record.Value, profile_id = profile.Value });

    /// <summary>An identifier a guardrail left out (or a merge it refused or held), as the review queue recorded it.</summary>
    public static void Dropped(IGraphTransaction tx, WriteOrigin origin, RefusalEntry entry, ReviewRef review) =>
        Add(tx, ChangeKinds.IdentifierDropped, origin, new
        {
            identifier = entry.B.Identifier is { } identifier ? Of(identifier) : null,
            field = entry.Field, rule = entry.Rule, reason = entry.Reason,
            review_id = review.Id, review_status = ReviewStatuses.Name(review.Status),
            requester = Of(entry.A), other = Of(entry.B),
        });

    public static void Merged(IGraphTransaction tx, WriteOrigin origin, ProfileId profile, IEnumerable<ProfileId> before, Link link, string? via) =>
        Add(tx, ChangeKinds.ProfileMerged, origin, new
        {
            profile_id = profile.Value, merged_profile_ids = before.Select(p => p.Value).Distinct().ToList(),
            link_id = link.Id.Value, link_kind = link.Kind, from_record_id = link.From.Value, into_record_id = link.Into.Value, via,
        });

    /// <summary>A profile that became several (each side under its own root), or one whose id changed with its root.</summary>
    public static void Split(IGraphTransaction tx, WriteOrigin origin, ProfileId before, IReadOnlyList<(ProfileId Profile, IReadOnlyList<RecordId> Records)> sides)
    {
        if (sides.Count > 1)
        {
            Add(tx, ChangeKinds.ProfileSplit, origin, new
            {
                profile_id = before.Value,
                into = sides.Select(s => new { profile_id = s.Profile.Value, record_ids = s.Records.Select(r => r.Value).ToList() }).ToList(),
            });
        }
        else if (sides.Count == 1)
        {
            Renamed(tx, origin, before, sides[0].Profile);
        }
    }

    public static void Renamed(IGraphTransaction tx, WriteOrigin origin, ProfileId before, ProfileId after)
    {
        if (before != after)
        {
            Add(tx, ChangeKinds.ProfileRenamed, origin, new { profile_id = before.Value, new_profile_id = after.Value });
        }
    }

    public static void RecordDeleted(IGraphTransaction tx, WriteOrigin origin, RecordId record, ProfileId profile, IEnumerable<Identifier> identifiers, int suppressed) =>
        Add(tx, ChangeKinds.RecordDeleted, origin,
            new { record_id = record.Value, profile_id = profile.Value, identifiers = identifiers.Select(Of).ToList(), suppressed });

    public static void ProfileDeleted(IGraphTransaction tx, WriteOrigin origin, ProfileId profile, IEnumerable<RecordId> records, IEnumerable<Identifier> identifiers, int suppressed) =>
        Add(tx, ChangeKinds.ProfileDeleted, origin, new
        {
            profile_id = profile.Value, record_ids = records.Select(r => r.Value).ToList(), identifiers = identifiers.Select(Of).ToList(), suppressed,
        });

    public static void Reviewed(IGraphTransaction tx, WriteOrigin origin, bool approved, long reviewId, string rule, string? outcome, long? linkId, ProfileId? profile) =>
        Add(tx, approved ? ChangeKinds.ReviewApproved : ChangeKinds.ReviewRejected, origin,
            new { review_id = reviewId, rule, outcome, link_id = linkId, profile_id = profile?.Value });
}
