namespace Selfsame.Graph;

/// <summary>An identifier as the client sent it, normalized, with the spelling it was sent in and where in the request it stood.</summary>
public sealed record IdentifierInput(Identifier Identifier, string Display, string Field)
{
    /// <summary>
    /// Another identifier the same value may be known by: when a record holds it, the input stands for it instead. A
    /// vendor whose id does not say what kind it is (Segment's previousId, PostHog's distinct_id) names an anonymous id
    /// that is a user id once a record holds it as one.
    /// </summary>
    public IdentifierInput? IfHeld { get; init; }
}

/// <summary>
/// Upsert the record that owns <see cref="Primary"/>, attach <see cref="Others"/>, write properties.
/// </summary>
public sealed record IdentifyCommand(
    IdentifierInput Primary,
    IReadOnlyList<IdentifierInput> Others,
    IReadOnlyDictionary<string, PropertyValue> Set,
    IReadOnlyDictionary<string, PropertyValue> SetOnce,
    IReadOnlyList<string> Unset);

/// <summary>Join the record of <see cref="From"/> into the record of <see cref="Into"/> with an explicit link.</summary>
public sealed record LinkCommand(IdentifierInput From, IdentifierInput Into, string Kind = LinkKinds.Link);

/// <summary>Remove the links between the records of <see cref="From"/> and <see cref="Into"/>.</summary>
public sealed record UnlinkCommand(IdentifierInput From, IdentifierInput Into);

/// <summary>
/// An identifier that a write did not attach or merge on, why, the rule (<see cref="Guardrails.ReviewRules"/> or
/// <c>deny_list.*</c>), and the review entry it was recorded as.
/// </summary>
public sealed record Refusal(Identifier Identifier, string Field, Guardrails.RefusalEntry Entry, Guardrails.ReviewRef Review)
{
    public string Reason => Entry.Reason;
    public string Rule => Entry.Rule;
}

/// <summary>A profile that an implicit merge folded in: which record it came from and through which identifier.</summary>
public sealed record MergeNote(ProfileId MergedProfile, RecordId Record, Identifier Via, LinkId Link);

public sealed record IdentifyResult(
    ProfileId Profile,
    RecordId Record,
    bool Created,
    IReadOnlyList<Identifier> Attached,
    IReadOnlyList<MergeNote> Merged,
    IReadOnlyList<Refusal> Refused);

public sealed record LinkResult(
    ProfileId Profile,
    RecordId From,
    RecordId Into,
    Link? Link,
    IReadOnlyList<RecordId> CreatedRecords,
    IReadOnlyList<ProfileId> MergedProfiles,
    bool AlreadyJoined)
{
    /// <summary>The records that joined <see cref="Into"/>'s profile: all of <see cref="From"/>'s profile as it was; 0 when already joined.</summary>
    public int JoinedRecords { get; init; }
}

public sealed record UnlinkResult(
    IReadOnlyList<Link> Removed,
    ProfileId FromProfile,
    ProfileId IntoProfile)
{
    public bool StillJoined => FromProfile == IntoProfile;
}

/// <summary>What a delete removed, the profiles left where a record's removal split one, and how many values it suppressed.</summary>
public sealed record DeleteResult(IReadOnlyList<RecordId> DeletedRecords, IReadOnlyList<ProfileId> RemainingProfiles, int Suppressed = 0);

/// <summary>One operation of a batch or an import line.</summary>
/// <remarks>
/// Every write of every surface is one of these: the engine applies them, each in a savepoint of its own when several go
/// in one commit, and answers each with its result (the type after each) or the refusal that rolled it back alone.
/// </remarks>
public abstract record GraphOperation
{
    /// <summary>Answers <see cref="IdentifyResult"/>.</summary>
    public sealed record IdentifyOp(IdentifyCommand Command) : GraphOperation;

    /// <summary>Answers <see cref="LinkResult"/>.</summary>
    public sealed record LinkOp(LinkCommand Command) : GraphOperation;

    /// <summary>Answers <see cref="UnlinkResult"/>.</summary>
    public sealed record UnlinkOp(UnlinkCommand Command) : GraphOperation;

    /// <summary>Answers <see cref="Events.TrackResult"/>.</summary>
    public sealed record TrackOp(Events.TrackCommand Command) : GraphOperation;

    /// <summary>A link of the command's kind out of From into Into, replacing an earlier one of that kind out of From (a user maps into one global user). Answers <see cref="LinkResult"/>.</summary>
    public sealed record MapOp(LinkCommand Command) : GraphOperation;

    /// <summary>Removes the links of <paramref name="Kind"/> out of the record of <paramref name="From"/>. Answers the links removed (none when no record holds it).</summary>
    public sealed record UnmapOp(IdentifierInput From, string Kind) : GraphOperation;

