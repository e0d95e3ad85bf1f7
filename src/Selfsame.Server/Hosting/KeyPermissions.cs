using Selfsame.Server.Braze;

namespace Selfsame.Server.Hosting;

/// <summary>
/// The named permissions a key can be limited to, gathered from the surfaces that name them. A key created without a
/// list holds every permission that its role allows; a key with a list holds only those.
/// </summary>
public static class KeyPermissions
{
    public static IReadOnlyList<string> Known { get; } = [.. BrazeApi.Permissions];

    /// <summary>The first name that is not a known permission, or null when all are.</summary>
    public static string? FirstUnknown(IEnumerable<string> names) => names.FirstOrDefault(n => !Known.Contains(n, StringComparer.Ordinal));
}
