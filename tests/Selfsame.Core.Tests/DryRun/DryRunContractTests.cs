using System.Text;
using Selfsame.Graph;
using Selfsame.Storage;
using Selfsame.Tests.Support;
using Xunit.Abstractions;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.DryRun;

/// <summary>
/// A dry run answers what the write would do and keeps nothing: random operations, each first as a dry run (the store's
/// every table must read the same after it) and then for real, whose change of the graph, observed by reads around it,
/// must be the effect the dry run predicted. Each kind of store runs this suite through a subclass.
/// </summary>
public abstract class DryRunContractTests(IStoreFactory factory, ITestOutputHelper output) : IDisposable
{
    public void Dispose()
    {
        factory.Dispose();
        GC.SuppressFinalize(this);
    }

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        foreach (var seed in Enumerable.Range(1, 10))
        {
            data.Add(seed);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task RandomOperations_DryRunPredictsTheWrite_AndKeepsNothing(int seed)
    {
        await using var h = await EngineHarness.CreateAsync(factory, new ProjectSettings { MaxRecords = 6 });
        var random = new Random(seed);
        IdentifierInput Pick() => random.Next(4) switch
        {
            0 => User($"u{random.Next(5)}"),
            1 => Email($"e{random.Next(5)}@acme.com"),
            2 => random.Next(8) == 0 ? Email("test@test.com") : Device($"d{random.Next(6)}"),
            _ => Anonymous($"a{random.Next(6)}"),
        };
        for (var step = 0; step < 300; step++)
        {
            var operation = RandomOperation(random, Pick);
            var named = await h.Engine.ReadInternalAsync(h.Project, s => Effects.NamedBy(s, operation));
            var dump = factory.Dump();
            var log = new DryRunLog();
            var predicted = (await h.Engine.ApplyAsync(h.Project, [operation], Origin with { DryRun = log }, CancellationToken.None))[0];
            Assert.True(dump == factory.Dump(), $"seed {seed}, step {step}: the dry run of {operation} changed the store");

            var before = await h.Engine.ReadInternalAsync(h.Project, s => Effects.Snapshot(s, named));
            var real = (await h.Engine.ApplyAsync(h.Project, [operation], Origin, CancellationToken.None))[0];
            var observed = await h.Engine.ReadInternalAsync(h.Project, s => Effects.Between(s, before, Effects.Snapshot(s, named, before), real.Value, real.Error));

            var expected = Describe(log.Effects.Single(), before);
            var actual = Describe(observed, before);
            if (expected != actual || predicted.Succeeded != real.Succeeded)
            {
                output.WriteLine($"seed {seed}, step {step}: {operation}\npredicted ({predicted.Error?.Message ?? "ok"}):\n{expected}\nobserved ({real.Error?.Message ?? "ok"}):\n{actual}");
            }
            Assert.Equal(real.Succeeded, predicted.Succeeded);
            Assert.Equal(expected, actual);
            Assert.Equal(real.Error?.GetType(), predicted.Error?.GetType());
        }
    }

    private static GraphOperation RandomOperation(Random random, Func<IdentifierInput> pick)
    {
        var roll = random.Next(100);
        if (roll < 45)
        {
            var others = Enumerable.Range(0, random.Next(0, 3)).Select(_ => pick()).ToList();
            var primary = pick();
            return new GraphOperation.IdentifyOp(Identify(primary, [.. others.Where(o => o.Identifier != primary.Identifier).DistinctBy(o => o.Identifier)])
                .WithProperties(("plan", random.Next(3) switch { 0 => "free", 1 => "pro", _ => null })));
        }
        if (roll < 60)
        {
            return new GraphOperation.TrackOp(Event("opened", Identify(pick())));
        }
        if (roll < 75)
        {
            return new GraphOperation.LinkOp(Link(pick(), pick()));
        }
        if (roll < 85)
        {
            return new GraphOperation.UnlinkOp(Unlink(pick(), pick()));
        }
        if (roll < 92)
        {
            return new GraphOperation.DetachIdentifierOp(pick(), Suppress: random.Next(4) == 0);
        }
        return new GraphOperation.DeleteRecordOp(new RecordId(random.Next(1, 30)));
    }

    /// <summary>
    /// An effect as text, records and profiles that did not exist before named by the order they first appear in: a
    /// store may hand a rolled-back write's ids out again (SQLite) or not (PostgreSQL's sequences), and the effect is the
    /// same either way.
    /// </summary>
    private static string Describe(Effect effect, IReadOnlyDictionary<RecordId, Effects.RecordState> before)
    {
        var known = before.Keys.Select(r => r.Value).Concat(before.Values.Select(v => v.Profile.Value)).ToHashSet();
        var fresh = new Dictionary<long, int>();
        string Id(long id) => known.Contains(id) ? id.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"new{(fresh.TryGetValue(id, out var n) ? n : fresh[id] = fresh.Count)}";
        string Ids(IEnumerable<long> ids) => string.Join(",", ids.Select(Id));
        var text = new StringBuilder();
        foreach (var r in effect.RecordsCreated)
        {
            text.Append("created ").AppendLine(Id(r.Value));
        }
        text.Append("deleted ").AppendLine(Ids(effect.RecordsDeleted.Select(r => r.Value)));
        foreach (var m in effect.Merged)
        {
            text.AppendLine($"merged {Ids(m.Before.Select(p => p.Value))} -> {Id(m.After.Value)}");
        }
        foreach (var s in effect.Split)
        {
            text.AppendLine($"split {Id(s.Before.Value)} -> {string.Join(" | ", s.Into.Select(i => $"{Id(i.Profile.Value)}:{Ids(i.Records.Select(r => r.Value))}"))}");
        }
        foreach (var r in effect.Renamed)
        {
            text.AppendLine($"renamed {Id(r.Before.Value)} -> {Id(r.After.Value)}");
        }
        foreach (var (name, changes) in new[] { ("attached", effect.Attached), ("detached", effect.Detached), ("moved", effect.Moved) })
        {
            foreach (var c in changes.OrderBy(c => c.Identifier.ToString(), StringComparer.Ordinal))
            {
                text.AppendLine($"{name} {c.Identifier} on {Id(c.Record.Value)} {(c.From is { } f ? Id(f.Value) : "-")} -> {(c.To is { } t ? Id(t.Value) : "-")}");
            }
        }
        foreach (var r in effect.Refused)
        {
            text.AppendLine($"refused {r.Identifier} {r.Field} {r.Rule} {r.Status}");
        }
        foreach (var p in effect.Properties)
        {
            text.AppendLine($"property {Id(p.Record.Value)}.{p.Key}: {p.Before?.Json ?? "-"} -> {p.After?.Json ?? "-"}");
        }
        foreach (var e in effect.EventsMoved)
        {
            text.AppendLine($"events {Id(e.Record.Value)} {Id(e.From.Value)} -> {Id(e.To.Value)}: {e.Events}");
        }
        return text.Append("events added ").Append(effect.EventsAdded).ToString();
    }

    [Fact]
    public async Task DryRun_OfAMerge_NamesTheProfilesAndMovedEvents_AndKeepsNoAuditEntry()
    {
        await using var h = await EngineHarness.CreateAsync(factory);
        var ann = await h.IdentifyAsync(Identify(User("ann")));
        var device = await h.IdentifyAsync(Identify(Device("d1")));
        await h.TrackAsync(Event("opened", Identify(Device("d1"))));
        var dump = factory.Dump();
        var log = new DryRunLog();

        var answer = await h.Engine.IdentifyAsync(h.Project, Identify(User("ann"), Device("d1")).WithProperties(("plan", "pro")), Origin with { DryRun = log }, CancellationToken.None);

        Assert.Equal(dump, factory.Dump());
        Assert.Single(answer.Merged);
        var effect = Assert.Single(log.Effects);
        var merge = Assert.Single(effect.Merged);
        Assert.Equal([ann.Profile, device.Profile], merge.Before.OrderBy(p => p.Value));
        Assert.Equal(1, Assert.Single(effect.EventsMoved).Events);
        Assert.Equal("\"pro\"", Assert.Single(effect.Properties).After!.Json);
        Assert.Equal(ann.Profile, await h.ProfileOfAsync(User("ann")));
        Assert.NotEqual(await h.ProfileOfAsync(User("ann")), await h.ProfileOfAsync(Device("d1")));
    }
}

public sealed class SqliteDryRunTests(ITestOutputHelper output) : DryRunContractTests(new SqliteStoreFactory(), output);

public sealed class PostgresDryRunTests(ITestOutputHelper output) : DryRunContractTests(new PostgresStoreFactory(), output);
