using Selfsame.Graph;

namespace Selfsame.Storage;

public sealed record ApiKeyRecord(
    string KeyId,
    ProjectId Project,
    string Role,
    byte[] SecretHash,
    string? Name,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt = null,
    DateTimeOffset? LastUsedAt = null,
    IReadOnlyList<string>? Permissions = null)
{
    /// <summary>
    /// Whether the key holds a named permission (a vendor's per-endpoint permission such as users.merge). A key created
    /// without a list of permissions holds every one that its role allows; a key with a list holds only those.
    /// </summary>
    public bool HasPermission(string permission) => Permissions is null || Permissions.Contains(permission, StringComparer.Ordinal);

    /// <summary>Whether the key opens requests at <paramref name="now"/>: not revoked, not past its expiry.</summary>
    public bool IsValidAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>Projects and API keys.</summary>
public interface IProjectCatalog
{
    Task<Project?> GetProjectAsync(ProjectId id, CancellationToken cancellationToken);
    Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken cancellationToken);

    /// <summary>Creates the project, with its first key in the same transaction when one is given; false when it exists already.</summary>
    Task<bool> CreateProjectAsync(Project project, ApiKeyRecord? firstKey, CancellationToken cancellationToken);
    Task UpdateSettingsAsync(ProjectId id, ProjectSettings settings, CancellationToken cancellationToken);

    Task AddKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);
    Task<ApiKeyRecord?> FindKeyAsync(string keyId, CancellationToken cancellationToken);
    Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(ProjectId project, CancellationToken cancellationToken);

    /// <summary>Revokes a key of the project; false when the project has no such key.</summary>
    Task<bool> RevokeKeyAsync(ProjectId project, string keyId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Sets when a key of the project stops working; false when the project has no such key.</summary>
    Task<bool> ExpireKeyAsync(ProjectId project, string keyId, DateTimeOffset at, CancellationToken cancellationToken);

    Task TouchKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Appends an admin action to the project's audit log.</summary>
    Task AddAuditAsync(ProjectId project, DateTimeOffset at, string action, WriteOrigin origin, object detail, CancellationToken cancellationToken);

    /// <summary>The project's audit log, newest first, before the entry <paramref name="before"/> when given.</summary>
    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(ProjectId project, long? before, int limit, CancellationToken cancellationToken);

    /// <summary>The project's changes after sequence number <paramref name="after"/>, oldest first, at most <paramref name="limit"/>, with the feed's horizon.</summary>
    Task<ChangePage> ListChangesAsync(ProjectId project, long after, int limit, CancellationToken cancellationToken);

    /// <summary>Removes the project's changes made before <paramref name="before"/> and moves its horizon past them; answers how many.</summary>
    Task<int> PruneChangesAsync(ProjectId project, DateTimeOffset before, CancellationToken cancellationToken);
}
