using System.Text.Json;
using Selfsame.Events;

namespace Selfsame.Graph;

/// <summary>Whether a look-up takes any user, or only one that is (or is not) identified, that is, holds a user_id.</summary>
public enum Identification
{
    Any,
    Identified,
    Unidentified,
}

/// <summary>
/// How a request names a user (a profile); <see cref="Field"/> is where the request named it, <see cref="Named"/> how (in
/// the surface's words, such as "external_id 'ann'"), for the messages of refusals.
/// </summary>
public abstract record UserLookup(string Field, string? Named)
{
    /// <summary>The record holding <paramref name="Identifier"/>, when its profile passes <paramref name="Filter"/>.</summary>
    public sealed record ByIdentifier(IdentifierInput Identifier, Identification Filter = Identification.Any, string? Named = null)
        : UserLookup(Identifier.Field, Named)
    {
        /// <summary>
        /// An identifier that names the user when no record holds <see cref="Identifier"/> (a vendor's former id of a user,
        /// such as Braze's deprecated external id); a user created by the look-up gets <see cref="Identifier"/>, never this.
        /// </summary>
        public Identifier? Fallback { get; init; }

        public override string ToString() => Named ?? Identifier.Identifier.ToString();
    }

    /// <summary>
    /// A profile by its id, standing for its root record. With <paramref name="MergedIdsToo"/> the id of a record merged
    /// into another profile names that profile; without, only a profile id as it stands names anyone.
    /// </summary>
    public sealed record ByProfileId(long Id, bool MergedIdsToo, string Field, string? Named = null) : UserLookup(Field, Named)
    {
        public override string ToString() => Named ?? $"profile {Id}";
    }
}

/// <summary>One edit of a user's properties.</summary>
public abstract record PropertyEdit(string Key)
{
    /// <summary>Sets the value on the record written to.</summary>
    public sealed record Set(string Key, PropertyValue Value) : PropertyEdit(Key);

    /// <summary>Sets the value on the record written to only when the profile has none for the key.</summary>
    public sealed record SetOnce(string Key, PropertyValue Value) : PropertyEdit(Key);

    /// <summary>Removes the key from every record of the profile.</summary>
    public sealed record Remove(string Key) : PropertyEdit(Key);

    /// <summary>Adds <paramref name="By"/> to the profile's number (0 when it has none); an overflow refuses the write.</summary>
    public sealed record Increment(string Key, decimal By) : PropertyEdit(Key);

    /// <summary>
    /// The profile's array with <paramref name="Added"/> appended and <paramref name="Removed"/> taken out, each value once, in
    /// the order first held, at most <paramref name="Cap"/> values. Removing from an array the profile does not have changes nothing.
    /// </summary>
    public sealed record ArrayEdit(string Key, IReadOnlyList<JsonElement> Added, IReadOnlyList<JsonElement> Removed, int Cap) : PropertyEdit(Key);

    /// <summary>
    /// A list edit as Amplitude's operations make them: <paramref name="Values"/> put at the start or the end of the list (a
    /// value that is not a list becomes the list's first element; none becomes an empty list), with <paramref name="OnlyNew"/>
    /// only those the list lacks, or with <paramref name="TakeOut"/> every copy of them taken out; at most <paramref name="Cap"/> values.
    /// </summary>
    public sealed record ListEdit(string Key, IReadOnlyList<JsonElement> Values, bool AtStart, bool OnlyNew, bool TakeOut, int Cap) : PropertyEdit(Key);

    /// <summary>Removes every property (of the record written to, or of every record of the profile, as the command says).</summary>
    public sealed record Clear() : PropertyEdit("*");
}

/// <summary>A user's one identifier of <paramref name="Type"/>: <paramref name="Value"/> replaces the one the profile holds; null removes it.</summary>
public sealed record SingleIdentifier(string Type, IdentifierInput? Value, string Field)
{
    /// <summary>
    /// A value that another user holds as an identifier is kept as this user's attribute named <see cref="Type"/> (Braze
    /// lets users share an email or a phone): the identifier is left out, recorded as an identified_user refusal, and the
    /// rest of the write goes on. Without it, such a value fails the write.
    /// </summary>
    public bool SharedKeptAsAttribute { get; init; }
}

/// <summary>
/// Gives <see cref="Identifier"/> to the user holding <see cref="User"/>. An identifier some record holds already changes
/// nothing ("exists"); without a user it becomes a user of its own ("created"); else it joins the user, which must exist,
/// under merge protection ("added"). With <see cref="OneAliasPerLabel"/> a profile holds one alias per label.
/// </summary>
public sealed record AttachCommand(IdentifierInput? User, IdentifierInput Identifier, bool OneAliasPerLabel);

public enum AttachOutcome
{
    Exists,
    Created,
    Added,
}

