using System.Collections.Concurrent;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Storage;

namespace Selfsame;

/// <summary>Project look-ups with a short-lived cache (settings are read on every request that parses identifiers).</summary>
public sealed class Projects(IProjectCatalog catalog, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<ProjectId, (Project Project, DateTimeOffset Until)> _cache = new();

    public async Task<Project?> GetAsync(ProjectId id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(id, out var hit) && hit.Until > now)
        {
            return hit.Project;
        }
        var project = await catalog.GetProjectAsync(id, cancellationToken);
        if (project is not null)
        {
            _cache[id] = (project, now + CacheFor);
        }
        return project;
    }

    /// <summary>Creates the project; false when it exists already.</summary>
    public Task<bool> CreateAsync(ProjectId id, string? name, CancellationToken cancellationToken, ApiKeyRecord? firstKey = null) =>
        catalog.CreateProjectAsync(new Project(id, name ?? id.Value, time.GetUtcNow(), ProjectSettings.Default), firstKey, cancellationToken);

    /// <summary>Replaces the project's settings (deny-list values stored normalized, as identifiers are compared).</summary>
    public async Task UpdateSettingsAsync(ProjectId id, ProjectSettings settings, WriteOrigin origin, CancellationToken cancellationToken)
    {
        settings = settings with { DenyList = settings.DenyList.Normalized(settings) };
        await catalog.UpdateSettingsAsync(id, settings, cancellationToken);
        await catalog.AddAuditAsync(id, time.GetUtcNow(), "settings.update", origin, settings, cancellationToken);
        _cache.TryRemove(id, out _);
    }

    /// <summary>Creates the project 'default' when the store has no project yet.</summary>
    public async Task EnsureDefaultAsync(CancellationToken cancellationToken)
    {
        if ((await catalog.ListProjectsAsync(cancellationToken)).Count == 0)
        {
            await CreateAsync(ProjectId.Default, "Default project", cancellationToken);
        }
    }

    public Task<IReadOnlyList<Project>> ListAsync(CancellationToken cancellationToken) => catalog.ListProjectsAsync(cancellationToken);
}
