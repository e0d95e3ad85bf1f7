using Selfsame.Graph;
using Selfsame.Guardrails;
using Selfsame.Storage;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>
/// The identifiers a write left out (a junk or suppressed value, a merge that merge protection refused), as a vendor
/// surface adds them to its own answer: the field, the identifier, the rule, why, and the review entry.
/// </summary>
public static class DroppedIdentifiers
{
    public static List<Dictionary<string, object?>> Of(IEnumerable<Refusal> refusals) =>
        refusals.Select(r => new Dictionary<string, object?>
        {
            ["field"] = r.Field,
            ["identifier"] = r.Identifier.ToString(),
            ["rule"] = r.Rule,
            ["reason"] = r.Reason,
            ["review_id"] = r.Review.Id,
            ["review_status"] = ReviewStatuses.Name(r.Review.Status),
        }).ToList();

    /// <summary>The same, from the results of operations that succeeded.</summary>
    public static List<Dictionary<string, object?>> OfResults(IEnumerable<object?> results) => Of(results.SelectMany(Refusals.Of));

    /// <summary>The same, from the operations of a batch that succeeded.</summary>
    public static List<Dictionary<string, object?>> OfSucceeded(IReadOnlyList<WriteOutcome<object>> outcomes) =>
        OfResults(outcomes.Where(o => o.Error is null).Select(o => o.Value));

    /// <summary>
    /// A vendor's success answer (<paramref name="answer"/>: Segment's <c>{"success":true}</c>, PostHog's <c>{"status":1}</c>)
    /// with what Selfsame left out beside it, where it left anything: the identifiers dropped and the operations refused.
    /// </summary>
    public static Microsoft.AspNetCore.Http.IResult Answer(Dictionary<string, object> answer, List<Dictionary<string, object?>> dropped,
        List<Dictionary<string, object?>> refused)
    {
        if (dropped.Count > 0)
        {
            answer["dropped_identifiers"] = dropped;
        }
        if (refused.Count > 0)
        {
            answer["refused"] = refused;
        }
        return Microsoft.AspNetCore.Http.Results.Json(answer);
    }

    /// <summary>The operations of a batch that the graph's rules refused, each left out alone: its index, the field, why.</summary>
    public static List<Dictionary<string, object?>> RefusedOperations(IReadOnlyList<WriteOutcome<object>> outcomes) =>
        outcomes.Select((outcome, index) => (outcome.Error, index)).Where(x => x.Error is GraphException)
            .Select(x => new Dictionary<string, object?> { ["index"] = x.index, ["field"] = ((GraphException)x.Error!).Field, ["message"] = x.Error!.Message })
            .ToList();
}
