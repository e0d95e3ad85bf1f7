using System.Collections.Concurrent;
using Selfsame.Graph;

namespace Selfsame.Server.Amplitude;

/// <summary>
/// Amplitude's mapping rate limit, per project: mappings counted over a sliding window (30 one-second buckets of a
/// 30-second window by default). As Amplitude documents it, a request is admitted while the window is below the limit,
/// even if its own mappings take the window over it, and then every request is refused until the window falls below the
/// limit again. (System.Threading.RateLimiting's limiters refuse the request that would cross the limit instead, which
/// is why this small counter exists.)
/// </summary>
public sealed class MappingWindow(TimeProvider time, int limit, TimeSpan window)
{
    private const int Buckets = 30;
    private readonly ConcurrentDictionary<ProjectId, Counter> _counters = new();
    private readonly long _bucketTicks = Math.Max(1, window.Ticks / Buckets);

    public int Limit => limit;

    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>
    /// What the X-RateLimit headers say after a request: the limit, the mappings left in the window, and when the oldest
    /// mapping counted leaves it (Retry-After when refused).
    /// </summary>
    public Hosting.RateLimitDecision Decision(ProjectId project, bool admitted)
    {
        var counter = _counters.GetOrAdd(project, _ => new Counter());
        var now = time.GetUtcNow();
        var bucket = now.UtcTicks / _bucketTicks;
        lock (counter)
        {
            counter.Advance(bucket);
            var wait = admitted ? counter.TicksUntilOldestLeaves(bucket, _bucketTicks) : counter.TicksUntilBelow(limit, bucket, _bucketTicks);
            return new Hosting.RateLimitDecision(admitted, limit, (int)Math.Clamp(limit - counter.Total, 0, limit), now + TimeSpan.FromTicks(wait));
        }
    }

    /// <summary>Counts <paramref name="mappings"/> for the project unless the window is at its limit; then says how long to wait.</summary>
    public bool TryAdmit(ProjectId project, int mappings, out TimeSpan retryAfter)
    {
        var counter = _counters.GetOrAdd(project, _ => new Counter());
        var now = time.GetUtcNow().UtcTicks / _bucketTicks;
        lock (counter)
        {
            counter.Advance(now);
            if (counter.Total >= limit)
            {
                retryAfter = TimeSpan.FromTicks(counter.TicksUntilBelow(limit, now, _bucketTicks));
                return false;
            }
            counter.Add(now, mappings);
            retryAfter = TimeSpan.Zero;
            return true;
        }
    }

    private sealed class Counter
    {
        private readonly long[] _counts = new long[Buckets];
        private long _newest = long.MinValue;

        public long Total { get; private set; }

        public void Advance(long now)
        {
            if (_newest == long.MinValue || now - _newest >= Buckets)
            {
                Array.Clear(_counts);
                Total = 0;
            }
            else
            {
                for (var bucket = _newest + 1; bucket <= now; bucket++)
                {
                    var slot = (int)(bucket % Buckets);
                    Total -= _counts[slot];
                    _counts[slot] = 0;
                }
            }
            _newest = Math.Max(_newest, now);
        }

        public void Add(long now, int count)
        {
            _counts[(int)(now % Buckets)] += count;
            Total += count;
        }

        /// <summary>Time until the oldest bucket that counts any mapping leaves the window (zero when none counts).</summary>
        public long TicksUntilOldestLeaves(long now, long bucketTicks)
        {
            for (var age = Buckets - 1; age >= 0; age--)
            {
                if (_counts[(int)((now - age) % Buckets + Buckets) % Buckets] > 0)
                {
                    return (Buckets - age) * bucketTicks;
                }
            }
            return 0;
        }

        /// <summary>Time until enough of the oldest buckets leave the window for the total to fall below the limit.</summary>
        public long TicksUntilBelow(int limit, long now, long bucketTicks)
        {
            var total = Total;
            for (var age = Buckets - 1; age >= 0; age--)
            {
                total -= _counts[(int)((now - age) % Buckets + Buckets) % Buckets];
                if (total < limit)
                {
                    return (Buckets - age) * bucketTicks;
                }
            }
            return Buckets * bucketTicks;
        }
    }
}