    /// <summary>Answers <see cref="LinkResult"/>.</summary>
    public sealed record MatchOp(MatchCommand Command) : GraphOperation;

    /// <summary>Puts <paramref name="Replacement"/> in the place of <paramref name="Old"/> on the record holding it, audited. Answers <see cref="RecordId"/>.</summary>
    public sealed record ReplaceIdentifierOp(IdentifierInput Old, IdentifierInput Replacement) : GraphOperation;

    /// <summary>Answers <see cref="AttachOutcome"/>.</summary>
    public sealed record AttachOp(AttachCommand Command) : GraphOperation;

    /// <summary>Answers <see cref="IdentifyAnonymousOutcome"/>.</summary>
    public sealed record IdentifyAnonymousOp(IdentifyAnonymousCommand Command) : GraphOperation;

    /// <summary>Answers <see cref="MergeResult"/>.</summary>
    public sealed record MergeOp(MergeCommand Command) : GraphOperation;

    /// <summary>Answers <see cref="UpsertResult"/>.</summary>
    public sealed record UpsertOp(UpsertCommand Command) : GraphOperation;

    /// <summary>Answers <see cref="EditResult"/>.</summary>
    public sealed record EditOp(EditCommand Command) : GraphOperation;

    /// <summary>Answers <see cref="Events.TrackResult"/>.</summary>
    public sealed record TrackUserOp(TrackUserCommand Command) : GraphOperation;

    /// <summary>
    /// Deletes the whole profile of the user. Answers <see cref="DeleteResult"/>, or <see cref="NotFound"/> when no user
    /// matches; with <paramref name="MustExist"/>, no user is a refusal (<see cref="GraphErrorKind.NotFound"/>).
    /// </summary>
    public sealed record DeleteUserOp(UserLookup User, bool MustExist = false) : GraphOperation;

    /// <summary>Answers <see cref="LinkResult"/>.</summary>
    public sealed record LinkRecordOp(LinkRecordCommand Command) : GraphOperation;

    /// <summary>Answers the <see cref="Events.TrackResult"/> of each event.</summary>
    public sealed record TrackEventsOp(TrackEventsCommand Command) : GraphOperation;

    /// <summary>Answers true.</summary>
    public sealed record CompanyOp(CompanyCommand Command) : GraphOperation;

    /// <summary>Answers true.</summary>
    public sealed record JoinCompanyOp(JoinCompanyCommand Command) : GraphOperation;

    /// <summary>Deletes a record (by id); with <paramref name="Suppress"/> its identifiers are never attached again. Answers <see cref="DeleteResult"/>.</summary>
    public sealed record DeleteRecordOp(RecordId Record, bool Suppress = false) : GraphOperation;

    /// <summary>Deletes a profile (by id; an id merged away names its profile); with <paramref name="Suppress"/> its identifiers are never attached again. Answers <see cref="DeleteResult"/>.</summary>
    public sealed record DeleteProfileOp(ProfileId Profile, bool Suppress = false) : GraphOperation;

    /// <summary>Removes one identifier from its record; with <paramref name="Suppress"/> its value is never attached again. Answers <see cref="DetachResult"/>.</summary>
    public sealed record DetachIdentifierOp(IdentifierInput Identifier, bool Suppress) : GraphOperation;

    /// <summary>Takes a value off the suppressed values. Answers true, or false when it was not suppressed.</summary>
    public sealed record LiftSuppressionOp(IdentifierInput Identifier) : GraphOperation;

    /// <summary>Approves a review entry: its sides are joined by an explicit link. Answers <see cref="ReviewDecision"/>.</summary>
    public sealed record ApproveReviewOp(long Id) : GraphOperation;

    /// <summary>Rejects a review entry: closed, nothing merged. Answers <see cref="ReviewDecision"/>.</summary>
    public sealed record RejectReviewOp(long Id) : GraphOperation;

    /// <summary>Several operations applied in order as one: all or none. Answers the list of their results.</summary>
    public sealed record Sequence(IReadOnlyList<GraphOperation> Steps) : GraphOperation;
}

/// <summary>The result of an operation that named nobody (a delete of a user no record holds).</summary>
public sealed record NotFound
{
    public static NotFound Instance { get; } = new();
}

/// <summary>What a write left out, from whichever result an operation answers.</summary>
public static class Refusals
{
    /// <summary>The refusals a succeeded operation's result carries (identifiers dropped, merges refused), in order; none for a result without any.</summary>
    public static IReadOnlyList<Refusal> Of(object? result) => result switch
    {
        IdentifyResult r => r.Refused,
        UpsertResult { Identified: { } r } => r.Refused,
        Events.TrackResult { Identity: { } r } => r.Refused,
        EditResult r => r.Refused,
        IEnumerable<object> many => many.SelectMany(Of).ToList(),
        _ => [],
    };
}
