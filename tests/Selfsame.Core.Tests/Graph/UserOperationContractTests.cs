using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Storage;
using Selfsame.Tests.Support;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.Graph;

/// <summary>
/// The typed operations that surfaces send instead of reaching the store's transaction: look-ups of users, property
/// edits, single-valued identifiers, anonymous identify, merges, upserts by a prioritized list, linked records and
/// sequences. Each kind of store runs this suite through a subclass.
/// </summary>
public abstract class UserOperationContractTests(IStoreFactory factory) : IDisposable
{
    public void Dispose()
    {
        factory.Dispose();
        GC.SuppressFinalize(this);
    }

    private Task<EngineHarness> HarnessAsync() => EngineHarness.CreateAsync(factory);

    private static Task<T> ApplyAsync<T>(EngineHarness h, GraphOperation operation) =>
        h.Engine.ApplyOneAsync<T>(h.Project, operation, Origin, CancellationToken.None);

    private static IdentifierInput Alias(string label, string name) => new(Identifier.Alias(label, name), name, "user_alias");

    private static JsonElement Json(string json) => JsonElement.Parse(json);

    private static async Task<string?> PropertyAsync(EngineHarness h, IdentifierInput user, string key) =>
        (await h.ProfileAsync(await h.ProfileOfAsync(user))).Properties.FirstOrDefault(p => p.Key == key)?.Value.Json;

    [Fact]
    public async Task Edit_IncrementAndArrayEdits_ReadTheMergedProfile_AndCapTheArray()
    {
        await using var h = await HarnessAsync();
        // The count and the tags are on a visitor's record that logging in merged into u1's profile.
        await h.IdentifyAsync(Identify(Anonymous("a1")).WithProperties(("visits", 2)));
        await ApplyAsync<EditResult>(h, new GraphOperation.EditOp(new EditCommand(new UserLookup.ByIdentifier(Anonymous("a1")), false, [],
            [new PropertyEdit.Set("tags", new PropertyValue(PropertyType.Array, """["old"]"""))])));
        await h.IdentifyAsync(Identify(User("u1"), Anonymous("a1")));
        var user = new UserLookup.ByIdentifier(User("u1"));

        await ApplyAsync<EditResult>(h, new GraphOperation.EditOp(new EditCommand(user, MayCreate: false, [],
        [
            new PropertyEdit.Increment("visits", 3.5m),
            new PropertyEdit.ArrayEdit("tags", [Json("\"a\""), Json("\"b\""), Json("\"a\""), Json("\"c\"")], [Json("\"b\"")], Cap: 3),
            new PropertyEdit.ArrayEdit("never", [], [Json("\"x\"")], Cap: 5),
            new PropertyEdit.SetOnce("visits", Value(100)),
            new PropertyEdit.SetOnce("first_seen", Value("today")),
        ])));

        Assert.Equal("5.5", await PropertyAsync(h, User("u1"), "visits"));
        Assert.Equal("""["old","a","c"]""", await PropertyAsync(h, User("u1"), "tags"));
        await ApplyAsync<EditResult>(h, new GraphOperation.EditOp(new EditCommand(user, false, [],
            [new PropertyEdit.ArrayEdit("tags", [Json("\"d\""), Json("\"e\"")], [], Cap: 4)])));
        Assert.Equal("""["old","a","c","d"]""", await PropertyAsync(h, User("u1"), "tags"));
        Assert.Null(await PropertyAsync(h, User("u1"), "never"));
        Assert.Equal("\"today\"", await PropertyAsync(h, User("u1"), "first_seen"));
    }

