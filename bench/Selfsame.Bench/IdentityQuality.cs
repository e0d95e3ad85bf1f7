using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Selfsame.Bench;

/// <summary>
/// How well identities are resolved: sends the traffic of an <see cref="IdentityPopulation"/> to a real server ('selfsame
/// serve', the Release build, SQLite in a fresh data folder) through POST /v1/batch, in order, 1,000 identify calls a
/// batch; reads every identifier's profile back from GET /v1/export; and scores it pairwise against the truth, beside two
/// baselines run on the same calls: every call joins all its identifiers, and the same refusing to join two user_ids.
/// </summary>
public static class IdentityQuality
{
    private const int BatchSize = 1000;

    public static async Task<int> RunAsync(string[] args)
    {
        var seed = 1;
        var people = 20_000;
        for (var i = 0; i < args.Length; i += 2)
        {
            if (i + 1 == args.Length || args[i] is not ("--seed" or "--people"))
            {
                Console.Error.WriteLine("usage: quality [--seed N] [--people N]");
                return 2;
            }
            var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--seed")
            {
                seed = value;
            }
            else
            {
                people = value;
            }
        }
        var cli = Path.Combine(HttpLoad.RepositoryRoot(), "src", "Selfsame.Cli", "bin", "Release", "net10.0", "selfsame.dll");
        if (!File.Exists(cli))
        {
            Console.Error.WriteLine($"build the server first: dotnet build -c Release src/Selfsame.Cli (no {cli})");
            return 2;
        }

        var population = IdentityPopulation.Generate(people, seed);
        // Every identifier sent gets an index in the order it was first sent; a call becomes the indexes of its identifiers.
        var indexes = new Dictionary<SentIdentifier, int>();
        var sent = new List<SentIdentifier>();
        var calls = population.Calls.Select(c => c.All.Select(Index).ToArray()).ToList();
        int Index(SentIdentifier identifier)
        {
            if (!indexes.TryGetValue(identifier, out var index))
            {
                index = indexes[identifier] = sent.Count;
                sent.Add(identifier);
            }
            return index;
        }
        Console.WriteLine($"identity quality: seed {seed}, {people:N0} people ({population.Registered:N0} registered, {population.EmailOnly:N0} by email only, " +
                          $"{population.Anonymous:N0} anonymous), {population.SharedDevices:N0} shared devices, {population.JunkTypers:N0} junk-email typers; " +
                          $"{calls.Count:N0} identify calls sending {sent.Count:N0} identifiers");

        var profiles = await SelfsameProfilesAsync(cli, population.Calls);
        var unplaced = sent.Count(x => !profiles.ContainsKey(x));
        Console.WriteLine($"identifiers sent and in no exported profile: {unplaced:N0}{(unplaced > 0 ? " (scored as joined to nothing)" : "")}");

        var isUserId = sent.Select(x => x.Type == IdentityPopulation.UserId).ToArray();
        var scores = new[]
        {
            Measure("Selfsame", sent, population, sent.Select((x, i) => profiles.TryGetValue(x, out var profile) ? profile : -1L - i).ToArray()),
            Measure("every call joins its identifiers", sent, population, Baseline(calls, isUserId, refuseTwoUserIds: false)),
            Measure("never join two user_ids", sent, population, Baseline(calls, isUserId, refuseTwoUserIds: true)),
        };
        Console.WriteLine();
        Console.WriteLine("| method | precision | recall | joined pairs | true pairs | over-merged pairs | over-merged, by what the profile holds | missed pairs, by whose | largest profile |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var s in scores)
        {
            Console.WriteLine($"| {s.Method} | {s.Precision:F4} | {s.Recall:F4} | {s.JoinedPairs:N0} | {s.TruePairs:N0} | {s.JoinedPairs - s.TrueJoinedPairs:N0} | " +
                              $"{s.OverMergedBy} | {s.MissedBy} | {s.LargestProfile:N0} identifiers |");
        }
        return 0;
    }

    private sealed record Score(string Method, long JoinedPairs, long TruePairs, long TrueJoinedPairs, long LargestProfile, string OverMergedBy, string MissedBy)
    {
        public double Precision => JoinedPairs == 0 ? 1 : (double)TrueJoinedPairs / JoinedPairs;
        public double Recall => TruePairs == 0 ? 1 : (double)TrueJoinedPairs / TruePairs;
    }

    /// <summary>
    /// Pairwise scores of a clustering of the identifiers sent (<paramref name="cluster"/>[i] is the profile of sent[i]),
    /// counted within groups: pairs joined are those in one profile, true pairs those of one person, true joined pairs
    /// those of one (person, profile) cell. A junk email is a person of its own, so every pair it is joined in is false; a
    /// shared device belongs to two people and is left out (its pairs are neither true nor false).
    /// </summary>
    private static Score Measure(string method, IReadOnlyList<SentIdentifier> sent, IdentityPopulation population, long[] cluster)
    {
        var profileSizes = new Dictionary<long, long>();
        var personSizes = new Dictionary<long, long>();
        var cells = new Dictionary<(long Person, long Profile), long>();
        var holdsJunk = new HashSet<long>();
        var holdsShared = new HashSet<long>();
        for (var i = 0; i < sent.Count; i++)
        {
            var owner = population.Owner(sent[i]);
            if (owner == IdentityPopulation.Shared)
            {
                holdsShared.Add(cluster[i]);
                continue;
            }
            if (owner == IdentityPopulation.Nobody)
            {
                holdsJunk.Add(cluster[i]);
            }
            long person = owner == IdentityPopulation.Nobody ? -1L - i : owner;
            Count(profileSizes, cluster[i]);
            Count(personSizes, person);
            Count(cells, (person, cluster[i]));
        }

        // A false pair is blamed on what its profile holds: a junk email first (it gathers many people), else a shared device.
        var overMerged = profileSizes.ToDictionary(p => p.Key, p => Pairs(p.Value));
        var missed = personSizes.ToDictionary(p => p.Key, p => Pairs(p.Value));
        foreach (var ((person, profile), n) in cells)
        {
            overMerged[profile] -= Pairs(n);
            missed[person] -= Pairs(n);
        }
        var overMergedBy = Tally(overMerged, profile =>
            holdsJunk.Contains(profile) ? "junk email" : holdsShared.Contains(profile) ? "shared device_id" : "other");
        var missedBy = Tally(missed, person =>
            population.TypedJunk((int)person) ? "junk-email typers" : population.SharesDevice((int)person) ? "device sharers" : "others");
        return new Score(method, profileSizes.Values.Sum(Pairs), personSizes.Values.Sum(Pairs), cells.Values.Sum(Pairs),
            profileSizes.Values.Max(), overMergedBy, missedBy);
    }

    /// <summary>The positive counts summed by the label of their key, largest first: "junk email 1,234, shared device_id 56".</summary>
    private static string Tally(Dictionary<long, long> counts, Func<long, string> label)
    {
        var sums = counts.Where(c => c.Value > 0).GroupBy(c => label(c.Key), c => c.Value).Select(g => (Label: g.Key, Sum: g.Sum())).ToList();
        return sums.Count == 0 ? "none" : string.Join(", ", sums.OrderByDescending(s => s.Sum).Select(s => $"{s.Label} {s.Sum:N0}"));
    }

    private static long Pairs(long n) => n * (n - 1) / 2;

    private static void Count<TKey>(Dictionary<TKey, long> counts, TKey key) where TKey : notnull =>
        counts[key] = counts.GetValueOrDefault(key) + 1;

    /// <summary>A baseline on the calls (identifier indexes, the primary first): each call joins its primary with each
    /// other identifier, in order; with <paramref name="refuseTwoUserIds"/>, not when both sides already hold a user_id.</summary>
    private static long[] Baseline(List<int[]> calls, bool[] isUserId, bool refuseTwoUserIds)
    {
        var profiles = new Profiles(isUserId);
        foreach (var call in calls)
        {
            foreach (var other in call.Skip(1))
            {
                profiles.Join(call[0], other, refuseTwoUserIds);
            }
        }
        return Enumerable.Range(0, isUserId.Length).Select(i => (long)profiles.Find(i)).ToArray();
    }

    /// <summary>A union-find over identifiers, each set knowing whether it holds a user_id.</summary>
    private sealed class Profiles
    {
        private readonly int[] _parent;
        private readonly bool[] _holdsUserId;

        public Profiles(bool[] isUserId)
        {
            _parent = Enumerable.Range(0, isUserId.Length).ToArray();
            _holdsUserId = (bool[])isUserId.Clone();
        }

        public int Find(int i)
        {
            while (_parent[i] != i)
            {
                i = _parent[i] = _parent[_parent[i]];
            }
            return i;
        }

        public void Join(int a, int b, bool refuseTwoUserIds)
        {
            var (x, y) = (Find(a), Find(b));
            if (x == y || (refuseTwoUserIds && _holdsUserId[x] && _holdsUserId[y]))
            {
                return;
            }
            _parent[y] = x;
            _holdsUserId[x] |= _holdsUserId[y];
        }
    }

    /// <summary>Sends the calls to a fresh server and answers the profile id of every identifier it exported.</summary>
    private static async Task<Dictionary<SentIdentifier, long>> SelfsameProfilesAsync(string cli, IReadOnlyList<IdentifyCall> calls)
    {
        var data = Path.Combine(Path.GetTempPath(), $"selfsame-bench-quality-{Guid.NewGuid():N}");
        Process? server = null;
        try
        {
            var key = (await HttpLoad.RunCli(cli, "key", "create", "--data", data, "--role", "write")).TrimEnd().Split('\n')[^1];
            var port = HttpLoad.FreePort();
            server = HttpLoad.Start(cli, "serve", "--data", data, "--urls", $"http://127.0.0.1:{port}");
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            await HttpLoad.WaitForHealth(client);

            var clock = Stopwatch.StartNew();
            long failed = 0, refused = 0;
            for (var at = 0; at < calls.Count; at += BatchSize)
            {
                using var response = await client.PostAsync("/v1/batch", BatchBody(calls.Skip(at).Take(BatchSize)));
                response.EnsureSuccessStatusCode();
                using var answer = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
                foreach (var result in answer.RootElement.GetProperty("results").EnumerateArray())
                {
                    if (!result.GetProperty("ok").GetBoolean())
                    {
                        if (failed++ == 0)
                        {
                            Console.Error.WriteLine($"call {at + result.GetProperty("index").GetInt32()} failed: {result.GetProperty("error")}");
                        }
                        continue;
                    }
                    refused += result.GetProperty("result").GetProperty("refused").GetArrayLength();
                }
            }
            Console.WriteLine($"selfsame: {calls.Count:N0} calls in {(calls.Count + BatchSize - 1) / BatchSize:N0} batches, {clock.Elapsed.TotalSeconds:F1} s; " +
                              $"{failed:N0} calls failed, {refused:N0} identifiers refused");

            clock.Restart();
            var profiles = new Dictionary<SentIdentifier, long>();
            using (var export = await client.GetAsync("/v1/export", HttpCompletionOption.ResponseHeadersRead))
            {
                export.EnsureSuccessStatusCode();
                using var reader = new StreamReader(await export.Content.ReadAsStreamAsync());
                while (await reader.ReadLineAsync() is { } line)
                {
                    using var view = JsonDocument.Parse(line);
                    var profile = view.RootElement.GetProperty("profile_id").GetInt64();
                    foreach (var identifier in view.RootElement.GetProperty("identifiers").EnumerateArray())
                    {
                        profiles[new(identifier.GetProperty("type").GetString()!, identifier.GetProperty("value").GetString()!)] = profile;
                    }
                }
            }
            Console.WriteLine($"export: {profiles.Values.Distinct().Count():N0} profiles, {profiles.Count:N0} identifiers, {clock.Elapsed.TotalSeconds:F1} s");
            return profiles;
        }
        finally
        {
            if (server is not null)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
                server.Dispose();
            }
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    /// <summary>{"operations":[{"op":"identify","user_id":..,"identifiers":[{"type":..,"value":..}]}, ...]}</summary>
    private static ByteArrayContent BatchBody(IEnumerable<IdentifyCall> calls)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("operations");
            foreach (var call in calls)
            {
                json.WriteStartObject();
                json.WriteString("op", "identify");
                if (call.UserId is not null)
                {
                    json.WriteString("user_id", call.UserId);
                }
                json.WriteStartArray("identifiers");
                foreach (var identifier in call.Identifiers)
                {
                    json.WriteStartObject();
                    json.WriteString("type", identifier.Type);
                    json.WriteString("value", identifier.Value);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
