using System.Globalization;
using System.Text.Json;
using Selfsame.Companies;
using Selfsame.Events;
using Selfsame.Guardrails;
using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>
/// The write rules that name users rather than records: look-ups by identifier or profile id, attach, identify an
/// anonymous user, merge, upsert by a prioritized list, edits of properties and single-valued identifiers, events of a
/// user, delete. Each runs inside one store transaction and refuses with <see cref="GraphException"/>, which rolls that
/// operation back alone.
/// </summary>
internal static class UserRules
{
    private static readonly IReadOnlyDictionary<string, PropertyValue> Empty = new Dictionary<string, PropertyValue>();

    /// <summary>The record that stands for the user a look-up names, or null when it names nobody.</summary>
    public static RecordId? Find(IGraphReadSession session, UserLookup user)
    {
        switch (user)
        {
            case UserLookup.ByProfileId byId:
            {
                var record = session.GetRecord(new RecordId(byId.Id));
                if (record is null || (!byId.MergedIdsToo && record.Profile.Value != byId.Id))
                {
                    return null;
                }
                return new RecordId(record.Profile.Value);
            }
            case UserLookup.ByIdentifier byIdentifier:
            {
                var owner = session.FindIdentifier(byIdentifier.Identifier.Identifier)
                    ?? (byIdentifier.Fallback is { } fallback ? session.FindIdentifier(fallback) : null);
                if (owner is null)
                {
                    return null;
                }
                var identified = Identified(session, ProfileOf(session, owner.Record));
                return byIdentifier.Filter switch
                {
                    Identification.Identified when !identified => null,
                    Identification.Unidentified when identified => null,
                    _ => owner.Record,
                };
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(user));
        }
    }

    public static ProfileId ProfileOf(IGraphReadSession session, RecordId record) => session.GetRecord(record)!.Profile;

    private static bool Identified(IGraphReadSession session, ProfileId profile) => session.CountProfileIdentifiers(profile, IdentifierTypes.UserId) > 0;

    private static GraphException Refuse(string field, string message) => new(GraphErrorKind.Conflict, field, message);

    public static AttachOutcome Attach(IGraphTransaction tx, AttachCommand command, WriteOrigin origin)
    {
        if (tx.FindIdentifier(command.Identifier.Identifier) is not null)
        {
            return AttachOutcome.Exists;
        }
        if (command.User is not { } user)
        {
            IdentityGraph.Identify(tx, new IdentifyCommand(command.Identifier, [], Empty, Empty, []), origin);
            return AttachOutcome.Created;
        }
        var owner = tx.FindIdentifier(user.Identifier)
            ?? throw Refuse(user.Field, $"no user has {user.Identifier.Type} '{user.Display}'; nothing was added");
        if (command.OneAliasPerLabel)
        {
            EnsureOneAliasPerLabel(tx, origin, ProfileOf(tx, owner.Record), [command.Identifier], user);
        }
        AttachOrRefuse(tx, user, command.Identifier, origin);
        return AttachOutcome.Added;
    }

