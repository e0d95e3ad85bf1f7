using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Selfsame.Graph;

namespace Selfsame.Server.Hosting;

/// <summary>
/// A rate limit: at most <see cref="Permits"/> per <see cref="Window"/>, per project, shared by every endpoint of the
/// <see cref="Family"/> (Braze's /users/* endpoints share one, as its documents say). A permit is a request, or an item
/// where the endpoint counts items (Amplitude's mappings).
/// </summary>
/// <param name="Sliding">
/// Counted over a sliding window of one-thirtieth buckets, admitting a request while the window is below the limit even if
/// its own permits take it over, then refusing every request until the window falls below it again (Amplitude's mapping
/// limit); otherwise a fixed window aligned to the clock (a one-minute window resets at the top of each minute).
/// </param>
public sealed record RateLimitRule(string Family, int Permits, TimeSpan Window, bool Sliding = false)
{
    /// <summary>Reads <c>family=permits/seconds</c>, for instance <c>braze.users=20000/60</c>; null with an error when malformed.</summary>
    public static RateLimitRule? TryParse(string text, out string? error)
    {
        error = null;
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (equals <= 0 || slash < equals
            || !int.TryParse(text[(equals + 1)..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var permits) || permits < 1
            || !int.TryParse(text[(slash + 1)..].TrimEnd('s'), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds < 1)
        {
            error = $"'{text}' is not a rate limit: expected family=permits/seconds with both at least 1, such as braze.users=20000/60";
            return null;
        }
        return new RateLimitRule(text[..equals].Trim(), permits, TimeSpan.FromSeconds(seconds));
    }
}

/// <summary>The answer for one request: admitted or not, and what the X-RateLimit-* headers say.</summary>
public readonly record struct RateLimitDecision(bool Admitted, int Limit, int Remaining, DateTimeOffset Reset)
{
    /// <summary>X-RateLimit-Limit, -Remaining and -Reset (UTC epoch seconds); Retry-After (seconds) when refused.</summary>
    public void WriteHeaders(HttpResponse response, DateTimeOffset now)
    {
        response.Headers["X-RateLimit-Limit"] = Limit.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-RateLimit-Remaining"] = Remaining.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-RateLimit-Reset"] = Reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        if (!Admitted)
        {
            response.Headers.RetryAfter = RetryAfterSeconds(now).ToString(CultureInfo.InvariantCulture);
        }
    }

    public long RetryAfterSeconds(DateTimeOffset now) => Math.Max(1, (long)Math.Ceiling((Reset - now).TotalSeconds));
}

/// <summary>
/// The rate limits of every surface: one <see cref="PartitionedRateLimiter{TResource}"/> per family, partitioned by
/// project. Windows advance from <see cref="TimeProvider"/> rather than a limiter's own timer, so that tests move time
/// instead of sleeping. A rule's defaults come from its surface; <see cref="SelfsameOptions.RateLimits"/> overrides them by family.
/// </summary>
public sealed class RateLimits(TimeProvider time, SelfsameOptions options) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<PartitionedRateLimiter<ProjectId>>> _families = new(StringComparer.Ordinal);

    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>The rule in force for a family: the configured one, else the surface's default.</summary>
    public RateLimitRule RuleFor(RateLimitRule defaults) =>
        options.RateLimits.TryGetValue(defaults.Family, out var configured) ? configured with { Sliding = defaults.Sliding } : defaults;

    /// <summary>The configured rule of a family with no documented limit (native, cooladata), or null.</summary>
    public RateLimitRule? Configured(string family) => options.RateLimits.GetValueOrDefault(family);

    /// <summary>Takes <paramref name="permits"/> of the project's allowance in the family.</summary>
    public RateLimitDecision Acquire(ProjectId project, RateLimitRule defaults, int permits = 1)
    {
        var rule = RuleFor(defaults);
        // Lazy: two requests racing to make a family's limiter share one (a limiter that lost the race would never be disposed).
        var limiter = _families.GetOrAdd(rule.Family, _ => new Lazy<PartitionedRateLimiter<ProjectId>>(() => PartitionedRateLimiter.Create<ProjectId, ProjectId>(project =>
            RateLimitPartition.Get(project, _ => rule.Sliding ? new SlidingWindowLimiter(time, rule) : new ClockWindowLimiter(time, rule))))).Value;
        using var lease = limiter.AttemptAcquire(project, permits);
        return lease.TryGetMetadata(DecisionLease.Name, out var decision) && decision is { } known
            ? known
            : new RateLimitDecision(lease.IsAcquired, rule.Permits, 0, Now);
    }

    public void Dispose()
    {
        foreach (var limiter in _families.Values.Where(l => l.IsValueCreated))
        {
            limiter.Value.Dispose();
        }
    }

    /// <summary>A lease that carries what the headers say.</summary>
    private sealed class DecisionLease(RateLimitDecision decision) : RateLimitLease
    {
        public static readonly MetadataName<RateLimitDecision?> Name = new("selfsame.decision");

