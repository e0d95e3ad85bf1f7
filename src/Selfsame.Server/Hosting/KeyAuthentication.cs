using System.Collections.Concurrent;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Storage;

namespace Selfsame.Server.Hosting;

public enum KeyCheckResult
{
    Allowed,
    Missing,
    Invalid,
    Forbidden,
}

/// <summary>
/// The outcome of checking a key; <see cref="Caller"/> is set for Allowed and Forbidden, and <see cref="MissingPermission"/>
/// when the key's role would do but it lacks the named permission.
/// </summary>
public sealed record KeyCheck(KeyCheckResult Result, CallerKey? Caller, string? MissingPermission = null)
{
    /// <summary>Why a Forbidden key may not: its role, a permission it lacks, or its being limited to named permissions.</summary>
    public string Why(string neededRole) => MissingPermission switch
    {
        null => $"this key has the role '{Caller?.Role}'; this endpoint needs '{neededRole}'",
        KeyAuthentication.LimitedKey => "this key is limited to named permissions (a vendor surface's); this endpoint needs a key without such limits",
        var missing => $"this key does not hold the {missing} permission",
    };
}

/// <summary>The API key a request was made with; its project is the only one the request can reach.</summary>
public sealed record CallerKey(string KeyId, ProjectId Project, string Role);

/// <summary>
/// Checks API keys for every surface. Keys found valid are remembered for a few seconds;
/// a key revoked through the admin API is forgotten at once, one revoked elsewhere within that time.
/// </summary>
public sealed class KeyAuthentication(IProjectCatalog catalog, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (ApiKeyRecord Key, DateTimeOffset Until)> _valid = new(StringComparer.Ordinal);

    /// <summary>The missing permission reported when a permission-limited key calls an endpoint that names no permission.</summary>
    public const string LimitedKey = "(an unlimited key: this key is limited to named permissions)";

    /// <summary>
    /// Checks a presented key (as the surface found it: a header, a query parameter, a Basic user name) against the key
    /// store, for a role and, where the surface names one, a permission. Each surface turns a failure into its vendor's own answer.
    /// </summary>
    public async Task<KeyCheck> CheckAsync(string? presented, string neededRole, CancellationToken cancellationToken, string? permission = null)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return new KeyCheck(KeyCheckResult.Missing, null);
        }
        if (!ApiKeys.TryParseKey(presented.Trim(), out var keyId, out var secret))
        {
            return new KeyCheck(KeyCheckResult.Invalid, null);
        }
        var now = time.GetUtcNow();
        ApiKeyRecord? key;
        if (_valid.TryGetValue(keyId, out var hit) && hit.Until > now)
        {
            key = hit.Key;
        }
        else
        {
            key = await catalog.FindKeyAsync(keyId, cancellationToken);
            if (key is not null && key.IsValidAt(now))
            {
                _valid[keyId] = (key, now + CacheFor);
            }
        }
        if (key is null || !key.IsValidAt(now) || !ApiKeys.Matches(key, secret))
        {
            return new KeyCheck(KeyCheckResult.Invalid, null);
        }
        NoteUse(keyId, now);
        var caller = new CallerKey(key.KeyId, key.Project, key.Role);
        if (!Roles.Allows(key.Role, neededRole))
        {
            return new KeyCheck(KeyCheckResult.Forbidden, caller);
        }
        // A key limited to named permissions opens only the endpoints that name one of them, never those that name none.
        var allowed = permission is null ? key.Permissions is null : key.HasPermission(permission);
        return allowed
            ? new KeyCheck(KeyCheckResult.Allowed, caller)
            : new KeyCheck(KeyCheckResult.Forbidden, caller, permission ?? LimitedKey);
    }

    public void Forget(string keyId) => _valid.TryRemove(keyId, out _);

    private static readonly TimeSpan UseResolution = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastWritten = new(StringComparer.Ordinal);

    /// <summary>Records a key's last use, at most once a minute per key, off the request's path; a failed write is only logged away.</summary>
    private void NoteUse(string keyId, DateTimeOffset now)
    {
        if (_lastWritten.TryGetValue(keyId, out var written) && now - written < UseResolution)
        {
            return;
        }
        _lastWritten[keyId] = now;
        _ = Task.Run(async () =>
        {
            try
            {
                await catalog.TouchKeyAsync(keyId, now, CancellationToken.None);
            }
            catch (Exception e) when (e is StoreUnavailableException or StoreValueRejectedException or System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                _lastWritten.TryRemove(keyId, out _);
            }
        });
    }
}