/// <summary>
/// Identifies an anonymous user as <see cref="User"/> (PostHog's $identify, Braze's /users/identify): the profile that
/// <see cref="Anonymous"/> finds joins the profile holding <see cref="User"/>, or takes that user id when no one holds it.
/// An anonymous identifier nobody holds joins the user. A profile that is identified already is refused.
/// </summary>
public sealed record IdentifyAnonymousCommand(UserLookup.ByIdentifier Anonymous, IdentifierInput User, bool OneAliasPerLabel);

public enum IdentifyAnonymousOutcome
{
    /// <summary>The anonymous identifier was new and joined the user.</summary>
    Attached,

    /// <summary>The two were one user already.</summary>
    Already,

    /// <summary>The anonymous profile took the user id, which nobody held.</summary>
    Identified,

    /// <summary>The anonymous profile joined the user's.</summary>
    Merged,
}

/// <summary>Joins the profile <see cref="From"/> finds into the one <see cref="Into"/> finds with an explicit link of <see cref="Kind"/>; the kept side's values win.</summary>
public sealed record MergeCommand(UserLookup From, UserLookup Into, string Kind);

/// <summary>The link made, or null when the two were one profile already.</summary>
public sealed record MergeResult(LinkResult? Link)
{
    public bool Already => Link is null;
}

/// <summary>
/// Creates or updates the user that a prioritized list of identifiers names: the record written to holds the first
/// identifier that some record holds, else a new one holds the first; every other identifier is attached under merge
/// protection. With <see cref="ExistingOnly"/>, identifiers nobody holds create nothing.
/// </summary>
public sealed record UpsertCommand(
    IReadOnlyList<IdentifierInput> Identifiers,
    bool ExistingOnly,
    IReadOnlyDictionary<string, PropertyValue> Set,
    IReadOnlyList<string> Unset,
    IReadOnlyList<PropertyEdit> Edits)
{
    /// <summary>
    /// Edits read and write the record written to alone, never the rest of its profile (Amplitude: a user's properties stay
    /// on its user id across a mapping).
    /// </summary>
    public bool EditsOnRecord { get; init; }
}

/// <summary>The identify that an upsert made, or null when it was skipped (<see cref="UpsertCommand.ExistingOnly"/>).</summary>
public sealed record UpsertResult(IdentifyResult? Identified);

/// <summary>
/// Edits the user <see cref="User"/> finds (created from its identifier when it is new and <see cref="MayCreate"/>): its
/// single-valued identifiers, then its properties, written on the profile's root record (the kept side of every explicit link).
/// </summary>
public sealed record EditCommand(UserLookup User, bool MayCreate, IReadOnlyList<SingleIdentifier> Identifiers, IReadOnlyList<PropertyEdit> Edits);

/// <summary>The user an edit wrote to, and the identifiers it left out (a denied value: the user keeps the one it held).</summary>
public sealed record EditResult(RecordId Record, IReadOnlyList<Refusal> Refused);

/// <summary>An event of the user <see cref="User"/> finds (created from its identifier when new and <see cref="MayCreate"/>).</summary>
public sealed record TrackUserCommand(UserLookup User, bool MayCreate, string Name, DateTimeOffset Time, string PropertiesJson);

/// <summary>Links <see cref="From"/> into <see cref="Into"/>, where the user holding <see cref="Into"/> must exist already (matching an alternative id).</summary>
public sealed record MatchCommand(IdentifierInput From, IdentifierInput Into, string Kind, string NotFound);

/// <summary>A company with its properties (a null value removes one), created when new.</summary>
public sealed record CompanyCommand(string CompanyId, IReadOnlyDictionary<string, PropertyValue> Properties);

/// <summary>The record holding <see cref="User"/> joins the company (created when new).</summary>
public sealed record JoinCompanyCommand(string CompanyId, IdentifierInput User);

/// <summary>A user as a read sees it: the profile, its events summarized by name, and its events of one name when asked for.</summary>
public sealed record UserView(ProfileView Profile, IReadOnlyList<EventSummary> EventSummaries, IReadOnlyList<StoredEvent> NamedEvents);

/// <summary>
/// A record of its own holding <see cref="Record"/> (a device), linked into the user holding <see cref="Into"/>, with
/// the record's own properties (a null value removes one). A record that belongs to another identified user is refused:
/// an explicit link would otherwise fold two users into one profile past merge protection.
/// </summary>
public sealed record LinkRecordCommand(IdentifierInput Record, IdentifierInput Into, IReadOnlyDictionary<string, PropertyValue?> Properties);

/// <summary>One event of a <see cref="TrackEventsCommand"/>.</summary>
public sealed record EventInput(string Name, DateTimeOffset Time, string PropertiesJson);

/// <summary>Events of the user a prioritized list of identifiers names: the first that a record holds, else the first; the others are attached as identify does.</summary>
public sealed record TrackEventsCommand(IReadOnlyList<IdentifierInput> Identifiers, IReadOnlyList<EventInput> Events);
