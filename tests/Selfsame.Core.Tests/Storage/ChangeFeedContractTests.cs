using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Tests.Support;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.Storage;

/// <summary>
/// The change feed against a real store: each identity change written in the transaction of the change, numbered in
/// commit order, none for a write that is undone or only tried (a dry run), and retention's horizon. Each kind of store
/// runs this suite through a subclass.
/// </summary>
public abstract class ChangeFeedContractTests(IStoreFactory factory) : IDisposable
{
    public void Dispose()
    {
        factory.Dispose();
        GC.SuppressFinalize(this);
    }

    private static async Task<IReadOnlyList<ChangeEntry>> FeedAsync(EngineHarness h, long after = 0) =>
        (await h.Store.Catalog.ListChangesAsync(h.Project, after, 1000, CancellationToken.None)).Changes;

    private static JsonElement Detail(ChangeEntry change) => JsonDocument.Parse(change.DetailJson).RootElement;

    [Fact]
    public async Task AJourney_IsInTheFeed_InOrder_WithEachWritesOrigin()
    {
        await using var h = await EngineHarness.CreateAsync(factory);
        var ann = await h.IdentifyAsync(Identify(User("ann"), Email("ann@acme.com")));
        var device = await h.IdentifyAsync(Identify(Device("d1")));
        await h.LinkAsync(Device("d1"), User("ann"));
        await h.UnlinkAsync(Device("d1"), User("ann"));
        var deleted = new WriteOrigin("braze", "req-delete", "key-9");
        await h.Engine.ApplyOneAsync<DeleteResult>(h.Project, new GraphOperation.DeleteProfileOp(ann.Profile), deleted, CancellationToken.None);

        var feed = await FeedAsync(h);
        Assert.Equal(
            [ChangeKinds.IdentifierAttached, ChangeKinds.IdentifierAttached, ChangeKinds.IdentifierAttached, ChangeKinds.ProfileMerged, ChangeKinds.ProfileSplit, ChangeKinds.ProfileDeleted],
            feed.Select(c => c.Kind));
        Assert.Equal(feed.Select(c => c.Seq).Order(), feed.Select(c => c.Seq));
        Assert.Equal(feed.Count, feed.Select(c => c.Seq).Distinct().Count());
        Assert.Equal("email", Detail(feed[1]).GetProperty("identifier").GetProperty("type").GetString());
        Assert.Equal("ann@acme.com", Detail(feed[1]).GetProperty("identifier").GetProperty("value").GetString());

        var merged = Detail(feed[3]);
        Assert.Equal(ann.Profile.Value, merged.GetProperty("profile_id").GetInt64());
        Assert.Equal("link", merged.GetProperty("link_kind").GetString());
        Assert.Equal(device.Record.Value, merged.GetProperty("from_record_id").GetInt64());
        var sides = Detail(feed[4]).GetProperty("into").EnumerateArray().Select(s => s.GetProperty("profile_id").GetInt64()).Order().ToList();
        Assert.Equal([ann.Profile.Value, device.Profile.Value], sides);

        var gone = feed[5];
        Assert.Equal(("braze", "req-delete", "key-9"), (gone.Surface, gone.RequestId, gone.KeyId));
        Assert.Equal(["email:ann@acme.com", "user_id:ann"],
            Detail(gone).GetProperty("identifiers").EnumerateArray().Select(i => $"{i.GetProperty("type").GetString()}:{i.GetProperty("value").GetString()}").Order());
        Assert.Equal(("test", "req-1"), (feed[0].Surface, feed[0].RequestId));
    }

    [Fact]
    public async Task AnOperationUndoneAlone_OrADryRun_LeavesNoChange_AndTheOthersOfItsCommitStay()
    {
        await using var h = await EngineHarness.CreateAsync(factory);
        // The middle operation creates a record for "lone", then fails (a link of an id into itself): undone alone.
        var outcomes = await h.Engine.ApplyAsync(h.Project, [
            new GraphOperation.IdentifyOp(Identify(User("first"))),
            new GraphOperation.Sequence([new GraphOperation.IdentifyOp(Identify(User("lone"))), new GraphOperation.LinkOp(Link(User("lone"), User("lone")))]),
            new GraphOperation.IdentifyOp(Identify(User("last"))),
        ], Origin, CancellationToken.None);
        Assert.False(outcomes[1].Succeeded);

        var tried = new WriteOrigin("native", "req-dry", null) { DryRun = new DryRunLog() };
        await h.Engine.ApplyAsync(h.Project, [new GraphOperation.IdentifyOp(Identify(User("maybe"), Email("maybe@acme.com")))], tried, CancellationToken.None);

        var values = (await FeedAsync(h)).Select(c => Detail(c).GetProperty("identifier").GetProperty("value").GetString()).ToList();
        Assert.Equal(["first", "last"], values);
    }