    public static IdentifyAnonymousOutcome IdentifyAnonymous(IGraphTransaction tx, IdentifyAnonymousCommand command, WriteOrigin origin)
    {
        var anonymous = command.Anonymous;
        var anonymousRecord = Find(tx, anonymous);
        var userOwner = tx.FindIdentifier(command.User.Identifier);
        if (anonymousRecord is null)
        {
            if (tx.FindIdentifier(anonymous.Identifier.Identifier) is not null)
            {
                throw Refuse(anonymous.Field, $"the user holding {anonymous} does not match the look-up ({anonymous.Filter.ToString().ToLowerInvariant()} users only)");
            }
            if (userOwner is not null && command.OneAliasPerLabel && anonymous.Identifier.Identifier.IsAlias)
            {
                EnsureOneAliasPerLabel(tx, origin, ProfileOf(tx, userOwner.Record), [anonymous.Identifier], command.User);
            }
            AttachOrRefuse(tx, command.User, anonymous.Identifier, origin);
            return IdentifyAnonymousOutcome.Attached;
        }
        var anonymousProfile = ProfileOf(tx, anonymousRecord.Value);
        if (userOwner is not null && ProfileOf(tx, userOwner.Record) == anonymousProfile)
        {
            return IdentifyAnonymousOutcome.Already;
        }
        if (Identified(tx, anonymousProfile) && !Guard.Allows(tx, ReviewRules.IdentifiedUser))
        {
            throw Guard.Fail(tx, origin, ReviewRules.IdentifiedUser, $"{anonymous} belongs to an identified user; combine identified users with an explicit merge",
                anonymous.Field, Guard.Side(tx, command.User), Guard.Side(tx, anonymous.Identifier, anonymousRecord.Value));
        }
        if (userOwner is null)
        {
            IdentityGraph.Identify(tx, new IdentifyCommand(anonymous.Identifier, [command.User], Empty, Empty, []), origin);
            return IdentifyAnonymousOutcome.Identified;
        }
        var userProfile = ProfileOf(tx, userOwner.Record);
        if (command.OneAliasPerLabel)
        {
            var aliases = tx.GetProfileIdentifiers(anonymousProfile).Where(i => i.Identifier.IsAlias).Select(i => new IdentifierInput(i.Identifier, i.Display, anonymous.Field)).ToList();
            EnsureOneAliasPerLabel(tx, origin, userProfile, aliases, command.User);
        }
        IdentityGraph.JoinProfiles(tx, anonymousProfile, userProfile, LinkKinds.Alias, anonymous.Field, command.User.Field, origin);
        return IdentifyAnonymousOutcome.Merged;
    }

    public static MergeResult Merge(IGraphTransaction tx, MergeCommand command, WriteOrigin origin)
    {
        var from = Find(tx, command.From) ?? throw new GraphException(GraphErrorKind.NotFound, command.From.Field, $"no user matches {command.From}");
        var into = Find(tx, command.Into) ?? throw new GraphException(GraphErrorKind.NotFound, command.Into.Field, $"no user matches {command.Into}");
        var (fromProfile, intoProfile) = (ProfileOf(tx, from), ProfileOf(tx, into));
        return fromProfile == intoProfile
            ? new MergeResult(null)
            : new MergeResult(IdentityGraph.JoinProfiles(tx, fromProfile, intoProfile, command.Kind, command.From.Field, command.Into.Field, origin));
    }

    /// <summary>Deletes the whole profile of the user; null when no user matches.</summary>
    public static DeleteResult? Delete(IGraphTransaction tx, UserLookup user, WriteOrigin origin) =>
        Find(tx, user) is { } record ? IdentityGraph.DeleteProfile(tx, ProfileOf(tx, record), origin) : null;

    public static UpsertResult Upsert(IGraphTransaction tx, UpsertCommand command, WriteOrigin origin)
    {
        var held = command.Identifiers.FirstOrDefault(i => tx.FindIdentifier(i.Identifier) is not null);
        if (held is null && command.ExistingOnly)
        {
            return new UpsertResult(null);
        }
        var primary = held ?? command.Identifiers[0];
        var others = command.Identifiers.Where(i => i != primary).ToList();
        var result = IdentityGraph.Identify(tx, new IdentifyCommand(primary, others, command.Set, Empty, command.Unset), origin);
        ApplyEdits(tx, result.Profile, result.Record, command.Edits, command.EditsOnRecord);
        return new UpsertResult(result);
    }

    public static EditResult Edit(IGraphTransaction tx, EditCommand command, WriteOrigin origin)
    {
        var record = FindOrCreate(tx, command.User, command.MayCreate, origin);
        var refused = new List<Refusal>();
        foreach (var single in command.Identifiers)
        {
            if (SetSingle(tx, record, single, origin) is { } refusal)
            {
                refused.Add(refusal);
            }
        }
        if (command.Edits.Count > 0)
        {
            var profile = ProfileOf(tx, record);
            ApplyEdits(tx, profile, new RecordId(profile.Value), command.Edits);
        }
        return new EditResult(record, refused);
    }

    public static TrackResult TrackUser(IGraphTransaction tx, TrackUserCommand command, WriteOrigin origin)
    {
        var record = FindOrCreate(tx, command.User, command.MayCreate, origin);
        tx.TouchRecord(record);
        var eventId = IdentityGraph.AddEvent(tx, record, command.Name, command.Time, command.PropertiesJson, null, origin);
        return new TrackResult(null, eventId, record, ProfileOf(tx, record), Duplicate: false);
    }

