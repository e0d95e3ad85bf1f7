using System.Globalization;

namespace Selfsame.Bench;

/// <summary>
/// The identify rows of the import and HTTP workloads: each row has two identifiers. Nine rows in ten are a new user
/// (user_id + email); every tenth row is a new anonymous_id carrying the email of an earlier row, so it merges into that
/// user's profile (the implicit-merge path).
/// </summary>
public static class Workload
{
    public static string Row(long i)
    {
        var n = i.ToString(CultureInfo.InvariantCulture);
        if (i % 10 == 9)
        {
            // An earlier row of the nine-in-ten kind: a pseudo-random group at or before this one, a position 0..8 in it.
            var group = (long)((ulong)i * 2654435761UL % (ulong)(i / 10 + 1));
            var earlier = (group * 10 + i * 7 % 9).ToString(CultureInfo.InvariantCulture);
            return $$$"""{"identifiers":[{"type":"anonymous_id","value":"anon-{{{n}}}"},{"type":"email","value":"user{{{earlier}}}@acme.com"}],"properties":{"source":"ad"}}""";
        }
        return $$$"""{"user_id":"user-{{{n}}}","identifiers":[{"type":"email","value":"user{{{n}}}@acme.com"}],"properties":{"plan":"free","n":{{{n}}}}}""";
    }

    /// <summary>Row <paramref name="i"/> shares its email with an earlier row when i % 10 == 9; that row is never itself a sharing row.</summary>
    public static string WriteFile(long rows)
    {
        var path = Path.Combine(Path.GetTempPath(), $"selfsame-bench-{rows}.ndjson");
        if (File.Exists(path))
        {
            return path;
        }
        using var writer = new StreamWriter(path + ".tmp");
        for (long i = 0; i < rows; i++)
        {
            writer.WriteLine(Row(i));
        }
        writer.Close();
        File.Move(path + ".tmp", path, overwrite: true);
        return path;
    }
}