    [Fact]
    public async Task DroppedIdentifiers_AndRefusedMerges_AreInTheFeed_WithTheRuleAndTheReviewEntry()
    {
        await using var h = await EngineHarness.CreateAsync(factory);
        await h.IdentifyAsync(Identify(User("ann"), Email("test@test.com")));
        await h.IdentifyAsync(Identify(User("bob"), Device("shared")));
        var refused = await h.IdentifyAsync(Identify(User("ann"), Device("shared")));

        var dropped = (await FeedAsync(h)).Where(c => c.Kind == ChangeKinds.IdentifierDropped).Select(Detail).ToList();
        Assert.Equal(["deny_list.placeholder_email", "max_per_type.user_id"], dropped.Select(d => d.GetProperty("rule").GetString()));
        Assert.Equal(Assert.Single(refused.Refused).Review.Id, dropped[1].GetProperty("review_id").GetInt64());
        Assert.Equal("shared", dropped[1].GetProperty("identifier").GetProperty("value").GetString());
        Assert.DoesNotContain(await FeedAsync(h), c => c.Kind == ChangeKinds.ProfileMerged);
    }

    [Fact]
    public async Task PagesEndAnywhere_AlsoAmongTheChangesOfOneWrite()
    {
        await using var h = await EngineHarness.CreateAsync(factory);
        await h.IdentifyAsync(Identify(User("many"), Email("a@acme.com"), Email("b@acme.com"), Device("d-1"), Device("d-2")));
        var all = await FeedAsync(h);
        Assert.Equal(5, all.Count);

        var read = new List<ChangeEntry>();
        var after = 0L;
        while (true)
        {
            var page = (await h.Store.Catalog.ListChangesAsync(h.Project, after, 2, CancellationToken.None)).Changes;
            if (page.Count == 0)
            {
                break;
            }
            Assert.True(page.Count <= 2);
            read.AddRange(page);
            after = page[^1].Seq;
        }
        Assert.Equal(all.Select(c => (c.Seq, c.DetailJson)), read.Select(c => (c.Seq, c.DetailJson)));
        Assert.Equal(["user_id:many", "email:a@acme.com", "email:b@acme.com", "device_id:d-1", "device_id:d-2"],
            read.Select(c => $"{Detail(c).GetProperty("identifier").GetProperty("type").GetString()}:{Detail(c).GetProperty("identifier").GetProperty("value").GetString()}"));
    }

    [Fact]
    public async Task Pruning_RemovesOldChanges_AndMovesTheHorizonPastThem()
    {
        await using var h = await EngineHarness.CreateAsync(factory);
        // Two changes of one write (which SQLite keeps in one row) and one of another: three changes removed.
        await h.IdentifyAsync(Identify(User("old-1"), Email("old@acme.com")));
        await h.IdentifyAsync(Identify(User("old-2")));
        var old = await FeedAsync(h);
        h.Time.Advance(TimeSpan.FromDays(31));
        await h.IdentifyAsync(Identify(User("new")));

        var removed = await h.Store.Catalog.PruneChangesAsync(h.Project, h.Time.GetUtcNow().AddDays(-30), CancellationToken.None);
        Assert.Equal(3, removed);
        var page = await h.Store.Catalog.ListChangesAsync(h.Project, 0, 100, CancellationToken.None);
        Assert.Equal(old[^1].Seq, page.Horizon);
        Assert.Equal("new", Detail(Assert.Single(page.Changes)).GetProperty("identifier").GetProperty("value").GetString());
        Assert.True(page.Changes[0].Seq > page.Horizon);
        // Nothing older left: pruning again removes none and keeps the horizon.
        Assert.Equal(0, await h.Store.Catalog.PruneChangesAsync(h.Project, h.Time.GetUtcNow().AddDays(-30), CancellationToken.None));
        Assert.Equal(old[^1].Seq, (await h.Store.Catalog.ListChangesAsync(h.Project, 0, 100, CancellationToken.None)).Horizon);
    }
}

public sealed class SqliteChangeFeedTests() : ChangeFeedContractTests(new SqliteStoreFactory());

public sealed class PostgresChangeFeedTests() : ChangeFeedContractTests(new PostgresStoreFactory());
