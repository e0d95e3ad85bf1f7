using Selfsame.Graph;
using Selfsame.Guardrails;
using Selfsame.Tests.Support;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.Guardrails;

/// <summary>
/// The guardrails against a real store: junk identifiers dropped, every refusal recorded once with a count, the review
/// queue's decisions, detach and suppress. Each kind of store runs this suite through a subclass.
/// </summary>
public abstract class GuardrailContractTests(IStoreFactory factory) : IDisposable
{
    public void Dispose()
    {
        factory.Dispose();
        GC.SuppressFinalize(this);
    }

    private static readonly WriteOrigin Reviewer = new("native", "req-review", "key-reviewer");

    private Task<EngineHarness> HarnessAsync(ProjectSettings? settings = null) => EngineHarness.CreateAsync(factory, settings);

    private static Task<T> ApplyAsync<T>(EngineHarness h, GraphOperation operation, WriteOrigin? origin = null) =>
        h.Engine.ApplyOneAsync<T>(h.Project, operation, origin ?? Origin, CancellationToken.None);

    private static Task<IReadOnlyList<ReviewEntry>> QueueAsync(EngineHarness h, ReviewStatus? status = null, string? rule = null, ProfileId? profile = null, Identifier? identifier = null) =>
        h.Engine.ListReviewAsync(h.Project, new ReviewQuery(status, rule, profile, identifier, null, 100), CancellationToken.None);

    private static readonly ProjectSettings HoldUserIds = new() { Review = new Dictionary<string, ReviewAction> { ["max_per_type.user_id"] = ReviewAction.Hold } };

    [Fact]
    public async Task Identify_WithAJunkEmail_DropsItAlone_AndRecordsWhichRule()
    {
        await using var h = await HarnessAsync();
        var ann = await h.IdentifyAsync(Identify(User("ann"), Email("test@test.com"), Device("d-ann")));
        var bob = await h.IdentifyAsync(Identify(User("bob"), Email("TEST@test.com")));

        var refusal = Assert.Single(ann.Refused);
        Assert.Equal("deny_list.placeholder_email", refusal.Rule);
        Assert.Equal("email:test@test.com", refusal.Identifier.ToString());
        Assert.Equal(ReviewStatus.Refused, refusal.Review.Status);
        Assert.NotEqual(ann.Profile, bob.Profile);
        Assert.Null(await h.ResolveAsync(Email("test@test.com")));
        // The rest of the request applied: the device is ann's.
        Assert.Equal(ann.Profile, await h.ProfileOfAsync(Device("d-ann")));
        Assert.Equal(2, (await QueueAsync(h, rule: "deny_list.placeholder_email")).Count);
    }

    [Fact]
    public async Task Identify_WhoseFirstIdentifierIsJunk_NamesTheUserByTheNext()
    {
        await using var h = await HarnessAsync();
        var result = await h.IdentifyAsync(Identify(Id("device_id", "00000000-0000-0000-0000-000000000000"), Email("ann@acme.com")));

        Assert.Equal("deny_list.zero_id", Assert.Single(result.Refused).Rule);
        Assert.Equal(["email:ann@acme.com"], (await h.ResolveAsync(Email("ann@acme.com")))!.Identifiers.Select(i => i.Identifier.ToString()));
    }

    [Fact]
    public async Task Identify_WithOnlyJunk_IsRefused_WritesNothing_AndCountsTheRepeatOnOneEntry()
    {
        await using var h = await HarnessAsync();
        var first = await Assert.ThrowsAsync<GraphException>(() => h.IdentifyAsync(Identify(User("null"))));
        var again = await Assert.ThrowsAsync<GraphException>(() => h.IdentifyAsync(Identify(User("null"))));

        Assert.Equal(GraphErrorKind.Conflict, first.Kind);
        Assert.Equal("deny_list.placeholder_value", first.Rule);
        Assert.Equal(first.Review!.Id, again.Review!.Id);
        Assert.Contains($"review entry {first.Review.Id}", again.Message, StringComparison.Ordinal);
        Assert.Null(await h.ResolveAsync(User("null")));
        var entry = Assert.Single(await QueueAsync(h));
        Assert.Equal(2, entry.Count);
        Assert.Equal("test", entry.Surface);
    }

