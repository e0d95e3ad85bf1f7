using System.Reflection;

namespace Selfsame.Storage;

/// <summary>The numbered migration scripts a store embeds (<c>0001_initial.sql</c>...), in order.</summary>
internal static class MigrationScripts
{
    public static IReadOnlyList<(int Version, string Name, string Sql)> Load(string resourcePrefix)
    {
        var assembly = Assembly.GetExecutingAssembly();
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(resourcePrefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n =>
            {
                var name = n[resourcePrefix.Length..^4];
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                return (int.Parse(name[..4], System.Globalization.CultureInfo.InvariantCulture), name, reader.ReadToEnd());
            })
            .OrderBy(s => s.Item1)
            .ToList();
    }
}
