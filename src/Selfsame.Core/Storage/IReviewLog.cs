using Selfsame.Graph;
using Selfsame.Guardrails;

namespace Selfsame.Storage;

/// <summary>The review queue and the suppressed values, as reads see them.</summary>
public interface IReviewReads
{
    ReviewEntry? GetReviewEntry(long id);

    /// <summary>Entries newest first (by id), filtered as the query says; a profile filter matches either side's record as it is now.</summary>
    IReadOnlyList<ReviewEntry> ListReviewEntries(ReviewQuery query);

    /// <summary>The approved entry that made a link, or null.</summary>
    ReviewEntry? FindReviewByLink(LinkId link);

    /// <summary>Whether the value was suppressed (a detach or delete with suppress): it is never attached again.</summary>
    bool IsSuppressed(Identifier identifier);
}

/// <summary>The review queue and the suppressed values, as a write sees them: kept if and only if the write is.</summary>
public interface IReviewLog
{
    /// <summary>
    /// Records a refusal, or, when an entry with the same key (<see cref="RefusalEntry.Key"/>) is open (refused, held or
    /// rejected), counts it again there and moves its last-seen time; answers the entry.
    /// </summary>
    ReviewRef RecordRefusal(RefusalEntry refusal, WriteOrigin origin);

    /// <summary>Closes an entry with a decision, by the caller of <paramref name="origin"/>, and the link an approval made.</summary>
    void DecideReview(long id, ReviewStatus decision, WriteOrigin origin, LinkId? link);

    /// <summary>Adds a value to the project's suppressed values (stored as a hash of the normalized value); false when it was there.</summary>
    bool Suppress(Identifier identifier);

    /// <summary>Removes a value from the suppressed values; false when it was not there.</summary>
    bool LiftSuppression(Identifier identifier);
}
