using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Retention;
using Selfsame.Tests.Support;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.Retention;

/// <summary>The sweep on each store: SQLite walks the records by id in windows, PostgreSQL reads the oldest first.</summary>
public abstract class RetentionSweepTests(IStoreFactory factory) : IDisposable
{
    protected IStoreFactory Factory { get; } = factory;

    public void Dispose()
    {
        Factory.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Run_DeletesRecordsNotSeenWithinThePeriod_WithTheirEvents_AndSplitsWhatTheyBridged()
    {
        await using var h = await EngineHarness.CreateAsync(Factory, new ProjectSettings { RetentionDays = 7 });
        await h.TrackAsync(Event("old-event", Identify(User("stale")), h.Time.GetUtcNow()));
        await h.LinkAsync(Device("phone"), User("stale"));
        await h.LinkAsync(Anonymous("web"), User("stale"));
        h.Time.Advance(TimeSpan.FromDays(8));
        await h.TrackAsync(Event("new-event", Identify(Device("phone")), h.Time.GetUtcNow()));
        await h.IdentifyAsync(Identify(Anonymous("web")));

        var sweep = new RetentionSweep(h.Store, h.Time) { BatchSize = 1 };
        var report = await sweep.RunAsync(h.Project, CancellationToken.None);

        Assert.Equal((true, 1, 1, 1), (report.Enabled, report.DeletedRecords, report.DeletedEvents, report.Batches));
        Assert.Equal(h.Time.GetUtcNow().AddDays(-7), report.Cutoff);
        Assert.Null(await h.ResolveAsync(User("stale")));
        Assert.NotEqual(await h.ProfileOfAsync(Device("phone")), await h.ProfileOfAsync(Anonymous("web")));
        Assert.Equal(["new-event"], (await h.StreamAsync((await h.ProfileOfAsync(Device("phone"))).Value)).Select(e => e.Name));
        Assert.Equal(new UniqueUsers(1, 1), (await h.Engine.UniqueUsersAsync(h.Project, DateTimeOffset.UnixEpoch, h.Time.GetUtcNow().AddDays(1), null, perDay: true, CancellationToken.None)).Total);

        var again = await sweep.RunAsync(h.Project, CancellationToken.None);
        Assert.Equal(0, again.DeletedRecords);
    }

    [Fact]
    public async Task Run_KeepsARecordThatLaterEventsNameBesideTheUsersId()
    {
        await using var h = await EngineHarness.CreateAsync(Factory, new ProjectSettings { RetentionDays = 7 });
        // Amplitude's usual pattern: anonymous events from a device, then every event after login carries both ids.
        await h.TrackAsync(Event("anonymous", Identify(Device("phone")), h.Time.GetUtcNow()));
        h.Time.Advance(TimeSpan.FromDays(1));
        await h.TrackAsync(Event("login", Identify(User("u"), Device("phone")), h.Time.GetUtcNow()));
        h.Time.Advance(TimeSpan.FromDays(5));
        await h.TrackAsync(Event("later", Identify(User("u"), Device("phone")), h.Time.GetUtcNow()));
        h.Time.Advance(TimeSpan.FromDays(3));

        var report = await new RetentionSweep(h.Store, h.Time).RunAsync(h.Project, CancellationToken.None);

        // The device's record was named three days ago: seen, so it stays, with its events, in the user's profile.
        Assert.Equal(0, report.DeletedRecords);
        Assert.Equal(await h.ProfileOfAsync(User("u")), await h.ProfileOfAsync(Device("phone")));
        Assert.Equal(3, (await h.StreamAsync((await h.ProfileOfAsync(User("u"))).Value)).Count);
    }

    [Fact]
    public async Task Run_ARecordMergeProtectionKeptApart_IsNotSeenByTheOtherUsersEvents()
    {
        await using var h = await EngineHarness.CreateAsync(Factory, new ProjectSettings { RetentionDays = 7 });
        await h.TrackAsync(Event("first", Identify(User("u1"), Device("shared")), h.Time.GetUtcNow()));
        h.Time.Advance(TimeSpan.FromDays(5));
        // u2 names the same device: two user_ids, so merge protection refuses the join; u1 was not seen by it.
        await h.TrackAsync(Event("other", Identify(User("u2"), Device("shared")), h.Time.GetUtcNow()));
        h.Time.Advance(TimeSpan.FromDays(3));

        var report = await new RetentionSweep(h.Store, h.Time).RunAsync(h.Project, CancellationToken.None);

        Assert.Equal(1, report.DeletedRecords);
        Assert.Null(await h.ResolveAsync(User("u1")));
        Assert.NotNull(await h.ResolveAsync(User("u2")));
    }

    [Fact]
    public async Task Run_ManyStaleRecords_InBatches()
    {
        await using var h = await EngineHarness.CreateAsync(Factory, new ProjectSettings { RetentionDays = 1 });
        for (var i = 0; i < 25; i++)
        {
            await h.IdentifyAsync(Identify(User($"u{i}")));
        }
        h.Time.Advance(TimeSpan.FromDays(2));
        await h.IdentifyAsync(Identify(User("u3")));

        var report = await new RetentionSweep(h.Store, h.Time) { BatchSize = 10 }.RunAsync(h.Project, CancellationToken.None);

        Assert.Equal((24, 3), (report.DeletedRecords, report.Batches));
        Assert.NotNull(await h.ResolveAsync(User("u3")));
    }

    [Fact]
    public async Task Run_WithRetentionOff_DeletesNothing()
    {
        await using var h = await EngineHarness.CreateAsync(Factory);
        await h.IdentifyAsync(Identify(User("kept")));
        h.Time.Advance(TimeSpan.FromDays(10_000));

        var report = await new RetentionSweep(h.Store, h.Time).RunAsync(h.Project, CancellationToken.None);

        Assert.False(report.Enabled);
        Assert.NotNull(await h.ResolveAsync(User("kept")));
    }
}

public sealed class SqliteRetentionSweepTests() : RetentionSweepTests(new SqliteStoreFactory())
{
    [Fact]
    public async Task Run_FindsStaleRecordsWhoseIdsLieFurtherApartThanOneLook()
    {
        await using var h = await EngineHarness.CreateAsync(Factory, new ProjectSettings { RetentionDays = 1 });
        await h.IdentifyAsync(Identify(User("early")));
        // Ids jump as if many records had come and gone in between: the sweep must look beyond its first window.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={((Selfsame.Storage.Sqlite.SqliteStore)h.Store).DatabasePath}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE counters SET value = value + {3 * Selfsame.Storage.Sqlite.SqliteGraphSession.StaleRecordsWindow} WHERE name = 'record_id'";
            Assert.Equal(1, command.ExecuteNonQuery());
        }
        await h.IdentifyAsync(Identify(User("late")));
        await h.IdentifyAsync(Identify(User("seen")));
        h.Time.Advance(TimeSpan.FromDays(2));
        await h.IdentifyAsync(Identify(User("seen")));

        var report = await new RetentionSweep(h.Store, h.Time).RunAsync(h.Project, CancellationToken.None);

        Assert.Equal((2, 2), (report.DeletedRecords, report.Batches));
        Assert.Null(await h.ResolveAsync(User("early")));
        Assert.Null(await h.ResolveAsync(User("late")));
        Assert.True((await h.ResolveAsync(User("seen")))!.Record.Value > 3 * Selfsame.Storage.Sqlite.SqliteGraphSession.StaleRecordsWindow);
    }
}

public sealed class PostgresRetentionSweepTests() : RetentionSweepTests(new PostgresStoreFactory());
