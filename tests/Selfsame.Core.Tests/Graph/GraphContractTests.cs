using Selfsame.Graph;
using Selfsame.Tests.Support;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.Graph;

/// <summary>The engine's rules, run against a real store. Each kind of store runs this suite through a subclass.</summary>
public abstract class GraphContractTests : IDisposable
{
    private readonly IStoreFactory _factory;

    protected GraphContractTests(IStoreFactory factory) => _factory = factory;

    public void Dispose()
    {
        _factory.Dispose();
        GC.SuppressFinalize(this);
    }

    private Task<EngineHarness> HarnessAsync(ProjectSettings? settings = null) => EngineHarness.CreateAsync(_factory, settings);

    [Fact]
    public async Task Identify_NewUser_CreatesOneRecordHoldingEveryIdentifier()
    {
        await using var h = await HarnessAsync();
        var result = await h.IdentifyAsync(Identify(User("u1"), Email("Ann@Acme.COM "), Device("d1")));

        Assert.True(result.Created);
        Assert.Equal(ProfileId.Of(result.Record), result.Profile);
        var resolution = (await h.ResolveAsync(Email("ann@acme.com")))!;
        Assert.Equal(result.Record, resolution.Record);
        Assert.Equal(["device_id:d1", "email:ann@acme.com", "user_id:u1"], resolution.Identifiers.Select(i => i.Identifier.ToString()).Order());
        Assert.Equal("Ann@Acme.COM ", resolution.Identifiers.Single(i => i.Identifier.Type == "email").Display);
    }

    [Fact]
    public async Task Identify_KnownUser_ReusesRecordAndMovesLastSeen()
    {
        await using var h = await HarnessAsync();
        var first = await h.IdentifyAsync(Identify(User("u1")));
        h.Time.Advance(TimeSpan.FromHours(3));
        var second = await h.IdentifyAsync(Identify(User("u1"), Email("a@x.com")));

        Assert.False(second.Created);
        Assert.Equal(first.Record, second.Record);
        var record = (await h.ProfileAsync(second.Profile)).Records.Single().Record;
        Assert.Equal(record.CreatedAt + TimeSpan.FromHours(3), record.LastSeenAt);
    }

    [Fact]
    public async Task Identify_AnonymousRecordThenLogin_MergesIntoTheIdentifiedRecord()
    {
        await using var h = await HarnessAsync();
        var anonymous = await h.IdentifyAsync(Identify(Anonymous("anon-1"), Device("d1")).WithProperties(("first_page", "/pricing")));
        var login = await h.IdentifyAsync(Identify(User("u1"), Anonymous("anon-1")));

        var merge = Assert.Single(login.Merged);
        Assert.Equal(anonymous.Profile, merge.MergedProfile);
        Assert.Equal(ProfileId.Of(login.Record), login.Profile);
        Assert.Equal(login.Profile, await h.ProfileOfAsync(Device("d1")));
        var view = await h.ProfileAsync(login.Profile);
        Assert.Equal(2, view.Records.Count);
        Assert.Equal(anonymous.Record, view.Properties.Single(p => p.Key == "first_page").Record);
    }