        public override bool IsAcquired => decision.Admitted;

        public override IEnumerable<string> MetadataNames => [Name.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == Name.Name ? decision : null;
            return metadata is not null;
        }
    }

    /// <summary>
    /// A fixed window aligned to the clock, counting with the library's <see cref="FixedWindowRateLimiter"/> under manual
    /// replenishment (its shortest window, one tick of its own stopwatch): every TryReplenish refills the permits, and
    /// this class decides when from the <see cref="TimeProvider"/>.
    /// </summary>
    private sealed class ClockWindowLimiter(TimeProvider time, RateLimitRule rule) : RateLimiter
    {
        private readonly FixedWindowRateLimiter _permits = new(new FixedWindowRateLimiterOptions
        {
            PermitLimit = rule.Permits,
            Window = TimeSpan.FromTicks(1),
            AutoReplenishment = false,
            QueueLimit = 0,
        });
        private DateTimeOffset _end = DateTimeOffset.MinValue;

        public override TimeSpan? IdleDuration => null;

        public override RateLimiterStatistics? GetStatistics() => _permits.GetStatistics();

        protected override RateLimitLease AttemptAcquireCore(int permitCount)
        {
            var now = time.GetUtcNow();
            lock (_permits)
            {
                if (now >= _end)
                {
                    _permits.TryReplenish();
                    var windowTicks = rule.Window.Ticks;
                    _end = new DateTimeOffset((now.UtcTicks / windowTicks + 1) * windowTicks, TimeSpan.Zero);
                }
                using var lease = _permits.AttemptAcquire(permitCount);
                var remaining = (int)(_permits.GetStatistics()?.CurrentAvailablePermits ?? 0);
                return new DecisionLease(new RateLimitDecision(lease.IsAcquired, rule.Permits, remaining, _end));
            }
        }

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
            ValueTask.FromResult(AttemptAcquireCore(permitCount));

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _permits.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Permits counted over a sliding window of 30 buckets, admitting while the window is below the limit (Amplitude's
    /// semantics, which no limiter of the library has: its sliding window refuses the request that would cross the
    /// limit). Reset says when the oldest counted permit leaves the window, or when refused, when the window falls below the limit.
    /// </summary>
    private sealed class SlidingWindowLimiter(TimeProvider time, RateLimitRule rule) : RateLimiter
    {
        private const int Buckets = 30;
        private readonly long[] _counts = new long[Buckets];
        private readonly long _bucketTicks = Math.Max(1, rule.Window.Ticks / Buckets);
        private long _newest = long.MinValue;
        private long _total;

        public override TimeSpan? IdleDuration => null;

        public override RateLimiterStatistics? GetStatistics() => new() { CurrentAvailablePermits = Math.Max(0, rule.Permits - _total) };

        protected override RateLimitLease AttemptAcquireCore(int permitCount)
        {
            var now = time.GetUtcNow();
            var bucket = now.UtcTicks / _bucketTicks;
            lock (_counts)
            {
                Advance(bucket);
                var admitted = _total < rule.Permits;
                if (admitted)
                {
                    _counts[(int)(bucket % Buckets)] += permitCount;
                    _total += permitCount;
                }
                var wait = admitted ? TicksUntilOldestLeaves(bucket) : TicksUntilBelow(bucket);
                var remaining = (int)Math.Clamp(rule.Permits - _total, 0, rule.Permits);
                return new DecisionLease(new RateLimitDecision(admitted, rule.Permits, remaining, now + TimeSpan.FromTicks(wait)));
            }
        }

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
            ValueTask.FromResult(AttemptAcquireCore(permitCount));

        private void Advance(long now)
        {
            if (_newest == long.MinValue || now - _newest >= Buckets)
            {
                Array.Clear(_counts);
                _total = 0;
            }
            else
            {
                for (var bucket = _newest + 1; bucket <= now; bucket++)
                {
                    var slot = (int)(bucket % Buckets);
                    _total -= _counts[slot];
                    _counts[slot] = 0;
                }
            }
            _newest = Math.Max(_newest, now);
        }

        private long CountAt(long now, int age) => _counts[(int)(((now - age) % Buckets + Buckets) % Buckets)];

        /// <summary>Time until the oldest bucket that counts any permit leaves the window (zero when none counts).</summary>
        private long TicksUntilOldestLeaves(long now)
        {
            for (var age = Buckets - 1; age >= 0; age--)
            {
                if (CountAt(now, age) > 0)
                {
                    return (Buckets - age) * _bucketTicks;
                }
            }
            return 0;
        }

        /// <summary>Time until enough of the oldest buckets leave the window for the total to fall below the limit.</summary>
        private long TicksUntilBelow(long now)
        {
            var total = _total;
            for (var age = Buckets - 1; age >= 0; age--)
            {
                total -= CountAt(now, age);
                if (total < rule.Permits)
                {
                    return (Buckets - age) * _bucketTicks;
                }
            }
            return Buckets * _bucketTicks;
        }
    }
}