    public static LinkResult Match(IGraphTransaction tx, MatchCommand command, WriteOrigin origin) =>
        tx.FindIdentifier(command.Into.Identifier) is null
            ? throw new GraphException(GraphErrorKind.NotFound, command.Into.Field, command.NotFound)
            : IdentityGraph.Link(tx, new LinkCommand(command.From, command.Into, command.Kind), origin);

    public static LinkResult LinkRecord(IGraphTransaction tx, LinkRecordCommand command, WriteOrigin origin)
    {
        var owner = tx.FindIdentifier(command.Into.Identifier);
        if (tx.FindIdentifier(command.Record.Identifier) is { } held)
        {
            var heldProfile = ProfileOf(tx, held.Record);
            if ((owner is null || heldProfile != ProfileOf(tx, owner.Record)) && Identified(tx, heldProfile) && !Guard.Allows(tx, ReviewRules.IdentifiedUser))
            {
                throw Guard.Fail(tx, origin, ReviewRules.IdentifiedUser, $"{command.Record.Identifier} belongs to another user", command.Record.Field,
                    Guard.Side(tx, command.Into), Guard.Side(tx, command.Record, held.Record));
            }
        }
        var link = IdentityGraph.Link(tx, new LinkCommand(command.Record, command.Into), origin);
        foreach (var (key, value) in command.Properties)
        {
            if (value is null)
            {
                tx.RemoveProperty(link.From, key);
            }
            else
            {
                tx.SetProperty(link.From, key, value);
            }
        }
        tx.TouchRecord(link.From);
        return link;
    }

    public static IReadOnlyList<TrackResult> TrackEvents(IGraphTransaction tx, TrackEventsCommand command, WriteOrigin origin)
    {
        var primary = command.Identifiers.FirstOrDefault(i => tx.FindIdentifier(i.Identifier) is not null) ?? command.Identifiers[0];
        var others = command.Identifiers.Where(i => i != primary).ToList();
        return command.Events
            .Select(e => IdentityGraph.Track(tx, new TrackCommand(new IdentifyCommand(primary, others, Empty, Empty, []), e.Name, e.Time, e.PropertiesJson, null), origin))
            .ToList();
    }

    public static bool IdentifyCompany(IGraphTransaction tx, CompanyCommand command)
    {
        CompanyRules.Identify(tx, command.CompanyId, command.Properties);
        return true;
    }

    public static bool JoinCompany(IGraphTransaction tx, JoinCompanyCommand command)
    {
        var owner = tx.FindIdentifier(IdentityGraph.Resolve(tx, command.User).Identifier)
            ?? throw new GraphException(GraphErrorKind.NotFound, command.User.Field, $"no record holds {command.User.Identifier}");
        CompanyRules.Join(tx, command.CompanyId, owner.Record);
        return true;
    }

    private static RecordId FindOrCreate(IGraphTransaction tx, UserLookup user, bool mayCreate, WriteOrigin origin)
    {
        if (Find(tx, user) is { } record)
        {
            return record;
        }
        if (!mayCreate || user is not UserLookup.ByIdentifier { Identifier: var identifier } || tx.FindIdentifier(identifier.Identifier) is not null)
        {
            throw new GraphException(GraphErrorKind.NotFound, user.Field, $"no user matches {user} and this write may not create one");
        }
        return IdentityGraph.Identify(tx, new IdentifyCommand(identifier, [], Empty, Empty, []), origin).Record;
    }

    /// <summary>Attaches <paramref name="identifier"/> to the user's record, creating the user when it is new; a refusal of merge protection fails the operation.</summary>
    private static void AttachOrRefuse(IGraphTransaction tx, IdentifierInput user, IdentifierInput identifier, WriteOrigin origin)
    {
        var result = IdentityGraph.Identify(tx, new IdentifyCommand(user, [identifier], Empty, Empty, []), origin);
        if (result.Refused.Count > 0)
        {
            throw Guard.Fail(result.Refused[0], origin);
        }
    }