    [Theory]
    [InlineData("email", "test@test.com", "deny_list.placeholder_email")]
    [InlineData("email", "bob@example.org", "deny_list.reserved_domain_email")]
    [InlineData("email", "a@shop.test", "deny_list.reserved_domain_email")]
    [InlineData("email", "No-Reply@acme.com", "deny_list.noreply_email")]
    [InlineData("user_id", "undefined", "deny_list.placeholder_value")]
    [InlineData("user_id", "-1", "deny_list.placeholder_value")]
    [InlineData("anonymous_id", "[object Object]", "deny_list.placeholder_value")]
    [InlineData("device_id", "00000000000000000000000000000000", "deny_list.zero_id")]
    [InlineData("phone", "+1 111 111 1111", "deny_list.repeated_digit_phone")]
    [InlineData("phone", "+49 123", "deny_list.short_phone")]
    [InlineData("phone", "12345", "deny_list.short_phone")]
    public async Task BuiltInEntry_DropsItsValue(string type, string value, string rule)
    {
        await using var h = await HarnessAsync();
        var result = await h.IdentifyAsync(Identify(User("u1"), Id(type, value)));

        Assert.Equal(rule, Assert.Single(result.Refused).Rule);
    }

    [Theory]
    [InlineData("email", "ann@acme.com")]
    [InlineData("user_id", "0001")]
    [InlineData("phone", "+14155550123")]
    [InlineData("device_id", "0a000000-0000-0000-0000-000000000000")]
    public async Task OrdinaryValues_AreNotDenied(string type, string value)
    {
        await using var h = await HarnessAsync();
        var result = await h.IdentifyAsync(Identify(Device("d1"), Id(type, value)));

        Assert.Empty(result.Refused);
    }

    [Fact]
    public async Task ProjectEntries_DenyValuesAndPatterns_AndSwitchABuiltInOff()
    {
        await using var h = await HarnessAsync(new ProjectSettings
        {
            DenyList = new DenyListSettings
            {
                BuiltInOff = ["placeholder_value.user_id"],
                Values = new Dictionary<string, IReadOnlyList<string>> { ["email"] = ["shared@acme.com"] },
                Patterns = new Dictionary<string, IReadOnlyList<string>> { ["email"] = ["@mailinator\\.com$"] },
            },
        });
        var result = await h.IdentifyAsync(Identify(User("0"), Email("shared@acme.com"), Email("x@mailinator.com"), Device("none")));

        Assert.Equal(["deny_list.values", "deny_list.patterns", "deny_list.placeholder_value"], result.Refused.Select(r => r.Rule));
        // user_id "0" is allowed in this project; the device "none" is still junk.
        Assert.NotNull(await h.ResolveAsync(User("0")));
    }

    [Fact]
    public async Task JunkAlreadyInTheGraph_IsNeverMergedOn()
    {
        var off = new ProjectSettings { DenyList = new DenyListSettings { BuiltInOff = ["placeholder_email"] } };
        await using var h = await HarnessAsync(off);
        // Attached while the project had the entry switched off; then it is switched on again.
        var ann = await h.IdentifyAsync(Identify(User("ann"), Email("test@test.com")));
        await h.Store.Catalog.UpdateSettingsAsync(h.Project, ProjectSettings.Default, CancellationToken.None);

        var visitor = await h.IdentifyAsync(Identify(Device("d-visitor"), Email("test@test.com")));
        var junkFirst = await h.IdentifyAsync(Identify(Email("test@test.com"), Device("d-other")));

        Assert.Equal("deny_list.placeholder_email", Assert.Single(visitor.Refused).Rule);
        Assert.NotEqual(ann.Profile, visitor.Profile);
        Assert.NotEqual(ann.Profile, junkFirst.Profile);
        Assert.Equal(ann.Profile, await h.ProfileOfAsync(Email("test@test.com")));
    }

    [Fact]
    public async Task MergeRefusal_IsRecordedOnce_WithBothSides_AndCounted()
    {
        await using var h = await HarnessAsync();
        await h.IdentifyAsync(Identify(User("ann"), Device("shared")));
        var first = await h.IdentifyAsync(Identify(User("bob"), Device("shared")));
        var second = await h.IdentifyAsync(Identify(User("bob"), Device("shared")));

        Assert.Equal("max_per_type.user_id", Assert.Single(first.Refused).Rule);
        Assert.Equal(first.Refused[0].Review.Id, second.Refused[0].Review.Id);
        var entry = Assert.Single(await QueueAsync(h));
        Assert.Equal((2L, ReviewStatus.Refused), (entry.Count, entry.Status));
        Assert.Equal("user_id:bob", entry.A.Identifier!.ToString());
        Assert.Equal(first.Record, entry.A.Record);
        Assert.Equal("device_id:shared", entry.B.Identifier!.ToString());
        Assert.Equal(await h.ProfileOfAsync(User("ann")), entry.B.Profile);
        Assert.Single(await QueueAsync(h, identifier: Device("shared").Identifier));
        Assert.Single(await QueueAsync(h, profile: await h.ProfileOfAsync(User("ann"))));
        Assert.Empty(await QueueAsync(h, status: ReviewStatus.Held));
    }

