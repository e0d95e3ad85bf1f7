namespace Selfsame.Server.Hosting;

/// <summary>The named permissions of one surface (Braze's users.merge...); each surface that has any registers them.</summary>
public sealed record SurfacePermissions(string Surface, IReadOnlyList<string> Names);

/// <summary>
/// The named permissions a key can be limited to, gathered from the surfaces that name them. A key created without a
/// list holds every permission that its role allows; a key with a list holds only those.
/// </summary>
public sealed class KeyPermissions(IEnumerable<SurfacePermissions> surfaces)
{
    public IReadOnlyList<string> Known { get; } = [.. surfaces.SelectMany(s => s.Names).Distinct(StringComparer.Ordinal)];

    /// <summary>The first name that is not a known permission, or null when all are.</summary>
    public string? FirstUnknown(IEnumerable<string> names) => names.FirstOrDefault(n => !Known.Contains(n, StringComparer.Ordinal));
}