    /// <summary>Refuses aliases whose label the profile already holds under another name.</summary>
    private static void EnsureOneAliasPerLabel(IGraphReadSession session, WriteOrigin origin, ProfileId profile, IReadOnlyList<IdentifierInput> aliases, IdentifierInput user)
    {
        if (Guard.Allows(session, ReviewRules.OneAliasPerLabel))
        {
            return;
        }
        var held = session.GetProfileIdentifiers(profile).Where(i => i.Identifier.IsAlias).Select(i => i.Identifier.AliasParts!.Value).ToList();
        foreach (var alias in aliases)
        {
            var (label, name) = alias.Identifier.AliasParts!.Value;
            if (held.FirstOrDefault(h => h.Label == label && h.Name != name) is { Label: not null } other)
            {
                throw Guard.Fail(session, origin, ReviewRules.OneAliasPerLabel,
                    $"the user with {user.Identifier} already has an alias labelled '{label}' ('{other.Name}'); a user holds one alias per label, so nothing was combined",
                    "user_alias", Guard.Side(session, user), Guard.Side(session, alias));
            }
        }
    }

    /// <summary>
    /// The user's one identifier of a type: a new value replaces the one the profile held, and null removes it. A value
    /// that belongs to another user fails the operation.
    /// </summary>
    private static Refusal? SetSingle(IGraphTransaction tx, RecordId record, SingleIdentifier single, WriteOrigin origin)
    {
        var profile = ProfileOf(tx, record);
        if (single.Value is { } sent && Guard.Denied(tx, sent.Identifier, held: tx.FindIdentifier(sent.Identifier) is not null) is { } denial)
        {
            // Left out, and the user keeps the value it held: the rest of the write goes on.
            var user = tx.GetProfileIdentifiers(profile).FirstOrDefault(i => i.Record == record);
            var side = user is null ? new ReviewSide(null, null, record, profile) : new ReviewSide(user.Identifier, user.Display, record, profile);
            return Guard.Record(tx, origin, denial.Rule, denial.Reason, sent, side, ReviewSide.Of(sent, null, null));
        }
        var held = tx.GetProfileIdentifiers(profile).Where(i => i.Identifier.Type == single.Type).ToList();
        Refusal? shared = null;
        if (single.Value is { } value && tx.FindIdentifier(value.Identifier) is { } owner)
        {
            var ownerProfile = ProfileOf(tx, owner.Record);
            if (ownerProfile != profile)
            {
                if (!single.SharedKeptAsAttribute)
                {
                    throw Refuse(single.Field, $"{value.Identifier} belongs to another user; a user holds one {single.Type}");
                }
                // The value is this user's attribute; the identifier stays with the user who holds it, and no merge is made.
                tx.SetProperty(record, single.Type, new PropertyValue(PropertyType.String, JsonSerializer.Serialize(value.Display)));
                var user = tx.GetProfileIdentifiers(profile).FirstOrDefault(i => i.Record == record);
                shared = Guard.Record(tx, origin, ReviewRules.IdentifiedUser, $"{value.Identifier} is another user's identifier: kept as this user's {single.Type} attribute only",
                    value, user is null ? new ReviewSide(null, null, record, profile) : new ReviewSide(user.Identifier, user.Display, record, profile),
                    ReviewSide.Of(value, owner.Record, ownerProfile));
            }
            else
            {
                held.RemoveAll(i => i.Identifier == value.Identifier);
            }
        }
        else if (single.Value is { } added)
        {
            tx.AttachIdentifier(record, added.Identifier, added.Display);
            ChangeFeed.Attached(tx, origin, added.Identifier, record, profile);
        }
        if (shared is null && single.SharedKeptAsAttribute)
        {
            // The user's own identifier (or none) now stands for the value: an attribute kept from a shared value goes.
            tx.RemoveProperty(record, single.Type);
        }
        foreach (var old in held)
        {
            tx.DetachIdentifier(old.Identifier);
            ChangeFeed.Detached(tx, origin, old.Identifier, old.Record, profile, suppressed: false);
        }
        if (held.Count > 0)
        {
            // Ids and the type only: the audit log keeps no identifier values.
            tx.AddAudit(single.Value is null ? "remove_identifier" : "replace_identifier", origin,
                new { record_id = record.Value, type = single.Type, removed = held.Count, profile = profile.Value });
        }
        return shared;
    }

