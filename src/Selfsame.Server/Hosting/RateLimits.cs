using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Selfsame.Graph;

namespace Selfsame.Server.Hosting;

/// <summary>
/// A rate limit: at most <see cref="Permits"/> requests per <see cref="Window"/>, per project, shared by every endpoint
/// of the <see cref="Family"/> (Braze's /users/* endpoints share one, as its documents say).
/// </summary>
public sealed record RateLimitRule(string Family, int Permits, TimeSpan Window)
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
/// Rate limits per project and family, in fixed windows aligned to the clock (a one-minute window resets at the top of
/// each minute). Each (project, family) has a <see cref="FixedWindowRateLimiter"/> that counts the permits; windows are
/// advanced from <see cref="TimeProvider"/> rather than the limiter's own timer, so that tests move time instead of sleeping.
/// A rule's defaults come from its surface; <see cref="SelfsameOptions.RateLimits"/> overrides them by family.
/// </summary>
public sealed class RateLimits(TimeProvider time, SelfsameOptions options) : IDisposable
{
    private readonly ConcurrentDictionary<(ProjectId Project, string Family), Window> _windows = new();

    /// <summary>The rule in force for a family: the configured one, else the surface's default.</summary>
    public RateLimitRule RuleFor(RateLimitRule defaults) =>
        options.RateLimits.TryGetValue(defaults.Family, out var configured) ? configured : defaults;

    /// <summary>For a family with no documented limit (native, cooladata): a decision only when one is configured.</summary>
    public RateLimitDecision? AcquireIfConfigured(ProjectId project, string family) =>
        options.RateLimits.TryGetValue(family, out var configured) ? Acquire(project, configured) : null;

    public RateLimitDecision Acquire(ProjectId project, RateLimitRule defaults)
    {
        var rule = RuleFor(defaults);
        var window = _windows.GetOrAdd((project, rule.Family), _ => new Window(rule));
        var now = time.GetUtcNow();
        lock (window)
        {
            if (now >= window.End)
            {
                window.Limiter.TryReplenish();
                var windowTicks = rule.Window.Ticks;
                window.End = new DateTimeOffset((now.UtcTicks / windowTicks + 1) * windowTicks, TimeSpan.Zero);
            }
            using var lease = window.Limiter.AttemptAcquire(1);
            var remaining = (int)(window.Limiter.GetStatistics()?.CurrentAvailablePermits ?? 0);
            return new RateLimitDecision(lease.IsAcquired, rule.Permits, remaining, window.End);
        }
    }

    public void Dispose()
    {
        foreach (var window in _windows.Values)
        {
            window.Limiter.Dispose();
        }
    }

    private sealed class Window(RateLimitRule rule)
    {
        // Manual replenishment with the shortest window the limiter takes (one tick of its own stopwatch): every
        // TryReplenish refills the permits, and this class decides when from the TimeProvider.
        public FixedWindowRateLimiter Limiter { get; } = new(new FixedWindowRateLimiterOptions
        {
            PermitLimit = rule.Permits,
            Window = TimeSpan.FromTicks(1),
            AutoReplenishment = false,
            QueueLimit = 0,
        });

        public DateTimeOffset End { get; set; } = DateTimeOffset.MinValue;
    }
}
