using Selfsame.Graph;
using Selfsame.Tests.Support;
using Xunit.Abstractions;

namespace Selfsame.Tests.Graph;

/// <summary>
/// Applies random sequences of identify, link, unlink and delete to the engine and to <see cref="ReferenceModel"/>, and after
/// every step compares, for every identifier: whether it exists, which identifiers share its profile, and its profile id
/// (mapped through the records, whose numbering may differ).
/// </summary>
public abstract class RandomizedGraphTests(IStoreFactory factory, ITestOutputHelper output) : IDisposable
{
    private const int MaxRecords = 4;
    private readonly IStoreFactory _factory = factory;

    public void Dispose()
    {
        _factory.Dispose();
        GC.SuppressFinalize(this);
    }

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        foreach (var seed in Enumerable.Range(1, 40))
        {
            data.Add(seed);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task RandomOperations_MatchTheReferenceModel(int seed)
    {
        await using var h = await EngineHarness.CreateAsync(_factory, new ProjectSettings { MaxRecords = MaxRecords });
        var model = new ReferenceModel(MaxRecords, maxUserIds: 1);
        var random = new Random(seed);
        string[] universe = [.. Enumerable.Range(0, 4).Select(i => $"user_id:u{i}"), .. Enumerable.Range(0, 4).Select(i => $"email:e{i}@x.com"), .. Enumerable.Range(0, 4).Select(i => $"device_id:d{i}")];
        string Pick() => universe[random.Next(universe.Length)];
        var log = new List<string>();

        for (var step = 0; step < 60; step++)
        {
            var roll = random.Next(100);
            if (roll < 50)
            {
                var primary = Pick();
                var others = Enumerable.Range(0, random.Next(0, 3)).Select(_ => Pick()).Where(o => o != primary).Distinct().ToList();
                log.Add($"identify {primary} + [{string.Join(", ", others)}]");
                model.Identify(primary, others);
                await h.IdentifyAsync(Some.Identify(Input(primary), [.. others.Select(Input)]));
            }
            else if (roll < 92)
            {
                var (from, into) = (Pick(), Pick());
                if (from == into)
                {
                    continue;
                }
                var link = roll < 75;
                log.Add(link ? $"link {from} -> {into}" : $"unlink {from} -/- {into}");
                // The model answers whether it applied the operation; the engine refuses with a GraphException.
                var applied = link ? model.Link(from, into) : model.Unlink(from, into);
                var refused = await Refused(() => link ? h.LinkAsync(Input(from), Input(into)) : h.UnlinkAsync(Input(from), Input(into)));
                Assert.True(applied != refused, $"seed {seed}: {log[^1]}: applied by the model: {applied}, refused by the engine: {refused}\n{string.Join("\n", log)}");
            }
            else
            {
                var target = Pick();
                log.Add($"delete record of {target}");
                var known = model.DeleteRecordOf(target);
                var record = (await h.ResolveAsync(Input(target)))?.Record;
                Assert.Equal(known, record is not null);
                if (record is { } r)
                {
                    await h.Engine.DeleteRecordAsync(h.Project, r, Some.Origin, CancellationToken.None);
                }
            }
            await CompareAsync(h, model, universe, seed, log);
        }
        output.WriteLine($"seed {seed}: {log.Count} operations matched the reference model");
    }

    private static async Task CompareAsync(EngineHarness h, ReferenceModel model, string[] universe, int seed, List<string> log)
    {
        var recordMap = new Dictionary<int, RecordId>();
        foreach (var identifier in universe)
        {
            var resolution = await h.ResolveAsync(Input(identifier));
            var known = model.Identifiers.Contains(identifier);
            var context = $"seed {seed}, after:\n{string.Join("\n", log)}\nidentifier {identifier}";
            Assert.True(known == (resolution is not null), $"{context}: exists in model {known}, in engine {resolution is not null}");
            if (resolution is null)
            {
                continue;
            }
            var expected = model.SameProfileAs(identifier).Order().ToList();
            var actual = resolution.Identifiers.Select(i => i.Identifier.ToString()).Order().ToList();
            Assert.True(expected.SequenceEqual(actual), $"{context}: profile members model [{string.Join(", ", expected)}] engine [{string.Join(", ", actual)}]");

            var modelRecord = model.RecordOf(identifier);
            if (recordMap.TryGetValue(modelRecord, out var mapped))
            {
                Assert.Equal(mapped, resolution.Record);
            }
            recordMap[modelRecord] = resolution.Record;
        }
        foreach (var identifier in universe.Where(model.Identifiers.Contains))
        {
            var expectedRoot = recordMap[model.ProfileOf(identifier)];
            var actualProfile = await h.ProfileOfAsync(Input(identifier));
            Assert.True(ProfileId.Of(expectedRoot) == actualProfile,
                $"seed {seed}: profile id of {identifier}: model root {expectedRoot}, engine {actualProfile}\n{string.Join("\n", log)}");
        }
    }

    private static async Task<bool> Refused(Func<Task> action)
    {
        try
        {
            await action();
            return false;
        }
        catch (GraphException)
        {
            return true;
        }
    }

    private static IdentifierInput Input(string text)
    {
        var cut = text.IndexOf(':', StringComparison.Ordinal);
        return Some.Id(text[..cut], text[(cut + 1)..]);
    }
}

public sealed class SqliteRandomizedGraphTests(ITestOutputHelper output) : RandomizedGraphTests(new SqliteStoreFactory(), output);

public sealed class PostgresRandomizedGraphTests(ITestOutputHelper output) : RandomizedGraphTests(new PostgresStoreFactory(), output);