    /// <summary>Applies property edits: sets on <paramref name="target"/>; increments and array edits from the profile's merged values.</summary>
    private static void ApplyEdits(IGraphTransaction tx, ProfileId profile, RecordId target, IReadOnlyList<PropertyEdit> edits, bool recordOnly = false)
    {
        IReadOnlyList<ProfileProperty>? current = null;
        PropertyValue? Current(string key)
        {
            current ??= recordOnly
                ? ProfileReads.MergeProperties(tx.GetProfileProperties(profile).Where(p => p.Record == target).ToList(), [])
                : ProfileReads.MergeProperties(tx.GetProfileProperties(profile), tx.GetProfileLinks(profile));
            return current.FirstOrDefault(p => p.Key == key)?.Value;
        }
        IEnumerable<RecordId> Written() => recordOnly ? [target] : tx.GetProfileRecords(profile).Select(r => r.Id);
        foreach (var edit in edits)
        {
            switch (edit)
            {
                case PropertyEdit.Set set:
                    tx.SetProperty(target, set.Key, set.Value);
                    break;
                case PropertyEdit.SetOnce once when Current(once.Key) is null:
                    tx.SetProperty(target, once.Key, once.Value);
                    break;
                case PropertyEdit.SetOnce:
                    break;
                case PropertyEdit.Remove remove:
                    foreach (var member in Written())
                    {
                        tx.RemoveProperty(member, remove.Key);
                    }
                    break;
                case PropertyEdit.Clear:
                    foreach (var property in tx.GetProfileProperties(profile).Where(p => !recordOnly || p.Record == target).ToList())
                    {
                        tx.RemoveProperty(property.Record, property.Key);
                    }
                    break;
                case PropertyEdit.ListEdit listEdit:
                    var existing = Current(listEdit.Key) switch
                    {
                        null => [],
                        { Type: PropertyType.Array } array => JsonSerializer.Deserialize<List<JsonElement>>(array.Json)!,
                        var scalar => [JsonSerializer.Deserialize<JsonElement>(scalar.Json)],
                    };
                    var texts = listEdit.Values.Select(v => v.GetRawText()).ToHashSet(StringComparer.Ordinal);
                    List<JsonElement> edited;
                    if (listEdit.TakeOut)
                    {
                        edited = existing.Where(v => !texts.Contains(v.GetRawText())).ToList();
                    }
                    else
                    {
                        var heldTexts = existing.Select(v => v.GetRawText()).ToHashSet(StringComparer.Ordinal);
                        var added = listEdit.OnlyNew ? listEdit.Values.Where(v => heldTexts.Add(v.GetRawText())).ToList() : listEdit.Values.ToList();
                        edited = listEdit.AtStart ? [.. added, .. existing] : [.. existing, .. added];
                    }
                    // A list over the cap keeps its first values (prepending pushes the last ones out).
                    tx.SetProperty(target, listEdit.Key, new PropertyValue(PropertyType.Array, JsonSerializer.Serialize(edited.Take(listEdit.Cap).ToList())));
                    break;
                case PropertyEdit.Increment inc:
                    var before = 0m;
                    if (Current(inc.Key) is { Type: PropertyType.Number } number
                        && !decimal.TryParse(number.Json, NumberStyles.Float, CultureInfo.InvariantCulture, out before))
                    {
                        throw Refuse(inc.Key, $"'{inc.Key}' is {number.Json}, too large to increment");
                    }
                    decimal after;
                    try
                    {
                        after = checked(before + inc.By);
                    }
                    catch (OverflowException)
                    {
                        throw Refuse(inc.Key, $"incrementing '{inc.Key}' by {inc.By} goes beyond the largest number kept");
                    }
                    tx.SetProperty(target, inc.Key, new PropertyValue(PropertyType.Number, after.ToString(CultureInfo.InvariantCulture)));
                    break;
                case PropertyEdit.ArrayEdit array:
                    var held = Current(array.Key);
                    if (held is null && array.Added.Count == 0)
                    {
                        break;
                    }
                    var values = held is { Type: PropertyType.Array } list ? JsonSerializer.Deserialize<List<JsonElement>>(list.Json)! : [];
                    var removed = array.Removed.Select(r => r.GetRawText()).ToHashSet(StringComparer.Ordinal);
                    var next = values.Concat(array.Added).Where(v => !removed.Contains(v.GetRawText())).DistinctBy(v => v.GetRawText()).Take(array.Cap).ToList();
                    tx.SetProperty(target, array.Key, new PropertyValue(PropertyType.Array, JsonSerializer.Serialize(next)));
                    break;
            }
            current = null;
        }
    }
}
