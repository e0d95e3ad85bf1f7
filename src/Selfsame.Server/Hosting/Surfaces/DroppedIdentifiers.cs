using Selfsame.Graph;
using Selfsame.Guardrails;

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
}
