using Selfsame.Guardrails;
using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>What deciding a review entry did: merged the sides, found them joined already, or closed it (rejected).</summary>
public enum ReviewOutcome
{
    Merged,
    AlreadyJoined,
    Rejected,
}

/// <summary>The entry as decided, what the decision did, and the link an approval made.</summary>
public sealed record ReviewDecision(ReviewEntry Entry, ReviewOutcome Outcome, LinkResult? Link);

/// <summary>The identifier a detach removed, the record it came from (null when no record held it), and whether its value is now suppressed.</summary>
public sealed record DetachResult(Identifier Identifier, RecordId? Record, ProfileId? Profile, bool Suppressed);

/// <summary>A review entry with the profiles its two sides belong to now (null for a side whose record is gone or that had none).</summary>
public sealed record ReviewView(ReviewEntry Entry, ProfileView? A, ProfileView? B);

/// <summary>
/// The decisions on the review queue, and detaching one identifier. An approval joins the two sides as they are now with
/// an explicit link of kind <see cref="LinkKinds.Review"/>, which unlink undoes like any link; caps of merge protection do
/// not hold it back (they are what held the merge, and a person has decided).
/// </summary>
internal static class ReviewDecisions
{
    public static ReviewDecision Approve(IGraphTransaction tx, long id, WriteOrigin origin)
    {
        var entry = Open(tx, id, "approve");
        if (!ReviewRules.IsMerge(entry.Rule))
        {
            throw new GraphException(GraphErrorKind.Conflict, "id",
                $"review entry {id} is an identifier dropped by {entry.Rule}, not a merge: there is nothing to approve (switch the deny-list entry off, or lift the suppression, and send the identifier again)");
        }
        var a = Now(tx, entry.A, "a", id);
        var b = Now(tx, entry.B, "b", id);
        if (a is null)
        {
            throw new GraphException(GraphErrorKind.Conflict, "id", $"review entry {id}: side a has no record now; nothing was merged");
        }
        if (b is null && (entry.B.Identifier is null || Guard.Denied(tx, entry.B.Identifier, held: false) is not null))
        {
            throw new GraphException(GraphErrorKind.Conflict, "id", $"review entry {id}: side b's identifier cannot be attached now (it is denied or gone); nothing was merged");
        }
        if (b is { } bRecord && tx.GetRecord(bRecord)!.Profile == tx.GetRecord(a.Value)!.Profile)
        {
            tx.DecideReview(id, ReviewStatus.Approved, origin, null);
            tx.AddAudit("review.approve", origin, new { review_id = id, rule = entry.Rule, outcome = "already_joined", profile = tx.GetRecord(a.Value)!.Profile.Value });
            ChangeFeed.Reviewed(tx, origin, approved: true, id, entry.Rule, "already_joined", null, tx.GetRecord(a.Value)!.Profile);
            return new ReviewDecision(tx.GetReviewEntry(id)!, ReviewOutcome.AlreadyJoined, null);
        }
        var created = b is null ? new[] { IdentityGraph.CreateRecord(tx, new IdentifierInput(entry.B.Identifier!, entry.B.Display ?? entry.B.Identifier!.Value, "b"), origin) } : [];
        var link = IdentityGraph.LinkRecords(tx, b ?? created[0], a.Value, LinkKinds.Review, origin, created);
        tx.DecideReview(id, ReviewStatus.Approved, origin, link.Link?.Id);
        tx.AddAudit("review.approve", origin, new { review_id = id, rule = entry.Rule, outcome = "merged", link_id = link.Link?.Id.Value, profile = link.Profile.Value,
            merged = link.MergedProfiles.Select(p => p.Value) });
        ChangeFeed.Reviewed(tx, origin, approved: true, id, entry.Rule, "merged", link.Link?.Id.Value, link.Profile);
        return new ReviewDecision(tx.GetReviewEntry(id)!, ReviewOutcome.Merged, link);
    }

    public static ReviewDecision Reject(IGraphTransaction tx, long id, WriteOrigin origin)
    {
        var entry = Open(tx, id, "reject");
        tx.DecideReview(id, ReviewStatus.Rejected, origin, null);
        tx.AddAudit("review.reject", origin, new { review_id = id, rule = entry.Rule });
        ChangeFeed.Reviewed(tx, origin, approved: false, id, entry.Rule, "rejected", null, null);
        return new ReviewDecision(tx.GetReviewEntry(id)!, ReviewOutcome.Rejected, null);
    }

    /// <summary>
    /// Removes one identifier from its record, which keeps its other identifiers, links, properties and events; with
    /// <paramref name="suppress"/>, the value is never attached again (suppressed even when no record holds it).
    /// </summary>
    public static DetachResult Detach(IGraphTransaction tx, IdentifierInput input, bool suppress, WriteOrigin origin)
    {
        var owner = tx.FindIdentifier(input.Identifier);
        if (owner is null && !suppress)
        {
            throw new GraphException(GraphErrorKind.NotFound, input.Field, $"no record holds the identifier {input.Identifier}");
        }
        ProfileId? profile = null;
        if (owner is not null)
        {
            tx.DetachIdentifier(input.Identifier);
            profile = tx.GetRecord(owner.Record)!.Profile;
            ChangeFeed.Detached(tx, origin, input.Identifier, owner.Record, profile.Value, suppress);
            if (input.Identifier.Type == IdentifierTypes.UserId)
            {
                // The root prefers a record with a user_id: without this one it may be another.
                profile = IdentityGraph.RerootProfile(tx, profile.Value, origin);
            }
        }
        if (suppress)
        {
            tx.Suppress(input.Identifier);
        }
        // Ids and the type only: the audit log keeps no identifier values.
        tx.AddAudit("detach_identifier", origin, new { record_id = owner?.Record.Value, type = input.Identifier.Type, profile = profile?.Value, suppressed = suppress });
        return new DetachResult(input.Identifier, owner?.Record, profile, suppress);
    }

    private static ReviewEntry Open(IGraphReadSession session, long id, string verb)
    {
        var entry = session.GetReviewEntry(id) ?? throw new GraphException(GraphErrorKind.NotFound, "id", $"no review entry {id} in this project");
        if (entry.Status is ReviewStatus.Approved or ReviewStatus.Rejected)
        {
            throw new GraphException(GraphErrorKind.Conflict, "id",
                $"review entry {id} was {ReviewStatuses.Name(entry.Status)} already ({entry.DecidedAt:u}, key {entry.DecidedByKey ?? "(none)"}); it cannot be {verb}d");
        }
        return entry;
    }

    /// <summary>The record a side stands for now: its own record while it exists, else the one holding its identifier; null for neither.</summary>
    private static RecordId? Now(IGraphReadSession session, ReviewSide side, string name, long id)
    {
        if (side.Record is { } record)
        {
            return session.GetRecord(record) is null
                ? throw new GraphException(GraphErrorKind.Conflict, "id", $"review entry {id}: side {name}'s record {record} was deleted since; nothing was merged")
                : record;
        }
        return side.Identifier is { } identifier ? session.FindIdentifier(identifier)?.Record : null;
    }
}