    [Fact]
    public async Task Held_Approve_JoinsByAnExplicitLink_ThatExplainNames_AndUnlinkUndoes()
    {
        await using var h = await HarnessAsync(HoldUserIds);
        await h.IdentifyAsync(Identify(User("ann"), Device("tablet")));
        var refused = await h.IdentifyAsync(Identify(User("ann-work"), Device("tablet")));
        var entry = Assert.Single(await QueueAsync(h, status: ReviewStatus.Held));
        Assert.Equal(entry.Id, refused.Refused[0].Review.Id);

        var decision = await ApplyAsync<ReviewDecision>(h, new GraphOperation.ApproveReviewOp(entry.Id), Reviewer);

        Assert.Equal(ReviewOutcome.Merged, decision.Outcome);
        Assert.Equal(ReviewStatus.Approved, decision.Entry.Status);
        Assert.Equal("key-reviewer", decision.Entry.DecidedByKey);
        Assert.Equal(await h.ProfileOfAsync(User("ann")), await h.ProfileOfAsync(User("ann-work")));
        var why = (await h.Engine.ExplainAsync(h.Project, User("ann-work"), User("ann"), CancellationToken.None))!;
        var approved = Assert.Single(why.Path, l => l.Kind == LinkKinds.Review);
        Assert.Equal(entry.Id, why.Approvals[approved.Id].Id);

        var unlinked = await h.UnlinkAsync(User("ann-work"), Device("tablet"));
        Assert.False(unlinked.StillJoined);
        Assert.NotEqual(await h.ProfileOfAsync(User("ann")), await h.ProfileOfAsync(User("ann-work")));
    }

    [Fact]
    public async Task Held_Reject_ClosesIt_AndTheSameRefusalCountsThere()
    {
        await using var h = await HarnessAsync(HoldUserIds);
        await h.IdentifyAsync(Identify(User("ann"), Device("tablet")));
        await h.IdentifyAsync(Identify(User("bob"), Device("tablet")));
        var entry = Assert.Single(await QueueAsync(h));

        var decision = await ApplyAsync<ReviewDecision>(h, new GraphOperation.RejectReviewOp(entry.Id), Reviewer);
        await h.IdentifyAsync(Identify(User("bob"), Device("tablet")));
        var twice = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<ReviewDecision>(h, new GraphOperation.ApproveReviewOp(entry.Id), Reviewer));

