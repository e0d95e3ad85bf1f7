namespace Selfsame.Graph;

/// <summary>An identifier as the client sent it, normalized, with the spelling it was sent in and where in the request it stood.</summary>
public sealed record IdentifierInput(Identifier Identifier, string Display, string Field);

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

/// <summary>An identifier that a write did not attach or merge, and why.</summary>
public sealed record Refusal(Identifier Identifier, string Field, string Reason);

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
    bool AlreadyJoined);

public sealed record UnlinkResult(
    IReadOnlyList<Link> Removed,
    ProfileId FromProfile,
    ProfileId IntoProfile)
{
    public bool StillJoined => FromProfile == IntoProfile;
}

public sealed record DeleteResult(IReadOnlyList<RecordId> DeletedRecords, IReadOnlyList<ProfileId> RemainingProfiles);

/// <summary>One operation of a batch or an import line.</summary>
public abstract record GraphOperation
{
    public sealed record IdentifyOp(IdentifyCommand Command) : GraphOperation;
    public sealed record LinkOp(LinkCommand Command) : GraphOperation;
    public sealed record UnlinkOp(UnlinkCommand Command) : GraphOperation;
    public sealed record TrackOp(Events.TrackCommand Command) : GraphOperation;
}
