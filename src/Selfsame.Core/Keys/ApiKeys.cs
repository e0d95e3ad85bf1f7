using System.Security.Cryptography;
using System.Text;
using Selfsame.Graph;
using Selfsame.Storage;

namespace Selfsame.Keys;

public static class Roles
{
    public const string Admin = "admin";
    public const string Write = "write";
    public const string Read = "read";

    public static IReadOnlyList<string> All { get; } = [Admin, Write, Read];

    /// <summary>Whether a key of role <paramref name="held"/> may do what <paramref name="needed"/> allows: admin > write > read.</summary>
    public static bool Allows(string held, string needed) => Rank(held) >= Rank(needed);

    private static int Rank(string role) => role switch
    {
        Admin => 3,
        Write => 2,
        Read => 1,
        _ => 0,
    };
}

/// <summary>A key as handed to its owner once: <c>ss_{key id}_{secret}</c>.</summary>
public sealed record IssuedKey(string Key, ApiKeyRecord Record);

/// <summary>
/// Creates and checks API keys. A key is <c>ss_</c>, a public key id and a 256-bit random secret; only the SHA-256
/// of the secret is stored, and it is compared in constant time.
/// </summary>
public sealed class ApiKeys(IProjectCatalog catalog, TimeProvider time)
{
    private const string Prefix = "ss_";

    public async Task<IssuedKey> CreateAsync(ProjectId project, string role, string? name, WriteOrigin origin, CancellationToken cancellationToken,
        IReadOnlyList<string>? permissions = null)
    {
        var key = Issue(project, role, name, permissions);
        await catalog.AddKeyAsync(key.Record, cancellationToken);
        await catalog.AddAuditAsync(project, time.GetUtcNow(), "key.create", origin, new { key_id = key.Record.KeyId, role, name, permissions }, cancellationToken);
        return key;
    }

    public async Task<bool> RevokeAsync(ProjectId project, string keyId, WriteOrigin origin, CancellationToken cancellationToken)
    {
        if (!await catalog.RevokeKeyAsync(project, keyId, time.GetUtcNow(), cancellationToken))
        {
            return false;
        }
        await catalog.AddAuditAsync(project, time.GetUtcNow(), "key.revoke", origin, new { key_id = keyId }, cancellationToken);
        return true;
    }

    public const int MaxGraceMinutes = 7 * 24 * 60;

    /// <summary>
    /// Replaces a key: a new key with the same project, role and name, and the old one kept working for
    /// <paramref name="grace"/> so that clients can move over. Null when the project has no such live key.
    /// </summary>
    public async Task<IssuedKey?> RotateAsync(ProjectId project, string keyId, TimeSpan grace, WriteOrigin origin, CancellationToken cancellationToken)
    {
        var old = await catalog.FindKeyAsync(keyId, cancellationToken);
        var now = time.GetUtcNow();
        if (old is null || old.Project != project || !old.IsValidAt(now))
        {
            return null;
        }
        var key = Issue(project, old.Role, old.Name, old.Permissions);
        await catalog.AddKeyAsync(key.Record, cancellationToken);
        var expires = now + grace;
        if (old.ExpiresAt is null || old.ExpiresAt > expires)
        {
            await catalog.ExpireKeyAsync(project, keyId, expires, cancellationToken);
        }
        await catalog.AddAuditAsync(project, now, "key.rotate", origin,
            new { key_id = keyId, new_key_id = key.Record.KeyId, old_key_expires_at = expires }, cancellationToken);
        return key;
    }

    /// <summary>
    /// Makes a new key without storing it (the caller stores <see cref="IssuedKey.Record"/>). With <paramref name="permissions"/>
    /// the key holds only those named permissions; without, every one its role allows.
    /// </summary>
    public IssuedKey Issue(ProjectId project, string role, string? name, IReadOnlyList<string>? permissions = null)
    {
        if (!Roles.All.Contains(role))
        {
            throw new ArgumentException($"unknown role '{role}'; expected admin, write or read", nameof(role));
        }
        if (permissions?.FirstOrDefault(p => !IsPermissionName(p)) is { } bad)
        {
            throw new ArgumentException($"'{bad}' is not a permission name (lower-case words joined by dots, such as users.merge)", nameof(permissions));
        }
        permissions = permissions?.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        return new IssuedKey($"{Prefix}{keyId}_{secret}", new ApiKeyRecord(keyId, project, role, Hash(secret), name, time.GetUtcNow(), null, Permissions: permissions));
    }

    /// <summary>Lower-case words of letters, digits and underscores joined by dots: users.alias.new.</summary>
    public static bool IsPermissionName(string name) =>
        name.Length is > 0 and <= 64 && name.Split('.').All(part => part.Length > 0 && part.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'));

    /// <summary>Splits a presented key into its id and secret; false when it does not have the form of a key.</summary>
    public static bool TryParseKey(string presented, out string keyId, out string secret)
    {
        keyId = secret = "";
        if (!presented.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var cut = presented.IndexOf('_', Prefix.Length);
        if (cut < 0 || cut == presented.Length - 1)
        {
            return false;
        }
        keyId = presented[Prefix.Length..cut];
        secret = presented[(cut + 1)..];
        return keyId.Length == 12 && secret.Length <= 64;
    }

    public static bool Matches(ApiKeyRecord record, string secret) =>
        CryptographicOperations.FixedTimeEquals(record.SecretHash, Hash(secret));

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_').Replace("_", "", StringComparison.Ordinal);
}
