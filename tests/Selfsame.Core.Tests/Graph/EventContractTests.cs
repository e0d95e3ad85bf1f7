using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Tests.Support;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.Graph;

/// <summary>Events on the engine: ingestion, stitching at read time, idempotency, unique users. Run against each store.</summary>
public abstract class EventContractTests : IDisposable
{
    private readonly IStoreFactory _factory;

    protected EventContractTests(IStoreFactory factory) => _factory = factory;

    public void Dispose()
    {
        _factory.Dispose();
        GC.SuppressFinalize(this);
    }

    private static readonly DateTimeOffset Day1 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Track_UnknownSender_CreatesItsRecord_AndKeepsTheEventThere()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var result = await h.TrackAsync(Event("signup", Identify(Anonymous("anon-1")), Day1, properties: """{"plan":"free","n":[1,2]}"""));

        Assert.False(result.Duplicate);
        Assert.Equal(result.Record, (await h.ResolveAsync(Anonymous("anon-1")))!.Record);
        var stored = Assert.Single(await h.StreamAsync(result.Profile.Value));
        Assert.Equal(("signup", Day1, result.Record), (stored.Name, stored.Time, stored.Record));
        Assert.Equal("""{"plan":"free","n":[1,2]}""", stored.PropertiesJson);
    }

    [Fact]
    public async Task Track_EventWithTwoIdentifiers_LinksTheirRecords_AndTheProfileStreamHoldsBoth()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var device = await h.TrackAsync(Event("open", Identify(Device("d1")), Day1));
        var user = await h.TrackAsync(Event("login", Identify(User("u1")), Day1.AddMinutes(1)));
        var both = await h.TrackAsync(Event("purchase", Identify(User("u1"), Device("d1")), Day1.AddMinutes(2)));

        Assert.Equal("event", (await h.ProfileAsync(both.Profile)).Links.Single().Kind);
        Assert.Equal(["purchase", "login", "open"], (await h.StreamAsync(both.Profile.Value)).Select(e => e.Name));
        Assert.Equal(["open"], (await h.StreamAsync(device.Record.Value, recordOnly: true)).Select(e => e.Name));

        // Split again: the events stay where they were sent, and each profile's stream follows.
        await h.UnlinkAsync(Device("d1"), User("u1"));
        Assert.Equal(["purchase", "login"], (await h.StreamAsync(user.Profile.Value)).Select(e => e.Name));
        Assert.Equal(["open"], (await h.StreamAsync((await h.ProfileOfAsync(Device("d1"))).Value)).Select(e => e.Name));
    }

    [Fact]
    public async Task Track_TwoUserIds_IsRefusedByMergeProtection_ButTheEventIsKept()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        await h.TrackAsync(Event("a", Identify(User("u1"), Device("shared")), Day1));
        var result = await h.TrackAsync(Event("b", Identify(User("u2"), Device("shared")), Day1));

        Assert.Single(result.Identity!.Refused);
        Assert.NotEqual(await h.ProfileOfAsync(User("u1")), await h.ProfileOfAsync(User("u2")));
        Assert.Single(await h.StreamAsync((await h.ProfileOfAsync(User("u2"))).Value));
    }

    [Fact]
    public async Task Track_RepeatedInsertId_IsAcceptedOnce()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var first = await h.TrackAsync(Event("pay", Identify(User("u1")), Day1, insertId: "retry-1"));
        var again = await h.TrackAsync(Event("pay", Identify(User("u1"), Device("other")), Day1, insertId: "retry-1"));

        Assert.True(again.Duplicate);
        Assert.Equal(first.EventId, again.EventId);
        Assert.Single(await h.StreamAsync(first.Profile.Value));
        Assert.Null(await h.ResolveAsync(Device("other")));
    }

    [Fact]
    public async Task Stream_PagesNewestFirst_WithFilters()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        for (var i = 0; i < 7; i++)
        {
            await h.TrackAsync(Event(i % 2 == 0 ? "even" : "odd", Identify(User("u1")), Day1.AddMinutes(i)));
        }
        var profile = (await h.ProfileOfAsync(User("u1"))).Value;
        var first = (await h.Engine.EventsAsync(h.Project, profile, false, new EventQuery(null, null, null, null, 3), CancellationToken.None))!;
        var second = (await h.Engine.EventsAsync(h.Project, profile, false, new EventQuery(null, null, null, first.Next, 3), CancellationToken.None))!;
        var third = (await h.Engine.EventsAsync(h.Project, profile, false, new EventQuery(null, null, null, second.Next, 3), CancellationToken.None))!;

        Assert.Equal([6, 5, 4, 3, 2, 1, 0], first.Events.Concat(second.Events).Concat(third.Events).Select(e => (int)(e.Time - Day1).TotalMinutes));
        Assert.Null(third.Next);
        // A last page that is exactly full has no next either.
        var full = (await h.Engine.EventsAsync(h.Project, profile, false, new EventQuery(null, null, null, first.Next, 4), CancellationToken.None))!;
        Assert.Equal((4, (EventCursor?)null), (full.Events.Count, full.Next));
        Assert.Equal([6, 4, 2, 0], (await h.StreamAsync(profile, query: new EventQuery("even", null, null, null, 10))).Select(e => (int)(e.Time - Day1).TotalMinutes));
        Assert.Equal([4, 3], (await h.StreamAsync(profile, query: new EventQuery(null, Day1.AddMinutes(3), Day1.AddMinutes(5), null, 10))).Select(e => (int)(e.Time - Day1).TotalMinutes));
    }

    [Fact]
    public async Task UniqueUsers_CountsAMergedGroupOnce_AndRecordsRaw()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        await h.TrackAsync(Event("view", Identify(Device("d1")), Day1));
        await h.TrackAsync(Event("view", Identify(User("u1")), Day1));
        await h.TrackAsync(Event("view", Identify(User("u2")), Day1.AddDays(1)));
        await h.TrackAsync(Event("buy", Identify(User("u2")), Day1.AddDays(1)));
        await h.LinkAsync(Device("d1"), User("u1"));

        var (total, days) = await h.Engine.UniqueUsersAsync(h.Project, Day1.AddDays(-1), Day1.AddDays(2), null, perDay: true, CancellationToken.None);
        Assert.Equal(new UniqueUsers(Merged: 2, Raw: 3), total);
        Assert.Equal([new UniqueUsersDay(DateOnly.FromDateTime(Day1.UtcDateTime), 1, 2), new UniqueUsersDay(DateOnly.FromDateTime(Day1.AddDays(1).UtcDateTime), 1, 1)], days);
        Assert.Equal(new UniqueUsers(1, 1), (await h.Engine.UniqueUsersAsync(h.Project, Day1.AddDays(-1), Day1.AddDays(2), "buy", perDay: true, CancellationToken.None)).Total);

        await h.UnlinkAsync(Device("d1"), User("u1"));
        Assert.Equal(new UniqueUsers(3, 3), (await h.Engine.UniqueUsersAsync(h.Project, Day1.AddDays(-1), Day1.AddDays(2), null, perDay: true, CancellationToken.None)).Total);
    }

    [Fact]
    public async Task UniqueUsersPerDay_BeforeNineteenSeventy_FallOnTheirOwnUtcDay()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var noon = new DateTimeOffset(1969, 12, 31, 12, 0, 0, TimeSpan.Zero);
        await h.TrackAsync(Event("view", Identify(User("old")), noon));

        var (_, days) = await h.Engine.UniqueUsersAsync(h.Project, noon.AddDays(-1), noon.AddDays(2), null, perDay: true, CancellationToken.None);

        Assert.Equal([new UniqueUsersDay(new DateOnly(1969, 12, 31), 1, 1)], days);
    }

    [Fact]
    public async Task SummarizeEvents_CountsEachNameOverEveryRecordOfTheProfile()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        await h.TrackAsync(Event("open", Identify(Device("d1")), Day1));
        await h.TrackAsync(Event("open", Identify(User("u1")), Day1.AddDays(2)));
        await h.TrackAsync(Event("buy", Identify(User("u1"), Device("d1")), Day1.AddDays(1)));
        await h.TrackAsync(Event("open", Identify(User("someone-else")), Day1.AddDays(5)));

        var profile = await h.ProfileOfAsync(User("u1"));
        var summaries = await h.Engine.ReadAsync(h.Project, session => session.SummarizeEvents(profile), CancellationToken.None);

        Assert.Equal([("buy", 1L, Day1.AddDays(1), Day1.AddDays(1)), ("open", 2L, Day1, Day1.AddDays(2))],
            summaries.Select(s => (s.Name, s.Count, s.First, s.Last)));
    }

    [Fact]
    public async Task DeleteRecord_RemovesItsEvents()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var sent = await h.TrackAsync(Event("view", Identify(User("gone")), Day1));
        await h.Engine.DeleteRecordAsync(h.Project, sent.Record, Origin, CancellationToken.None);

        Assert.Null(await h.Engine.EventsAsync(h.Project, sent.Record.Value, true, new EventQuery(null, null, null, null, 10), CancellationToken.None));
        Assert.Equal(new UniqueUsers(0, 0), (await h.Engine.UniqueUsersAsync(h.Project, Day1.AddDays(-1), Day1.AddDays(1), null, perDay: true, CancellationToken.None)).Total);
    }
}

public sealed class SqliteEventTests() : EventContractTests(new SqliteStoreFactory());

public sealed class PostgresEventTests() : EventContractTests(new PostgresStoreFactory());