    [Fact]
    public async Task Identify_IdentifierOfAnotherUser_IsRefusedAloneAndSaysWhy()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("u1"), Email("shared@x.com")));
        var result = await h.IdentifyAsync(Identify(User("u2"), Email("shared@x.com"), Device("d2")));

        var refusal = Assert.Single(result.Refused);
        Assert.Equal("email:shared@x.com", refusal.Identifier.ToString());
        Assert.Contains("max_per_type.user_id", refusal.Reason, StringComparison.Ordinal);
        Assert.Empty(result.Merged);
        Assert.NotEqual(await h.ProfileOfAsync(User("u1")), await h.ProfileOfAsync(User("u2")));
        Assert.Equal(await h.ProfileOfAsync(User("u2")), await h.ProfileOfAsync(Device("d2")));
    }

    [Fact]
    public async Task Identify_SecondUserIdOnOneRecord_IsRefused()
    {
        await using var h = await HarnessAsync();
        var result = await h.IdentifyAsync(Identify(User("u1"), User("u2")));

        Assert.Equal("user_id:u2", Assert.Single(result.Refused).Identifier.ToString());
        Assert.Null(await h.ResolveAsync(User("u2")));
    }

    [Fact]
    public async Task Identify_MergeBeyondRecordCap_IsRefused()
    {
        await using var h = await HarnessAsync(new ProjectSettings { MaxRecords = 2 });
        await h.IdentifyAsync(Identify(Device("d1")));
        await h.IdentifyAsync(Identify(Device("d2")));
        await h.IdentifyAsync(Identify(Anonymous("a1"), Device("d1")));
        var result = await h.IdentifyAsync(Identify(Anonymous("a1"), Device("d2")));

        Assert.Contains("max_records", Assert.Single(result.Refused).Reason, StringComparison.Ordinal);
        Assert.NotEqual(await h.ProfileOfAsync(Device("d1")), await h.ProfileOfAsync(Device("d2")));
    }

    [Fact]
    public async Task Link_Explicit_PassesThePerTypeLimitButNeverTheRecordCap()
    {
        await using var h = await HarnessAsync(new ProjectSettings { MaxRecords = 2 });
        await h.IdentifyAsync(Identify(User("u1")));
        await h.IdentifyAsync(Identify(User("u2")));
        var link = await h.LinkAsync(User("u2"), User("u1"));

        Assert.False(link.AlreadyJoined);
        Assert.Equal(await h.ProfileOfAsync(User("u1")), await h.ProfileOfAsync(User("u2")));
        var error = await Assert.ThrowsAsync<GraphException>(() => h.LinkAsync(User("u3"), User("u1")));
        Assert.Equal(GraphErrorKind.Conflict, error.Kind);
        Assert.Null(await h.ResolveAsync(User("u3")));
    }

    [Fact]
    public async Task Link_UnknownIdentifiers_CreateTheirRecords()
    {
        await using var h = await HarnessAsync();
        var link = await h.LinkAsync(User("new-a"), User("new-b"));

        Assert.Equal(2, link.CreatedRecords.Count);
        Assert.Equal(ProfileId.Of(link.Into), await h.ProfileOfAsync(User("new-a")));
    }

    [Fact]
    public async Task ProfileId_IntoSideOfTheLinkWins_AndUnrelatedWritesLeaveItAlone()
    {
        await using var h = await HarnessAsync();
        var older = await h.IdentifyAsync(Identify(User("old")));
        var newer = await h.IdentifyAsync(Identify(User("new")));
        await h.LinkAsync(User("old"), User("new"));
        Assert.Equal(ProfileId.Of(newer.Record), await h.ProfileOfAsync(User("old")));

        await h.IdentifyAsync(Identify(User("old"), Email("o@x.com")).WithProperties(("plan", "pro")));
        await h.IdentifyAsync(Identify(User("other")));
        await h.LinkAsync(User("x1"), User("x2"));

        Assert.Equal(ProfileId.Of(newer.Record), await h.ProfileOfAsync(User("old")));
        Assert.NotEqual(ProfileId.Of(older.Record), await h.ProfileOfAsync(User("new")));
    }

    [Fact]
    public async Task ProfileId_UserIdAttachedAfterAMergeInTheSameIdentify_MakesThatRecordTheRoot()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(Anonymous("a")));
        await h.IdentifyAsync(Identify(Device("b")));
        await h.LinkAsync(Device("b"), Anonymous("a"));

        // b is merged into the new record n, so a and n are both kept sides; only n holds a user_id once u is attached.
        var result = await h.IdentifyAsync(Identify(Anonymous("n"), Device("b"), User("u")));

        Assert.Single(result.Merged);
        Assert.Equal(ProfileId.Of(result.Record), result.Profile);
        Assert.Equal(ProfileId.Of(result.Record), await h.ProfileOfAsync(Anonymous("a")));
    }

    [Fact]
    public async Task Unlink_OnlyBridge_SplitsAndGivesEachPartItsFormerIdAndProperties()
    {
        await using var h = await HarnessAsync();
        var a = await h.IdentifyAsync(Identify(User("a"), Email("a@x.com")).WithProperties(("plan", "free"), ("color", "red")));
        var b = await h.IdentifyAsync(Identify(User("b"), Device("db")).WithProperties(("plan", "pro")));
        var before = (A: await h.ProfileAsync(a.Profile), B: await h.ProfileAsync(b.Profile));
        await h.LinkAsync(User("b"), User("a"));
        Assert.Equal(a.Profile, await h.ProfileOfAsync(Device("db")));

        var unlink = await h.UnlinkAsync(User("b"), User("a"));

        Assert.False(unlink.StillJoined);
        Assert.Single(unlink.Removed);
        Assert.Equal(a.Profile, await h.ProfileOfAsync(Email("a@x.com")));
        Assert.Equal(b.Profile, await h.ProfileOfAsync(Device("db")));
        var after = (A: await h.ProfileAsync(a.Profile), B: await h.ProfileAsync(b.Profile));
        Assert.Equal(Describe(before.A), Describe(after.A));
        Assert.Equal(Describe(before.B), Describe(after.B));
    }

    [Fact]
    public async Task Unlink_WithAnotherPath_StaysJoined()
    {
        await using var h = await HarnessAsync();
        await h.LinkAsync(User("a"), User("b"));
        await h.LinkAsync(User("b"), User("c"));
        await h.LinkAsync(User("a"), User("c"));

        var unlink = await h.UnlinkAsync(User("a"), User("b"));

        Assert.True(unlink.StillJoined);
        Assert.Equal(await h.ProfileOfAsync(User("a")), await h.ProfileOfAsync(User("b")));
    }

    [Fact]
    public async Task Unlink_UnknownIdentifier_IsNotFoundNamingTheField()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("a")));
        var error = await Assert.ThrowsAsync<GraphException>(() => h.UnlinkAsync(User("a"), Email("nobody@x.com")));
        Assert.Equal(GraphErrorKind.NotFound, error.Kind);
        Assert.Equal("email", error.Field);
    }

    [Fact]
    public async Task Properties_KeptSideOfExplicitMergeWins_OtherwiseLatestWrite()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("kept")).WithProperties(("plan", "gold")));
        h.Time.Advance(TimeSpan.FromMinutes(1));
        await h.IdentifyAsync(Identify(User("merged")).WithProperties(("plan", "free"), ("city", "Oslo")));
        await h.LinkAsync(User("merged"), User("kept"));
        var kept = (await h.ResolveAsync(User("kept")))!.Record;

        var view = await h.ProfileAsync(await h.ProfileOfAsync(User("kept")));
        Assert.Equal("\"gold\"", view.Properties.Single(p => p.Key == "plan").Value.Json);
        Assert.Equal(kept, view.Properties.Single(p => p.Key == "plan").Record);
        Assert.Equal("\"Oslo\"", view.Properties.Single(p => p.Key == "city").Value.Json);

        // Records joined implicitly (identify) have no kept side: the latest write wins.
        await h.IdentifyAsync(Identify(Anonymous("an")).WithProperties(("lang", "de")));
        h.Time.Advance(TimeSpan.FromMinutes(1));
        var login = await h.IdentifyAsync(Identify(User("kept"), Anonymous("an")));
        Assert.Single(login.Merged);
        await h.IdentifyAsync(Identify(Anonymous("an")).WithProperties(("lang", "fr")));
        await h.IdentifyAsync(Identify(User("kept")).WithProperties(("lang", "en")));
        view = await h.ProfileAsync(await h.ProfileOfAsync(User("kept")));
        Assert.Equal("\"en\"", view.Properties.Single(p => p.Key == "lang").Value.Json);
        await h.IdentifyAsync(Identify(Anonymous("an")).WithProperties(("lang", "nl")));
        view = await h.ProfileAsync(await h.ProfileOfAsync(User("kept")));
        Assert.Equal("\"nl\"", view.Properties.Single(p => p.Key == "lang").Value.Json);
    }

    [Fact]
    public async Task Properties_SetOnceAndUnset_ActOnTheRecord()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("u")).WithSetOnce(("first_seen", "2026-01-01T00:00:00Z")).WithProperties(("plan", "free"), ("n", 1.5), ("ok", true)));
        await h.IdentifyAsync(Identify(User("u")).WithSetOnce(("first_seen", "2027-01-01T00:00:00Z")));
        await h.IdentifyAsync(Identify(User("u")) with { Unset = ["plan"] });

        var properties = (await h.ProfileAsync(await h.ProfileOfAsync(User("u")))).Properties.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("\"2026-01-01T00:00:00Z\"", properties["first_seen"].Json);
        Assert.Equal(PropertyType.DateTime, properties["first_seen"].Type);
        Assert.Equal(PropertyType.Number, properties["n"].Type);
        Assert.Equal(PropertyType.Boolean, properties["ok"].Type);
        Assert.False(properties.ContainsKey("plan"));
    }

    [Fact]
    public async Task ReplaceIdentifier_MovesTheRecordToTheNewIdentifier_AndRefusesOneInUse()
    {
        await using var h = await HarnessAsync();
        var user = await h.IdentifyAsync(Identify(User("old"), Email("a@x.com")));
        await h.IdentifyAsync(Identify(User("taken")));

        var record = await h.Engine.WriteAsync(h.Project, tx => IdentityGraph.ReplaceIdentifier(tx, User("old"), User("new"), Origin), default);

        Assert.Equal(user.Record, record);
        Assert.Null(await h.ResolveAsync(User("old")));
        Assert.Equal(user.Profile, await h.ProfileOfAsync(User("new")));
        var refused = await Assert.ThrowsAsync<GraphException>(() =>
            h.Engine.WriteAsync(h.Project, tx => IdentityGraph.ReplaceIdentifier(tx, User("new"), User("taken"), Origin), default));
        Assert.Equal(GraphErrorKind.Conflict, refused.Kind);
        Assert.Equal(user.Profile, await h.ProfileOfAsync(User("new")));
        Assert.Equal(GraphErrorKind.NotFound, (await Assert.ThrowsAsync<GraphException>(() =>
            h.Engine.WriteAsync(h.Project, tx => IdentityGraph.ReplaceIdentifier(tx, User("nobody"), User("other"), Origin), default))).Kind);
    }

    [Fact]
    public async Task DeleteRecord_RemovesItForGoodAndSplitsWhatItBridged()
    {
        await using var h = await HarnessAsync();
        await h.LinkAsync(User("left"), User("middle"));
        await h.LinkAsync(User("right"), User("middle"));
        var middle = (await h.ResolveAsync(User("middle")))!.Record;

        var result = await h.Engine.DeleteRecordAsync(h.Project, middle, Origin, CancellationToken.None);

        Assert.Equal([middle], result.DeletedRecords);
        Assert.Null(await h.ResolveAsync(User("middle")));
        Assert.NotEqual(await h.ProfileOfAsync(User("left")), await h.ProfileOfAsync(User("right")));
        Assert.Empty((await h.ProfileAsync(await h.ProfileOfAsync(User("left")))).Links);
    }

    [Fact]
    public async Task LinkIds_AreNeverHandedOutTwice()
    {
        await using var h = await HarnessAsync();
        var first = (await h.LinkAsync(User("a"), User("b"))).Link!.Id;
        await h.UnlinkAsync(User("a"), User("b"));
        var second = (await h.LinkAsync(User("c"), User("d"))).Link!.Id;

        Assert.True(second.Value > first.Value, $"link id {first} was handed out again as {second}");
    }

    [Fact]
    public async Task DeleteProfile_ByAnIdThatWasMergedAway_DeletesTheProfileHoldingIt()
    {
        await using var h = await HarnessAsync();
        var older = await h.IdentifyAsync(Identify(User("old")));
        await h.LinkAsync(User("old"), User("new"));
        Assert.NotEqual(older.Profile, await h.ProfileOfAsync(User("old")));

        var result = await h.Engine.DeleteProfileAsync(h.Project, older.Profile, Origin, CancellationToken.None);

        Assert.Equal(2, result.DeletedRecords.Count);
        Assert.Null(await h.ResolveAsync(User("new")));
    }

    [Fact]
    public async Task DeleteProfile_RemovesEveryRecord()
    {
        await using var h = await HarnessAsync();
        await h.LinkAsync(User("a"), User("b"));
        var profile = await h.ProfileOfAsync(User("a"));

        var result = await h.Engine.DeleteProfileAsync(h.Project, profile, Origin, CancellationToken.None);

        Assert.Equal(2, result.DeletedRecords.Count);
        Assert.Null(await h.ResolveAsync(User("a")));
        Assert.Null(await h.ResolveAsync(User("b")));
        await Assert.ThrowsAsync<GraphException>(() => h.Engine.DeleteProfileAsync(h.Project, profile, Origin, CancellationToken.None));
    }

    [Fact]
    public async Task Explain_GivesTheChainOfLinks()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(Device("d1")));
        await h.IdentifyAsync(Identify(User("u1"), Device("d1")));
        await h.LinkAsync(User("u2"), User("u1"));
        await h.IdentifyAsync(Identify(User("other")));

        var explanation = (await h.Engine.ExplainAsync(h.Project, Device("d1"), User("u2"), CancellationToken.None))!;
        Assert.True(explanation.Joined);
        Assert.Equal(["identify", "link"], explanation.Path.Select(l => l.Kind));

        var apart = (await h.Engine.ExplainAsync(h.Project, Device("d1"), User("other"), CancellationToken.None))!;
        Assert.False(apart.Joined);
        Assert.Empty(apart.Path);
    }

    [Fact]
    public async Task Identify_ConcurrentlyWithTheSameNewIdentifier_CreatesOneRecord()
    {
        await using var h = await HarnessAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => h.IdentifyAsync(Identify(Email("race@x.com"), Device($"d{i}"))))));

        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.Record).Distinct());
        Assert.Equal(41, (await h.ResolveAsync(Email("race@x.com")))!.Identifiers.Count);
    }

    [Fact]
    public async Task Projects_NeverShareIdentifiers()
    {
        await using var one = await HarnessAsync();
        var two = new Selfsame.Graph.IdentityEngine(one.Store);
        var other = ProjectId.Parse($"q{Guid.NewGuid():N}"[..20]);
        await one.Store.Catalog.CreateProjectAsync(new Project(other, "other", one.Time.GetUtcNow(), ProjectSettings.Default), null, CancellationToken.None);

        await one.IdentifyAsync(Identify(User("u1"), Email("a@x.com")));
        Assert.Null(await two.ResolveAsync(other, Email("a@x.com").Identifier, CancellationToken.None));
        await two.IdentifyAsync(other, Identify(User("u9"), Email("a@x.com")), Origin, CancellationToken.None);

        Assert.Equal("u1", (await one.ResolveAsync(Email("a@x.com")))!.Identifiers.Single(i => i.Identifier.Type == "user_id").Identifier.Value);
        Assert.Equal("u9", (await two.ResolveAsync(other, Email("a@x.com").Identifier, CancellationToken.None))!.Identifiers.Single(i => i.Identifier.Type == "user_id").Identifier.Value);
    }

    [Fact]
    public async Task WriteEach_FailingPiece_IsRolledBackAloneInTheSameCommit()
    {
        await using var h = await HarnessAsync();
        var operations = new GraphOperation[]
        {
            new GraphOperation.IdentifyOp(Identify(User("first"))),
            new GraphOperation.UnlinkOp(Unlink(User("first"), User("missing"))),
            new GraphOperation.IdentifyOp(Identify(User("third"))),
        };
        var outcomes = await h.Engine.ApplyAsync(h.Project, operations, Origin, CancellationToken.None);

        Assert.Equal([true, false, true], outcomes.Select(o => o.Succeeded));
        Assert.NotNull(await h.ResolveAsync(User("first")));
        Assert.NotNull(await h.ResolveAsync(User("third")));
        Assert.Null(await h.ResolveAsync(User("missing")));
    }

    [Fact]
    public async Task Audit_RecordsMergesUnlinksAndDeletes_WithWhoAndWhy_AndNothingForRefusedWrites()
    {
        await using var h = await HarnessAsync(new ProjectSettings { MaxRecords = 2 });
        var origin = new WriteOrigin("test-surface", "request-7", "key-1");
        await h.IdentifyAsync(Identify(Anonymous("a")));
        await h.Engine.IdentifyAsync(h.Project, Identify(User("u"), Anonymous("a")), origin, CancellationToken.None);
        await Assert.ThrowsAsync<GraphException>(() => h.LinkAsync(User("x"), User("u")));
        await h.Engine.UnlinkAsync(h.Project, Unlink(Anonymous("a"), User("u")), origin, CancellationToken.None);
        await h.Engine.DeleteRecordAsync(h.Project, (await h.ResolveAsync(Anonymous("a")))!.Record, origin, CancellationToken.None);

        var entries = (await h.Store.Catalog.ListAuditAsync(h.Project, null, 10, CancellationToken.None)).Reverse().ToList();

        Assert.Equal(["merge", "unlink", "delete_record"], entries.Select(e => e.Action));
        Assert.All(entries, e => Assert.Equal(("test-surface", "request-7", "key-1"), (e.Surface, e.RequestId, e.KeyId)));
        Assert.Contains("\"kind\":\"identify\"", entries[0].DetailJson, StringComparison.Ordinal);
        Assert.Contains("\"made_by\":\"test-surface\"", entries[1].DetailJson, StringComparison.Ordinal);
        Assert.DoesNotContain("\"a\"", entries[2].DetailJson, StringComparison.Ordinal);
    }

    private static string Describe(ProfileView view) =>
        $"{view.Id}|" + string.Join(",", view.Records.SelectMany(r => r.Identifiers).Select(i => i.Identifier.ToString()).Order()) + "|" +
        string.Join(",", view.Properties.Select(p => $"{p.Key}={p.Value.Json}@{p.Record}")) + "|links=" + view.Links.Count;
}

public sealed class SqliteGraphTests() : GraphContractTests(new SqliteStoreFactory());

public sealed class PostgresGraphTests() : GraphContractTests(new PostgresStoreFactory());