    [Fact]
    public async Task Edit_IncrementPastTheLargestNumber_RefusesTheWholeEdit()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("u1")).WithProperties(("n", 79228162514264337593543950335m)));

        var refusal = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<EditResult>(h, new GraphOperation.EditOp(new EditCommand(
            new UserLookup.ByIdentifier(User("u1")), false, [], [new PropertyEdit.Set("other", Value("kept?")), new PropertyEdit.Increment("n", 1)]))));

        Assert.Equal(GraphErrorKind.Conflict, refusal.Kind);
        Assert.Null(await PropertyAsync(h, User("u1"), "other"));
    }

    [Fact]
    public async Task Edit_SingleIdentifier_ReplacesTheProfilesOne_AndRefusesAnotherUsersValue()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("u1"), Email("old@x.com")));
        await h.IdentifyAsync(Identify(User("u2"), Email("theirs@x.com")));
        var u1 = new UserLookup.ByIdentifier(User("u1"));

        await ApplyAsync<EditResult>(h, new GraphOperation.EditOp(new EditCommand(u1, false, [new SingleIdentifier(IdentifierTypes.Email, Email("new@x.com"), "email")], [])));
        var taken = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<EditResult>(h, new GraphOperation.EditOp(
            new EditCommand(u1, false, [new SingleIdentifier(IdentifierTypes.Email, Email("theirs@x.com"), "email")], []))));

        Assert.Null(await h.ResolveAsync(Email("old@x.com")));
        Assert.Equal(await h.ProfileOfAsync(User("u1")), await h.ProfileOfAsync(Email("new@x.com")));
        var audit = await h.Store.Catalog.ListAuditAsync(h.Project, null, 10, CancellationToken.None);
        Assert.Contains(audit, e => e.Action == "replace_identifier" && e.DetailJson.Contains("\"type\":\"email\"", StringComparison.Ordinal)
            && !e.DetailJson.Contains("old@x.com", StringComparison.Ordinal));
        Assert.Equal("email", taken.Field);
        Assert.Equal(await h.ProfileOfAsync(User("u2")), await h.ProfileOfAsync(Email("theirs@x.com")));
    }

    [Fact]
    public async Task Edit_OfAUserThatMayNotBeCreated_IsNotFound_AndCreatesNothing()
    {
        await using var h = await HarnessAsync();
        var alias = new UserLookup.ByIdentifier(Alias("crm", "c-1"));

        var refusal = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<EditResult>(h, new GraphOperation.EditOp(new EditCommand(alias, MayCreate: false, [], []))));
        var created = await ApplyAsync<EditResult>(h, new GraphOperation.EditOp(new EditCommand(alias, MayCreate: true, [], [new PropertyEdit.Set("plan", Value("pro"))])));

        Assert.Equal(GraphErrorKind.NotFound, refusal.Kind);
        Assert.Equal(created.Record, (await h.ResolveAsync(Alias("crm", "c-1")))!.Record);
        Assert.Equal("\"pro\"", await PropertyAsync(h, Alias("crm", "c-1"), "plan"));
    }

    [Fact]
    public async Task IdentifyAnonymous_FoldsAnUnidentifiedProfileIn_RefusesAnIdentifiedOne_AndGivesANewUserIdAway()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("u1")));
        await h.IdentifyAsync(Identify(Alias("visitor", "v1"), Device("d1")));
        await h.IdentifyAsync(Identify(User("u2"), Alias("visitor", "v2")));
        await h.IdentifyAsync(Identify(Alias("visitor", "v3")));

        var merged = await ApplyAsync<IdentifyAnonymousOutcome>(h, new GraphOperation.IdentifyAnonymousOp(
            new IdentifyAnonymousCommand(new UserLookup.ByIdentifier(Alias("visitor", "v1")), User("u1"), OneAliasPerLabel: true)));
        var refused = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<IdentifyAnonymousOutcome>(h, new GraphOperation.IdentifyAnonymousOp(
            new IdentifyAnonymousCommand(new UserLookup.ByIdentifier(Alias("visitor", "v2")), User("u1"), OneAliasPerLabel: false))));
        var identified = await ApplyAsync<IdentifyAnonymousOutcome>(h, new GraphOperation.IdentifyAnonymousOp(
            new IdentifyAnonymousCommand(new UserLookup.ByIdentifier(Alias("visitor", "v3")), User("u3"), OneAliasPerLabel: true)));

        Assert.Equal(IdentifyAnonymousOutcome.Merged, merged);
        Assert.Equal(await h.ProfileOfAsync(User("u1")), await h.ProfileOfAsync(Device("d1")));
        Assert.Equal(GraphErrorKind.Conflict, refused.Kind);
        Assert.NotEqual(await h.ProfileOfAsync(User("u1")), await h.ProfileOfAsync(User("u2")));
        Assert.Equal(IdentifyAnonymousOutcome.Identified, identified);
        Assert.Equal(await h.ProfileOfAsync(User("u3")), await h.ProfileOfAsync(Alias("visitor", "v3")));
    }

    [Fact]
    public async Task Attach_OneAliasPerLabel_RefusesASecondNameOfTheLabel_AndWritesNothing()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("u1"), Alias("crm", "a")));

        var exists = await ApplyAsync<AttachOutcome>(h, new GraphOperation.AttachOp(new AttachCommand(User("u1"), Alias("crm", "a"), true)));
        var refusal = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<AttachOutcome>(h, new GraphOperation.AttachOp(new AttachCommand(User("u1"), Alias("crm", "b"), true))));
        var added = await ApplyAsync<AttachOutcome>(h, new GraphOperation.AttachOp(new AttachCommand(User("u1"), Alias("crm", "b"), false)));

        Assert.Equal(AttachOutcome.Exists, exists);
        Assert.Contains("one alias per label", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(AttachOutcome.Added, added);
        Assert.Equal(await h.ProfileOfAsync(User("u1")), await h.ProfileOfAsync(Alias("crm", "b")));
    }

    [Fact]
    public async Task Merge_ByProfileId_FindsAMergedAwayRecordOnlyWhenAsked_AndIsUndoneByUnlink()
    {
        await using var h = await HarnessAsync();
        var keep = await h.IdentifyAsync(Identify(User("keep")));
        var gone = await h.IdentifyAsync(Identify(User("gone"), Device("dg")));
        var other = await h.IdentifyAsync(Identify(User("other")));
        var merge = await ApplyAsync<MergeResult>(h, new GraphOperation.MergeOp(new MergeCommand(
            new UserLookup.ByIdentifier(User("gone")), new UserLookup.ByProfileId(keep.Profile.Value, MergedIdsToo: false, "into"), LinkKinds.Merge)));

        var byMergedId = await h.Engine.FindUsersAsync(h.Project,
            [new UserLookup.ByProfileId(gone.Record.Value, MergedIdsToo: true, "a"), new UserLookup.ByProfileId(gone.Record.Value, MergedIdsToo: false, "b")],
            false, null, CancellationToken.None);
        var again = await ApplyAsync<MergeResult>(h, new GraphOperation.MergeOp(new MergeCommand(
            new UserLookup.ByIdentifier(Device("dg")), new UserLookup.ByIdentifier(User("keep")), LinkKinds.Merge)));

        Assert.False(merge.Already);
        Assert.Equal(keep.Profile, byMergedId[0]!.Profile.Id);
        Assert.Null(byMergedId[1]);
        Assert.True(again.Already);
        await h.UnlinkAsync(User("gone"), User("keep"));
        Assert.NotEqual(await h.ProfileOfAsync(User("keep")), await h.ProfileOfAsync(Device("dg")));
        Assert.Equal(other.Profile, await h.ProfileOfAsync(User("other")));
    }

    [Fact]
    public async Task Upsert_WritesTheFirstHeldIdentifiersRecord_OrSkipsWhenNobodyHoldsOneAndOnlyExistingMayBeWritten()
    {
        await using var h = await HarnessAsync();
        var existing = await h.IdentifyAsync(Identify(Email("ann@x.com")));

        var upserted = await ApplyAsync<UpsertResult>(h, new GraphOperation.UpsertOp(new UpsertCommand(
            [User("ann"), Email("ann@x.com")], ExistingOnly: false, new Dictionary<string, PropertyValue> { ["plan"] = Value("pro") }, [], [])));
        var skipped = await ApplyAsync<UpsertResult>(h, new GraphOperation.UpsertOp(new UpsertCommand(
            [User("nobody")], ExistingOnly: true, new Dictionary<string, PropertyValue>(), [], [])));

        Assert.Equal(existing.Record, upserted.Identified!.Record);
        Assert.Equal(existing.Record, (await h.ResolveAsync(User("ann")))!.Record);
        Assert.Equal("\"pro\"", await PropertyAsync(h, User("ann"), "plan"));
        Assert.Null(skipped.Identified);
        Assert.Null(await h.ResolveAsync(User("nobody")));
    }

    [Fact]
    public async Task LinkRecord_RefusesARecordOfAnotherIdentifiedUser_AndWritesTheRecordsOwnProperties()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("owner"), Device("shared")));
        var properties = new Dictionary<string, PropertyValue?> { ["os"] = Value("ios") };

        var refusal = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<LinkResult>(h,
            new GraphOperation.LinkRecordOp(new LinkRecordCommand(Device("shared"), User("new-user"), properties))));
        var link = await ApplyAsync<LinkResult>(h, new GraphOperation.LinkRecordOp(new LinkRecordCommand(Device("own"), User("owner"), properties)));

        Assert.Equal(GraphErrorKind.Conflict, refusal.Kind);
        Assert.Null(await h.ResolveAsync(User("new-user")));
        var view = await h.ProfileAsync(await h.ProfileOfAsync(User("owner")));
        Assert.Contains(view.Properties, p => p.Key == "os" && p.Value.Json == "\"ios\"" && p.Record == link.From);
    }

    [Fact]
    public async Task Sequence_ThatFailsPartway_IsRolledBackWhole_WhileTheOtherOperationsOfTheBatchCommit()
    {
        await using var h = await HarnessAsync();
        var outcomes = await h.Engine.ApplyAsync(h.Project,
        [
            new GraphOperation.Sequence([new GraphOperation.IdentifyOp(Identify(User("half"))), new GraphOperation.DeleteUserOp(new UserLookup.ByIdentifier(User("missing")), MustExist: true)]),
            new GraphOperation.Sequence([new GraphOperation.IdentifyOp(Identify(User("whole"))), new GraphOperation.CompanyOp(new CompanyCommand("acme", new Dictionary<string, PropertyValue>())),
                new GraphOperation.JoinCompanyOp(new JoinCompanyCommand("acme", User("whole")))]),
        ], Origin, CancellationToken.None);

        Assert.IsType<GraphException>(outcomes[0].Error);
        Assert.True(outcomes[1].Succeeded);
        Assert.Null(await h.ResolveAsync(User("half")));
        var company = await h.Engine.GetCompanyAsync(h.Project, "acme", CancellationToken.None);
        Assert.Equal((await h.ResolveAsync(User("whole")))!.Record, Assert.Single(company!.Members).Record);
    }

    [Fact]
    public async Task DeleteUser_OfNobody_IsNotFoundOnlyWhenTheUserMustExist()
    {
        await using var h = await HarnessAsync();
        var gone = await h.IdentifyAsync(Identify(User("gone"), Email("g@x.com")));

        var nobody = await ApplyAsync<object>(h, new GraphOperation.DeleteUserOp(new UserLookup.ByIdentifier(User("nobody"))));
        var refusal = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<object>(h, new GraphOperation.DeleteUserOp(new UserLookup.ByIdentifier(User("nobody")), MustExist: true)));
        var deleted = await ApplyAsync<object>(h, new GraphOperation.DeleteUserOp(new UserLookup.ByIdentifier(Email("g@x.com"))));

        Assert.IsType<NotFound>(nobody);
        Assert.Equal(GraphErrorKind.NotFound, refusal.Kind);
        Assert.Equal([gone.Record], Assert.IsType<DeleteResult>(deleted).DeletedRecords);
        Assert.Null(await h.ResolveAsync(User("gone")));
    }
}

public sealed class SqliteUserOperationTests() : UserOperationContractTests(new SqliteStoreFactory());

public sealed class PostgresUserOperationTests() : UserOperationContractTests(new PostgresStoreFactory());
