using Microsoft.AspNetCore.Http;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>
/// Which surface a path belongs to, by the prefixes surfaces are mapped under: a request that reaches no endpoint (an
/// unknown path, a method the path does not take) is answered in the envelope of the surface whose prefix it is under.
/// </summary>
public sealed class SurfacePrefixes
{
    private readonly List<(string Prefix, SurfaceDescription Surface)> _prefixes = [];

    internal void Add(string prefix, SurfaceDescription surface)
    {
        lock (_prefixes)
        {
            // The first description mapped under a prefix answers for it (Amplitude's and Journey Analytics' share theirs).
            if (!_prefixes.Any(p => p.Prefix == prefix))
            {
                _prefixes.Add((prefix.TrimEnd('/'), surface));
            }
        }
    }

    /// <summary>The surface of the longest prefix the path is under, or null.</summary>
    public SurfaceDescription? For(PathString path)
    {
        lock (_prefixes)
        {
            return _prefixes.Where(p => path.StartsWithSegments(p.Prefix, StringComparison.OrdinalIgnoreCase))
                .OrderByDescending(p => p.Prefix.Length).Select(p => p.Surface).FirstOrDefault();
        }
    }
}
