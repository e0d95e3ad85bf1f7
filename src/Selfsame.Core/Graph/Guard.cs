using Selfsame.Guardrails;
using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>
/// The guardrails as the write rules apply them: the deny-list and suppressed values, and the recording of every refusal
/// in the review queue as the project's settings say (refused, held, or not a refusal at all).
/// </summary>
internal static class Guard
{
    /// <summary>Why an identifier may not be attached or merged on: a deny-list entry, or (for one no record holds) a suppressed value.</summary>
    public static Denial? Denied(IGraphReadSession session, Identifier identifier, bool held) =>
        DenyList.Check(identifier, session.Settings) ?? (held ? null : Suppressed(session, identifier));

    /// <summary>Why an identifier no record holds may not be attached, when its value was suppressed (the deny-list checked already).</summary>
    public static Denial? Suppressed(IGraphReadSession session, Identifier identifier) => session.IsSuppressed(identifier)
        ? new Denial(ReviewRules.Suppressed, $"{identifier.Type} '{identifier.Value}' was suppressed in this project and is never attached again (suppressed)")
        : null;

    /// <summary>Whether the project lets merges that <paramref name="rule"/> would refuse go through.</summary>
    public static bool Allows(IGraphReadSession session, string rule) => session.Settings.ActionFor(rule) == ReviewAction.Allow;

    /// <summary>Records a refusal that the write goes on after (an identifier left out of it); answers what the request is told.</summary>
    public static Refusal Record(IGraphTransaction tx, WriteOrigin origin, string rule, string reason, IdentifierInput refused, ReviewSide a, ReviewSide b)
    {
        var entry = Entry(tx, rule, reason, refused.Field, a, b);
        // A dry run records nothing (its transaction is rolled back anyway): its answer says what would be recorded, with no id.
        return new Refusal(refused.Identifier, refused.Field, entry, origin.DryRun is null ? RecordRefusal(tx, entry, origin) : new ReviewRef(0, entry.Status));
    }

    /// <summary>Records a refusal in the review queue, and in the change feed as an identifier dropped.</summary>
    public static ReviewRef RecordRefusal(IGraphTransaction tx, RefusalEntry entry, WriteOrigin origin)
    {
        var review = tx.RecordRefusal(entry, origin);
        ChangeFeed.Dropped(tx, origin, entry, review);
        return review;
    }

    /// <summary>A refusal that fails the operation: undone, then recorded (see <see cref="GraphException.Refusal"/>).</summary>
    public static GraphException Fail(IGraphReadSession session, WriteOrigin origin, string rule, string reason, string field, ReviewSide a, ReviewSide b) =>
        new(GraphErrorKind.Conflict, field, reason) { Refusal = (Entry(session, rule, reason, field, a, b), origin) };

    /// <summary>The failure of an operation that cannot go on without the identifier a write left out (recorded again once the operation is undone).</summary>
    public static GraphException Fail(Refusal refusal, WriteOrigin origin) =>
        new(GraphErrorKind.Conflict, refusal.Field, refusal.Reason) { Refusal = (refusal.Entry, origin) };

    private static RefusalEntry Entry(IGraphReadSession session, string rule, string reason, string field, ReviewSide a, ReviewSide b) =>
        new(rule, reason, field, a, b, ReviewRules.IsMerge(rule) && session.Settings.ActionFor(rule) == ReviewAction.Hold ? ReviewStatus.Held : ReviewStatus.Refused);

    /// <summary>A side of a refusal by the identifier that named it, with its record and profile where a record holds it.</summary>
    public static ReviewSide Side(IGraphReadSession session, IdentifierInput input)
    {
        var owner = session.FindIdentifier(input.Identifier);
        return ReviewSide.Of(input, owner?.Record, owner is null ? null : session.GetRecord(owner.Record)?.Profile);
    }

    public static ReviewSide Side(IGraphReadSession session, IdentifierInput input, RecordId record) =>
        ReviewSide.Of(input, record, session.GetRecord(record)?.Profile);
}