        Assert.Equal(ReviewOutcome.Rejected, decision.Outcome);
        var after = Assert.Single(await QueueAsync(h));
        Assert.Equal((ReviewStatus.Rejected, 2L), (after.Status, after.Count));
        Assert.Contains("rejected already", twice.Message, StringComparison.Ordinal);
        Assert.NotEqual(await h.ProfileOfAsync(User("ann")), await h.ProfileOfAsync(User("bob")));
    }

    [Fact]
    public async Task Approve_AfterOneSideWasDeleted_SaysSo_AndMergesNothing()
    {
        await using var h = await HarnessAsync(HoldUserIds);
        await h.IdentifyAsync(Identify(User("ann"), Device("tablet")));
        var bob = await h.IdentifyAsync(Identify(User("bob"), Device("tablet")));
        var entry = Assert.Single(await QueueAsync(h));
        await h.Engine.DeleteProfileAsync(h.Project, bob.Profile, Origin, CancellationToken.None);

        var refusal = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<ReviewDecision>(h, new GraphOperation.ApproveReviewOp(entry.Id), Reviewer));

        Assert.Contains("was deleted since", refusal.Message, StringComparison.Ordinal);
        var kept = Assert.Single(await QueueAsync(h));
        Assert.Equal(ReviewStatus.Held, kept.Status);
        // The entry keeps no value of the deleted record.
        Assert.Null(kept.A.Identifier);
        Assert.Equal("device_id:tablet", kept.B.Identifier!.ToString());
    }

    [Fact]
    public async Task Approve_OfSidesJoinedSince_AnswersAlreadyJoined()
    {
        await using var h = await HarnessAsync(HoldUserIds);
        await h.IdentifyAsync(Identify(User("ann"), Device("tablet")));
        await h.IdentifyAsync(Identify(User("bob"), Device("tablet")));
        var entry = Assert.Single(await QueueAsync(h));
        await h.LinkAsync(User("bob"), User("ann"));

        var decision = await ApplyAsync<ReviewDecision>(h, new GraphOperation.ApproveReviewOp(entry.Id), Reviewer);

        Assert.Equal(ReviewOutcome.AlreadyJoined, decision.Outcome);
        Assert.Null(decision.Link);
    }

    [Fact]
    public async Task Allow_LetsTheMergeThrough_WithoutAnEntry()
    {
        await using var h = await HarnessAsync(new ProjectSettings { Review = new Dictionary<string, ReviewAction> { ["max_per_type"] = ReviewAction.Allow } });
        await h.IdentifyAsync(Identify(User("ann"), Device("tablet")));
        var bob = await h.IdentifyAsync(Identify(User("bob"), Device("tablet")));

        Assert.Empty(bob.Refused);
        Assert.Equal(await h.ProfileOfAsync(User("ann")), bob.Profile);
        Assert.Empty(await QueueAsync(h));
    }

    [Fact]
    public async Task Detach_KeepsTheRecordItsEventsAndLinks_AndSuppressKeepsTheValueOut()
    {
        await using var h = await HarnessAsync();
        var ann = await h.IdentifyAsync(Identify(User("ann"), Email("ann@acme.com"), Device("d1")));
        await h.TrackAsync(Event("opened", Identify(Device("d1"))));

        var detached = await ApplyAsync<DetachResult>(h, new GraphOperation.DetachIdentifierOp(Email("ann@acme.com"), Suppress: true));

        Assert.Equal(ann.Record, detached.Record);
        Assert.Null(await h.ResolveAsync(Email("ann@acme.com")));
        Assert.Equal(ann.Profile, await h.ProfileOfAsync(Device("d1")));
        Assert.Single(await h.StreamAsync(ann.Profile.Value));
        var again = await h.IdentifyAsync(Identify(User("ann"), Email("Ann@Acme.com")));
        Assert.Equal(ReviewRules.Suppressed, Assert.Single(again.Refused).Rule);
        await Assert.ThrowsAsync<GraphException>(() => h.LinkAsync(Email("ann@acme.com"), User("ann")));
        Assert.Null(await h.ResolveAsync(Email("ann@acme.com")));

        Assert.True(await ApplyAsync<bool>(h, new GraphOperation.LiftSuppressionOp(Email("ann@acme.com"))));
        Assert.Empty((await h.IdentifyAsync(Identify(User("ann"), Email("ann@acme.com")))).Refused);
    }

    [Fact]
    public async Task Detach_OfAValueNoRecordHolds_IsNotFound_UnlessItIsSuppressed()
    {
        await using var h = await HarnessAsync();
        var missing = await Assert.ThrowsAsync<GraphException>(() => ApplyAsync<DetachResult>(h, new GraphOperation.DetachIdentifierOp(Email("gone@acme.com"), Suppress: false)));
        var suppressed = await ApplyAsync<DetachResult>(h, new GraphOperation.DetachIdentifierOp(Email("gone@acme.com"), Suppress: true));

        Assert.Equal(GraphErrorKind.NotFound, missing.Kind);
        Assert.Null(suppressed.Record);
        await Assert.ThrowsAsync<GraphException>(() => h.IdentifyAsync(Identify(Email("gone@acme.com"))));
    }

    [Fact]
    public async Task DeleteProfile_WithSuppress_KeepsEveryValueOut()
    {
        await using var h = await HarnessAsync();
        var ann = await h.IdentifyAsync(Identify(User("ann"), Email("ann@acme.com")));

        var deleted = await h.Engine.DeleteProfileAsync(h.Project, ann.Profile, Origin, CancellationToken.None, suppress: true);
        var back = await h.IdentifyAsync(Identify(Device("d9"), User("ann"), Email("ann@acme.com")));

        Assert.Equal(2, deleted.Suppressed);
        Assert.Equal([ReviewRules.Suppressed, ReviewRules.Suppressed], back.Refused.Select(r => r.Rule));
        Assert.Null(await h.ResolveAsync(User("ann")));
    }
}

public sealed class SqliteGuardrailTests() : GuardrailContractTests(new SqliteStoreFactory());

public sealed class PostgresGuardrailTests() : GuardrailContractTests(new PostgresStoreFactory());
