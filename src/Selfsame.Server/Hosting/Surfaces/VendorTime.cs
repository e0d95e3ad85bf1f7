using System.Globalization;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>
/// Times in vendor answers, as the vendors' documents write them: UTC to the second with a <c>Z</c>
/// (<c>2025-02-02T12:34:56Z</c>), the same on create and on read.
/// </summary>
internal static class VendorTime
{
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string? Format(DateTimeOffset? time) => time is { } value ? Format(value) : null;
}
