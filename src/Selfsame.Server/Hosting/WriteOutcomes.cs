using System.Runtime.ExceptionServices;
using Selfsame.Graph;
using Selfsame.Storage;

namespace Selfsame.Server.Hosting;

public static class WriteOutcomes
{
    /// <summary>
    /// A vendor surface reports the items that the graph's rules refused (<see cref="GraphException"/>) one by one; an item
    /// that failed for another reason (the store failing) fails the whole request, which is then answered as a server error.
    /// </summary>
    public static void ThrowUnexpected<T>(this IReadOnlyList<WriteOutcome<T>> outcomes)
    {
        if (outcomes.FirstOrDefault(o => o.Error is not null and not GraphException).Error is { } other)
        {
            ExceptionDispatchInfo.Throw(other);
        }
    }
}
