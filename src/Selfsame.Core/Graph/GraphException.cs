using Selfsame.Guardrails;
using Selfsame.Storage;

namespace Selfsame.Graph;

public enum GraphErrorKind
{
    /// <summary>The request names something that does not exist.</summary>
    NotFound,

    /// <summary>The request is well formed but the graph's rules refuse it.</summary>
    Conflict,

    /// <summary>The request itself is malformed.</summary>
    Invalid,
}

/// <summary>A write or read the graph refuses; <see cref="Field"/> names the part of the request at fault.</summary>
/// <remarks>
/// A refusal of a guardrail carries its <see cref="Refusal"/>: the store undoes the work that threw, then records the
/// refusal in the review queue (<see cref="IRecordedFailure"/>), and the message names the entry it was recorded as.
/// </remarks>
public sealed class GraphException(GraphErrorKind kind, string field, string message) : Exception(message), IRecordedFailure
{
    public GraphErrorKind Kind { get; } = kind;
    public string Field { get; } = field;

    /// <summary>The refusal to record once the work is undone, and who asked for that work.</summary>
    public (RefusalEntry Entry, WriteOrigin Origin)? Refusal { get; init; }

    /// <summary>The rule that refused, where a guardrail did (<see cref="ReviewRules"/>, <c>deny_list.*</c>).</summary>
    public string? Rule => Refusal?.Entry.Rule;

    /// <summary>The review entry the refusal was recorded as, once it is.</summary>
    public ReviewRef? Review { get; private set; }

    public override string Message => Review is { } review
        ? $"{base.Message} (recorded as review entry {review.Id}, {ReviewStatuses.Name(review.Status)})"
        : base.Message;

    bool IRecordedFailure.HasRecord => Refusal is not null;

    void IRecordedFailure.Record(IGraphTransaction tx)
    {
        if (Refusal is { } refusal)
        {
            Review = Guard.RecordRefusal(tx, refusal.Entry, refusal.Origin);
        }
    }
}
