using Selfsame.Events;
using Selfsame.Guardrails;
using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>
/// The write rules of the identity graph: identify, link, unlink, delete. Each runs inside one store transaction,
/// which puts every write to a project in one serial order.
/// A rule that refuses a request throws <see cref="GraphException"/>; the store then keeps nothing of that request.
/// </summary>
internal static class IdentityGraph
{
    public static IdentifyResult Identify(IGraphTransaction tx, IdentifyCommand command, WriteOrigin origin) =>
        Identify(tx, command, origin, LinkKinds.Identify);

    /// <summary>
    /// Ingests one event: identifies its sender as identify does (an event carrying identifiers of two profiles joins them
    /// with a link of kind "event", under the same merge protection), then stores the event on the sender's record.
    /// An insert_id seen before in the project makes the event a duplicate: nothing is written, and the earlier event is answered.
    /// </summary>
    public static TrackResult Track(IGraphTransaction tx, TrackCommand command, WriteOrigin origin)
    {
        if (command.InsertId is { } insertId && tx.FindEventByInsertId(insertId) is { } earlier)
        {
            return new TrackResult(null, earlier.EventId, earlier.Record, tx.GetRecord(earlier.Record)?.Profile ?? ProfileId.Of(earlier.Record), Duplicate: true);
        }
        if (command.Personless)
        {
            return TrackPersonless(tx, command, origin);
        }
        // Identify moves the sender's last_seen_at to now: when Selfsame last heard from it, whatever the event's own time.
        var identity = Identify(tx, command.Identity, origin, LinkKinds.Event);
        var eventId = AddEvent(tx, identity.Record, command.Name, command.Time ?? tx.Now, command.PropertiesJson, command.InsertId, origin);
        return new TrackResult(identity, eventId, identity.Record, identity.Profile, Duplicate: false);
    }

    private static TrackResult TrackPersonless(IGraphTransaction tx, TrackCommand command, WriteOrigin origin)
    {
        var sender = Resolve(tx, command.Identity);
        var holder = sender.Others.Prepend(sender.Primary).Select(i => tx.FindIdentifier(i.Identifier)).FirstOrDefault(i => i is not null)
            ?? throw new GraphException(GraphErrorKind.NotFound, sender.Primary.Field,
                $"no record holds {sender.Primary.Identifier}, and the event asks to create none: it has nobody to be stored on; nothing was written");
        var eventId = AddEvent(tx, holder.Record, command.Name, command.Time ?? tx.Now, command.PropertiesJson, command.InsertId, origin);
        return new TrackResult(null, eventId, holder.Record, tx.GetRecord(holder.Record)!.Profile, Duplicate: false);
    }

    /// <summary>Stores an event on a record: every event, whichever operation tracks it, is written here.</summary>
    internal static long AddEvent(IGraphTransaction tx, RecordId record, string name, DateTimeOffset time, string propertiesJson, string? insertId, WriteOrigin origin) =>
        tx.AddEvent(record, name, time, propertiesJson, insertId, origin.Surface);

    private static IdentifyResult Identify(IGraphTransaction tx, IdentifyCommand command, WriteOrigin origin, string linkKind)
    {
        command = Resolve(tx, command);
        var settings = tx.Settings;
        var (primary, owner, others, dropped) = ChoosePrimary(tx, command, origin);
        RecordId record;
        var created = owner is null;
        var attached = new List<Identifier>();
        if (owner is null)
        {
            record = tx.CreateRecord();
            tx.AttachIdentifier(record, primary.Identifier, primary.Display);
            ChangeFeed.Attached(tx, origin, primary.Identifier, record, ProfileId.Of(record));
            attached.Add(primary.Identifier);
        }
        else
        {
            record = owner.Record;
            tx.TouchRecord(record);
        }
        var profile = created ? ProfileId.Of(record) : tx.GetRecord(record)!.Profile;
        var merged = new List<MergeNote>();
        var refused = new List<Refusal>();
        var reroot = false;
        ReviewSide Requester() => ReviewSide.Of(primary, record, profile);
        foreach (var (input, denial) in dropped)
        {
            refused.Add(Guard.Record(tx, origin, denial.Rule, denial.Reason, input, Requester(), ReviewSide.Of(input, null, null)));
        }

        foreach (var input in others)
        {
            var identifier = input.Identifier;
            var current = tx.FindIdentifier(identifier);
            if (current is null)
            {
                // The deny-list dropped junk among the others already (ChoosePrimary): a suppressed value is left.
                if (Guard.Suppressed(tx, identifier) is { } denial)
                {
                    refused.Add(Guard.Record(tx, origin, denial.Rule, denial.Reason, input, Requester(), ReviewSide.Of(input, null, null)));
                    continue;
                }
                var limit = settings.LimitFor(identifier.Type);
                var rule = ReviewRules.PerType(identifier.Type);
                if (limit is { } max && tx.CountProfileIdentifiers(profile, identifier.Type) + 1 > max && !Guard.Allows(tx, rule))
                {
                    refused.Add(Guard.Record(tx, origin, rule,
                        $"the profile already holds {max} {identifier.Type} identifier(s), the most this project allows (max_per_type.{identifier.Type})",
                        input, Requester(), ReviewSide.Of(input, null, null)));
                    continue;
                }
                tx.AttachIdentifier(record, identifier, input.Display);
                ChangeFeed.Attached(tx, origin, identifier, record, profile);
                attached.Add(identifier);
                // A user_id can change which record is the root, once the profile has more than this one record.
                reroot |= identifier.Type == IdentifierTypes.UserId && (!created || merged.Count > 0);
                continue;
            }
            if (current.Record == record)
            {
                continue;
            }
            // Seen too, when it is or becomes this user's: a record named by any identifier of the request, not only by the
            // first (a device's record stays seen while the device comes with the user's id). A record that merge
            // protection keeps apart is another person's, and is not.
            var otherProfile = tx.GetRecord(current.Record)!.Profile;
            if (otherProfile == profile)
            {
                tx.TouchRecord(current.Record);
                continue;
            }
            if (ImplicitMergeRefusal(tx, profile, otherProfile) is { } refusal)
            {
                refused.Add(Guard.Record(tx, origin, refusal.Rule, refusal.Reason, input, Requester(), ReviewSide.Of(input, current.Record, otherProfile)));
                continue;
            }
            var link = tx.AddLink(current.Record, record, linkKind, origin);
            tx.TouchRecord(current.Record);
            merged.Add(new MergeNote(otherProfile, current.Record, identifier, link.Id));
            var before = profile;
            profile = Join(tx, profile, otherProfile, out _);
            tx.AddAudit("merge", origin, new { kind = linkKind, link_id = link.Id.Value, from_record = current.Record.Value, into_record = record.Value,
                via = identifier.Type, profiles = new[] { otherProfile.Value, before.Value }, profile = profile.Value });
            ChangeFeed.Merged(tx, origin, profile, [otherProfile, before], link, identifier.Type);
        }

        foreach (var (key, value) in command.Set)
        {
            tx.SetProperty(record, key, value);
        }
        foreach (var (key, value) in command.SetOnce)
        {
            if (!tx.HasProperty(record, key))
            {
                tx.SetProperty(record, key, value);
            }
        }
        foreach (var key in command.Unset)
        {
            tx.RemoveProperty(record, key);
        }
        if (reroot)
        {
            profile = Reroot(tx, profile, origin);
        }
        return new IdentifyResult(profile, record, created, attached, merged, refused);
    }

    /// <summary>The identifier an input stands for: its <see cref="IdentifierInput.IfHeld"/> when a record holds that one.</summary>
    internal static IdentifierInput Resolve(IGraphTransaction tx, IdentifierInput input) =>
        input.IfHeld is { } alternative && tx.FindIdentifier(alternative.Identifier) is not null ? alternative : input;

    /// <summary>The command with each of its inputs resolved; an other that resolves to an identifier named before it is left out.</summary>
    private static IdentifyCommand Resolve(IGraphTransaction tx, IdentifyCommand command)
    {
        if (command.Primary.IfHeld is null && command.Others.All(o => o.IfHeld is null))
        {
            return command;
        }
        var primary = Resolve(tx, command.Primary);
        var others = command.Others.Select(o => Resolve(tx, o)).Where(o => o.Identifier != primary.Identifier).DistinctBy(o => o.Identifier).ToList();
        return command with { Primary = primary, Others = others };
    }

    /// <summary>
    /// The identifier that names the request's user: the first of the request that is not denied (a junk value, or a
    /// suppressed one that no record holds), with its record when one holds it; the rest to attach, and those dropped.
    /// When every identifier is denied, the request is refused: there is no one to write to.
    /// </summary>
    private static (IdentifierInput Primary, StoredIdentifier? Owner, List<IdentifierInput> Others, List<(IdentifierInput, Denial)> Dropped) ChoosePrimary(
        IGraphTransaction tx, IdentifyCommand command, WriteOrigin origin)
    {
        var settings = tx.Settings;
        var dropped = new List<(IdentifierInput, Denial)>();
        var candidates = command.Others.Count == 0 ? [command.Primary] : new List<IdentifierInput>(command.Others.Count + 1) { command.Primary };
        if (command.Others.Count > 0)
        {
            candidates.AddRange(command.Others);
        }
        for (var i = 0; i < candidates.Count; i++)
        {
            var input = candidates[i];
            if (DenyList.Check(input.Identifier, settings) is { } junk)
            {
                dropped.Add((input, junk));
                continue;
            }
            var owner = tx.FindIdentifier(input.Identifier);
            if (owner is null && Guard.Suppressed(tx, input.Identifier) is { } suppressed)
            {
                dropped.Add((input, suppressed));
                continue;
            }
            // The others keep the deny-list's verdict: a junk value among them is dropped here, a suppressed one when it comes.
            var others = new List<IdentifierInput>(candidates.Count - i - 1);
            foreach (var other in candidates.Skip(i + 1))
            {
                if (DenyList.Check(other.Identifier, settings) is { } otherJunk)
                {
                    dropped.Add((other, otherJunk));
                }
                else
                {
                    others.Add(other);
                }
            }
            return (input, owner, others, dropped);
        }
        var (first, denial) = dropped[0];
        throw Guard.Fail(tx, origin, denial.Rule,
            dropped.Count == 1 ? $"{denial.Reason}; nothing was written" : $"{denial.Reason}, and every other identifier of the request is denied too; nothing was written",
            first.Field, new ReviewSide(null, null, null, null), ReviewSide.Of(first, null, null));
    }

    public static LinkResult Link(IGraphTransaction tx, LinkCommand command, WriteOrigin origin)
    {
        command = command with { From = Resolve(tx, command.From), Into = Resolve(tx, command.Into) };
        if (command.From.Identifier == command.Into.Identifier)
        {
            throw new GraphException(GraphErrorKind.Invalid, command.Into.Field, $"names the same identifier as {command.From.Field} ({command.From.Identifier}): a link joins two");
        }
        var fromOwner = tx.FindIdentifier(command.From.Identifier);
        var intoOwner = tx.FindIdentifier(command.Into.Identifier);
        // An explicit link on a denied identifier is refused whole: it names the side it would create or join by that value.
        foreach (var (side, owner, other) in new[] { (command.From, fromOwner, command.Into), (command.Into, intoOwner, command.From) })
        {
            if (Guard.Denied(tx, side.Identifier, held: owner is not null) is { } denial)
            {
                throw Guard.Fail(tx, origin, denial.Rule, $"{denial.Reason}; nothing was linked", side.Field, Guard.Side(tx, other), ReviewSide.Of(side, owner?.Record, null));
            }
        }
        return LinkFound(tx, command, fromOwner?.Record, intoOwner?.Record, origin, enforceCaps: true);
    }

    /// <summary>
    /// Links the records of an explicit link's two sides, creating a record for a side no record holds; with
    /// <paramref name="enforceCaps"/>, refuses a profile over max_records (an approved review entry is not held to it:
    /// a person decided).
    /// </summary>
    private static LinkResult LinkFound(IGraphTransaction tx, LinkCommand command, RecordId? fromRecord, RecordId? intoRecord, WriteOrigin origin, bool enforceCaps)
    {
        // Check the record cap before creating anything: a missing record counts as one.
        var fromSide = fromRecord is { } f ? tx.GetRecord(f) : null;
        var intoSide = intoRecord is { } i ? tx.GetRecord(i) : null;
        if (enforceCaps && (fromSide is null || intoSide is null || fromSide.Profile != intoSide.Profile) && !Guard.Allows(tx, ReviewRules.MaxRecords))
        {
            var size = (fromSide is null ? 1 : tx.CountProfileRecords(fromSide.Profile)) + (intoSide is null ? 1 : tx.CountProfileRecords(intoSide.Profile));
            if (size > tx.Settings.MaxRecords)
            {
                throw Guard.Fail(tx, origin, ReviewRules.MaxRecords,
                    $"joining would make a profile of {size} records; this project allows at most {tx.Settings.MaxRecords} (max_records)", "from",
                    ReviewSide.Of(command.Into, intoSide?.Id, intoSide?.Profile), ReviewSide.Of(command.From, fromSide?.Id, fromSide?.Profile));
            }
        }
        var createdRecords = new List<RecordId>();
        var from = fromRecord ?? Create(tx, command.From, createdRecords, origin);
        var into = intoRecord ?? Create(tx, command.Into, createdRecords, origin);
        return LinkRecords(tx, from, into, command.Kind, origin, createdRecords);
    }

    /// <summary>Links two records explicitly (nothing is checked: the callers have), joining their profiles.</summary>
    internal static LinkResult LinkRecords(IGraphTransaction tx, RecordId from, RecordId into, string kind, WriteOrigin origin, IReadOnlyList<RecordId> createdRecords)
    {
        if (from == into)
        {
            return new LinkResult(tx.GetRecord(from)!.Profile, from, into, null, createdRecords, [], AlreadyJoined: true);
        }
        var fromProfile = tx.GetRecord(from)!.Profile;
        var intoProfile = tx.GetRecord(into)!.Profile;
        if (fromProfile == intoProfile)
        {
            var existing = tx.GetProfileLinks(fromProfile).FirstOrDefault(l => l.From == from && l.Into == into && l.Kind == kind);
            if (existing is not null)
            {
                return new LinkResult(fromProfile, from, into, existing, createdRecords, [], AlreadyJoined: true);
            }
            var inside = tx.AddLink(from, into, kind, origin);
            return new LinkResult(Reroot(tx, fromProfile, origin), from, into, inside, createdRecords, [], AlreadyJoined: true);
        }
        var link = tx.AddLink(from, into, kind, origin);
        var profile = Join(tx, intoProfile, fromProfile, out var joined);
        var mergedAway = new[] { fromProfile, intoProfile }.Where(p => p != profile).ToList();
        tx.AddAudit("merge", origin, new { kind = kind, link_id = link.Id.Value, from_record = from.Value, into_record = into.Value,
            profiles = new[] { fromProfile.Value, intoProfile.Value }, profile = profile.Value });
        ChangeFeed.Merged(tx, origin, profile, [fromProfile, intoProfile], link, null);
        return new LinkResult(profile, from, into, link, createdRecords, mergedAway, AlreadyJoined: false) { JoinedRecords = joined };
    }

    /// <summary>
    /// Joins two whole profiles with an explicit link from the root record of <paramref name="merged"/> into the root record
    /// of <paramref name="kept"/>: the kept profile's root stays the root, and its values win over the merged profile's
    /// whichever of their records a request named. Nothing is removed; unlinking the two roots undoes it.
    /// </summary>
    public static LinkResult JoinProfiles(IGraphTransaction tx, ProfileId merged, ProfileId kept, string kind, string mergedField, string keptField, WriteOrigin origin,
        bool enforceCaps = true)
    {
        var (from, into) = (RootInput(tx, merged, mergedField), RootInput(tx, kept, keptField));
        return LinkFound(tx, new LinkCommand(from, into, kind), tx.FindIdentifier(from.Identifier)?.Record, tx.FindIdentifier(into.Identifier)?.Record, origin, enforceCaps);
    }

    /// <summary>An identifier of the profile's root record (of another record when the root holds none).</summary>
    private static IdentifierInput RootInput(IGraphReadSession session, ProfileId profile, string field)
    {
        var identifiers = session.GetProfileIdentifiers(profile);
        if (identifiers.Count == 0)
        {
            throw new GraphException(GraphErrorKind.Conflict, field, $"profile {profile} holds no identifier left to link it by (its identifiers were detached)");
        }
        var held = identifiers.FirstOrDefault(i => i.Record.Value == profile.Value) ?? identifiers[0];
        return new IdentifierInput(held.Identifier, held.Display, field);
    }

    /// <summary>
    /// Makes the record of <c>From</c> point into the record of <c>Into</c> with exactly one link of the command's kind
    /// out of it: an earlier link of that kind from the same record to another record is removed first (a user maps
    /// into one global user at a time).
    /// </summary>
    public static LinkResult Map(IGraphTransaction tx, LinkCommand command, WriteOrigin origin)
    {
        var from = tx.FindIdentifier(command.From.Identifier);
        var into = tx.FindIdentifier(command.Into.Identifier);
        if (from is not null)
        {
            var stale = OutgoingLinks(tx, from.Record, command.Kind).Where(l => into is null || l.Into != into.Record).ToList();
            if (stale.Count > 0)
            {
                foreach (var link in stale)
                {
                    tx.RemoveLink(link.Id);
                }
                var parts = Split(tx, tx.GetRecord(from.Record)!.Profile, origin);
                AuditUnlink(tx, origin, stale, parts);
            }
        }
        return Link(tx, command, origin);
    }

    /// <summary>Removes the links of <paramref name="kind"/> out of the record of <paramref name="from"/>; the profile splits where they were its only bridges.</summary>
    public static UnlinkResult RemoveOutgoing(IGraphTransaction tx, IdentifierInput from, string kind, WriteOrigin origin)
    {
        var record = Require(tx, from);
        var removed = OutgoingLinks(tx, record, kind);
        foreach (var link in removed)
        {
            tx.RemoveLink(link.Id);
        }
        if (removed.Count > 0)
        {
            AuditUnlink(tx, origin, removed, Split(tx, tx.GetRecord(record)!.Profile, origin));
        }
        var profile = tx.GetRecord(record)!.Profile;
        var intoProfile = removed.Count > 0 ? tx.GetRecord(removed[0].Into)!.Profile : profile;
        return new UnlinkResult(removed, profile, intoProfile);
    }

    private static void AuditUnlink(IGraphTransaction tx, WriteOrigin origin, IReadOnlyList<Link> removed, List<ProfileId> parts) =>
        tx.AddAudit("unlink", origin, new
        {
            links = removed.Select(l => new { link_id = l.Id.Value, kind = l.Kind, from_record = l.From.Value, into_record = l.Into.Value, made_by = l.Surface, made_at = l.CreatedAt }),
            profiles = parts.Select(p => p.Value),
        });

    private static List<Link> OutgoingLinks(IGraphTransaction tx, RecordId record, string kind) =>
        tx.GetProfileLinks(tx.GetRecord(record)!.Profile).Where(l => l.From == record && l.Kind == kind).ToList();

    public static UnlinkResult Unlink(IGraphTransaction tx, UnlinkCommand command, WriteOrigin origin)
    {
        var from = Require(tx, command.From);
        var into = Require(tx, command.Into);
        var removed = from == into ? [] : tx.RemoveLinksBetween(from, into);
        if (removed.Count > 0)
        {
            AuditUnlink(tx, origin, removed, Split(tx, tx.GetRecord(from)!.Profile, origin));
        }
        return new UnlinkResult(removed, tx.GetRecord(from)!.Profile, tx.GetRecord(into)!.Profile);
    }

    /// <summary>
    /// Puts <paramref name="replacement"/> in the place of <paramref name="old"/> on the record that holds it (a renamed user id,
    /// an alias with a new name). The replacement must not be held by any record. Returns the record.
    /// </summary>
    public static RecordId ReplaceIdentifier(IGraphTransaction tx, IdentifierInput old, IdentifierInput replacement, WriteOrigin origin)
    {
        var record = Require(tx, old);
        if (Guard.Denied(tx, replacement.Identifier, held: tx.FindIdentifier(replacement.Identifier) is not null) is { } denial)
        {
            throw Guard.Fail(tx, origin, denial.Rule, $"{denial.Reason}; nothing was replaced", replacement.Field, Guard.Side(tx, old, record), ReviewSide.Of(replacement, null, null));
        }
        if (tx.FindIdentifier(replacement.Identifier) is { } taken)
        {
            throw new GraphException(GraphErrorKind.Conflict, replacement.Field, taken.Record == record
                ? $"the record already holds {replacement.Identifier}"
                : $"{replacement.Identifier} already belongs to another record");
        }
        tx.DetachIdentifier(old.Identifier);
        tx.AttachIdentifier(record, replacement.Identifier, replacement.Display);
        tx.TouchRecord(record);
        var profile = tx.GetRecord(record)!.Profile;
        ChangeFeed.Replaced(tx, origin, old.Identifier, replacement.Identifier, record, profile);
        if (old.Identifier.Type == IdentifierTypes.UserId || replacement.Identifier.Type == IdentifierTypes.UserId)
        {
            profile = Reroot(tx, profile, origin);
        }
        tx.AddAudit("replace_identifier", origin, new { record_id = record.Value, type = old.Identifier.Type, new_type = replacement.Identifier.Type, profile = profile.Value });
        return record;
    }

    public static DeleteResult DeleteRecord(IGraphTransaction tx, RecordId record, WriteOrigin origin, bool suppress = false)
    {
        var info = tx.GetRecord(record) ?? throw new GraphException(GraphErrorKind.NotFound, "record_id", $"no record {record} in this project");
        var held = tx.GetProfileIdentifiers(info.Profile).Where(i => i.Record == record).ToList();
        var suppressed = suppress ? Suppress(tx, held) : 0;
        tx.DeleteRecord(record);
        ChangeFeed.RecordDeleted(tx, origin, record, info.Profile, held.Select(i => i.Identifier), suppressed);
        var parts = Split(tx, info.Profile, origin);
        // Ids only: the audit log must not keep what a delete removed.
        tx.AddAudit("delete_record", origin, new { record_id = record.Value, profile = info.Profile.Value, profiles = parts.Select(p => p.Value), suppressed });
        return new DeleteResult([record], parts, suppressed);
    }

    /// <summary>Deletes a profile; like the profile read, an id that was merged away names the profile that holds that record.</summary>
    public static DeleteResult DeleteProfile(IGraphTransaction tx, ProfileId profile, WriteOrigin origin, bool suppress = false)
    {
        var records = tx.GetProfileRecords(profile);
        if (records.Count == 0 && tx.GetRecord(new RecordId(profile.Value)) is { } merged)
        {
            records = tx.GetProfileRecords(merged.Profile);
        }
        if (records.Count == 0)
        {
            throw new GraphException(GraphErrorKind.NotFound, "profile_id", $"no profile {profile} in this project");
        }
        var held = tx.GetProfileIdentifiers(records[0].Profile);
        var suppressed = suppress ? Suppress(tx, held) : 0;
        foreach (var record in records)
        {
            tx.DeleteRecord(record.Id);
        }
        ChangeFeed.ProfileDeleted(tx, origin, records[0].Profile, records.Select(r => r.Id), held.Select(i => i.Identifier), suppressed);
        tx.AddAudit("delete_profile", origin, new { profile = records[0].Profile.Value, record_ids = records.Select(r => r.Id.Value), suppressed });
        return new DeleteResult(records.Select(r => r.Id).ToList(), [], suppressed);
    }

    /// <summary>Adds the values to the project's suppressed values; answers how many.</summary>
    internal static int Suppress(IGraphTransaction tx, IEnumerable<StoredIdentifier> identifiers)
    {
        var count = 0;
        foreach (var identifier in identifiers)
        {
            tx.Suppress(identifier.Identifier);
            count++;
        }
        return count;
    }

    /// <summary>Tells the store which identifiers and insert_ids <paramref name="operations"/> will look up.</summary>
    public static void ReadAhead(IGraphTransaction tx, IReadOnlyList<GraphOperation> operations)
    {
        var identifiers = new List<Identifier>();
        var insertIds = new List<string>();
        foreach (var operation in operations)
        {
            AddLookUps(operation, identifiers, insertIds);
        }
        tx.ReadAhead(identifiers, insertIds);
    }

    /// <summary>Adds the identifiers and insert_ids that applying <paramref name="operation"/> starts by looking up.</summary>
    public static void AddLookUps(GraphOperation operation, List<Identifier> identifiers, List<string> insertIds)
    {
        switch (operation)
        {
            case GraphOperation.IdentifyOp op:
                AddIdentify(op.Command);
                break;
            case GraphOperation.TrackOp op:
                AddIdentify(op.Command.Identity);
                if (op.Command.InsertId is { } insertId)
                {
                    insertIds.Add(insertId);
                }
                break;
            case GraphOperation.LinkOp op:
                Add(op.Command.From);
                Add(op.Command.Into);
                break;
            case GraphOperation.UnlinkOp op:
                Pair(op.Command.From.Identifier, op.Command.Into.Identifier);
                break;
            case GraphOperation.MapOp op:
                Pair(op.Command.From.Identifier, op.Command.Into.Identifier);
                break;
            case GraphOperation.UpsertOp op:
                identifiers.AddRange(op.Command.Identifiers.Select(i => i.Identifier));
                break;
            case GraphOperation.TrackEventsOp op:
                identifiers.AddRange(op.Command.Identifiers.Select(i => i.Identifier));
                break;
            case GraphOperation.DeleteUserOp op:
                AddUser(op.User);
                break;
            case GraphOperation.EditOp op:
                AddUser(op.Command.User);
                break;
            case GraphOperation.TrackUserOp op:
                AddUser(op.Command.User);
                break;
            case GraphOperation.MergeOp op:
                AddUser(op.Command.From);
                AddUser(op.Command.Into);
                break;
            case GraphOperation.IdentifyAnonymousOp op:
                Pair(op.Command.Anonymous.Identifier.Identifier, op.Command.User.Identifier);
                break;
            case GraphOperation.AttachOp op:
                identifiers.Add(op.Command.Identifier.Identifier);
                identifiers.AddRange(op.Command.User is { } user ? [user.Identifier] : []);
                break;
            case GraphOperation.MatchOp op:
                Pair(op.Command.From.Identifier, op.Command.Into.Identifier);
                break;
            case GraphOperation.LinkRecordOp op:
                Pair(op.Command.Record.Identifier, op.Command.Into.Identifier);
                break;
            case GraphOperation.DetachIdentifierOp op:
                identifiers.Add(op.Identifier.Identifier);
                break;
            case GraphOperation.Sequence op:
                foreach (var step in op.Steps)
                {
                    AddLookUps(step, identifiers, insertIds);
                }
                break;
        }

        void Pair(Identifier a, Identifier b)
        {
            identifiers.Add(a);
            identifiers.Add(b);
        }

        void AddUser(UserLookup user)
        {
            if (user is UserLookup.ByIdentifier byIdentifier)
            {
                identifiers.Add(byIdentifier.Identifier.Identifier);
                if (byIdentifier.Fallback is { } fallback)
                {
                    identifiers.Add(fallback);
                }
            }
        }

        void Add(IdentifierInput input)
        {
            identifiers.Add(input.Identifier);
            if (input.IfHeld is { } alternative)
            {
                identifiers.Add(alternative.Identifier);
            }
        }

        void AddIdentify(IdentifyCommand command)
        {
            Add(command.Primary);
            foreach (var other in command.Others)
            {
                Add(other);
            }
        }
    }

    public static object Apply(IGraphTransaction tx, GraphOperation operation, WriteOrigin origin) => operation switch
    {
        GraphOperation.IdentifyOp op => Identify(tx, op.Command, origin),
        GraphOperation.LinkOp op => Link(tx, op.Command, origin),
        GraphOperation.UnlinkOp op => Unlink(tx, op.Command, origin),
        GraphOperation.TrackOp op => Track(tx, op.Command, origin),
        GraphOperation.MapOp op => Map(tx, op.Command, origin),
        GraphOperation.UnmapOp op => tx.FindIdentifier(op.From.Identifier) is null ? Array.Empty<Link>() : RemoveOutgoing(tx, op.From, op.Kind, origin).Removed,
        GraphOperation.MatchOp op => UserRules.Match(tx, op.Command, origin),
        GraphOperation.ReplaceIdentifierOp op => ReplaceIdentifier(tx, op.Old, op.Replacement, origin),
        GraphOperation.AttachOp op => UserRules.Attach(tx, op.Command, origin),
        GraphOperation.IdentifyAnonymousOp op => UserRules.IdentifyAnonymous(tx, op.Command, origin),
        GraphOperation.MergeOp op => UserRules.Merge(tx, op.Command, origin),
        GraphOperation.UpsertOp op => UserRules.Upsert(tx, op.Command, origin),
        GraphOperation.EditOp op => UserRules.Edit(tx, op.Command, origin),
        GraphOperation.TrackUserOp op => UserRules.TrackUser(tx, op.Command, origin),
        GraphOperation.DeleteUserOp op => (object?)UserRules.Delete(tx, op.User, origin)
            ?? (op.MustExist ? throw new GraphException(GraphErrorKind.NotFound, op.User.Field, $"no user matches {op.User}") : NotFound.Instance),
        GraphOperation.LinkRecordOp op => UserRules.LinkRecord(tx, op.Command, origin),
        GraphOperation.TrackEventsOp op => UserRules.TrackEvents(tx, op.Command, origin),
        GraphOperation.CompanyOp op => UserRules.IdentifyCompany(tx, op.Command),
        GraphOperation.JoinCompanyOp op => UserRules.JoinCompany(tx, op.Command),
        GraphOperation.DeleteRecordOp op => DeleteRecord(tx, op.Record, origin, op.Suppress),
        GraphOperation.DeleteProfileOp op => DeleteProfile(tx, op.Profile, origin, op.Suppress),
        GraphOperation.DetachIdentifierOp op => ReviewDecisions.Detach(tx, op.Identifier, op.Suppress, origin),
        GraphOperation.LiftSuppressionOp op => LiftSuppression(tx, op.Identifier, origin),
        GraphOperation.ApproveReviewOp op => ReviewDecisions.Approve(tx, op.Id, origin),
        GraphOperation.RejectReviewOp op => ReviewDecisions.Reject(tx, op.Id, origin),
        GraphOperation.Sequence op => op.Steps.Select(step => Apply(tx, step, origin)).ToList(),
        _ => throw new ArgumentOutOfRangeException(nameof(operation)),
    };

    private static bool LiftSuppression(IGraphTransaction tx, IdentifierInput input, WriteOrigin origin)
    {
        var lifted = tx.LiftSuppression(input.Identifier);
        if (lifted)
        {
            tx.AddAudit("lift_suppression", origin, new { type = input.Identifier.Type });
        }
        return lifted;
    }

    private static (string Rule, string Reason)? ImplicitMergeRefusal(IGraphTransaction tx, ProfileId a, ProfileId b)
    {
        var settings = tx.Settings;
        var size = tx.CountProfileRecords(a) + tx.CountProfileRecords(b);
        if (size > settings.MaxRecords && !Guard.Allows(tx, ReviewRules.MaxRecords))
        {
            return (ReviewRules.MaxRecords, $"merging would make a profile of {size} records; this project allows at most {settings.MaxRecords} (max_records)");
        }
        foreach (var (type, max) in settings.MaxPerType)
        {
            // A side without identifiers of this type adds none: such a merge cannot break the limit, even where an
            // explicit link already put the other side over it.
            var (inA, inB) = (tx.CountProfileIdentifiers(a, type), tx.CountProfileIdentifiers(b, type));
            var count = inA + inB;
            if (inA > 0 && inB > 0 && count > max && !Guard.Allows(tx, ReviewRules.PerType(type)))
            {
                return (ReviewRules.PerType(type), $"merging would put {count} {type} identifiers in one profile; this project allows at most {max} (max_per_type.{type})");
            }
        }
        return null;
    }

    /// <summary>A new record holding <paramref name="input"/> (the caller has checked that no record holds it and that it is not denied).</summary>
    internal static RecordId CreateRecord(IGraphTransaction tx, IdentifierInput input, WriteOrigin origin) => Create(tx, input, [], origin);

    private static RecordId Create(IGraphTransaction tx, IdentifierInput input, List<RecordId> created, WriteOrigin origin)
    {
        var record = tx.CreateRecord();
        tx.AttachIdentifier(record, input.Identifier, input.Display);
        ChangeFeed.Attached(tx, origin, input.Identifier, record, ProfileId.Of(record));
        created.Add(record);
        return record;
    }

    private static RecordId Require(IGraphTransaction tx, IdentifierInput input) =>
        tx.FindIdentifier(input.Identifier)?.Record
        ?? throw new GraphException(GraphErrorKind.NotFound, input.Field, $"no record holds the identifier {input.Identifier}");

    /// <summary>Recomputes the root of two profiles that a new link joined; returns the joined profile's id.</summary>
    /// <summary>Joins profile <paramref name="b"/> into <paramref name="a"/> (or the other way, by root); <paramref name="recordsOfB"/> is how many records <paramref name="b"/> held.</summary>
    private static ProfileId Join(IGraphTransaction tx, ProfileId a, ProfileId b, out int recordsOfB)
    {
        var ofB = tx.GetProfileRecords(b);
        recordsOfB = ofB.Count;
        var records = tx.GetProfileRecords(a).Concat(ofB).ToList();
        var links = tx.GetProfileLinks(a).Concat(tx.GetProfileLinks(b)).DistinctBy(l => l.Id).ToList();
        var root = ProfileId.Of(ProfileRoot.Choose(records, links));
        tx.SetProfile(records.Where(r => r.Profile != root).Select(r => r.Id), root);
        return root;
    }

    /// <summary>Recomputes the root of one profile after a change inside it.</summary>
    internal static ProfileId RerootProfile(IGraphTransaction tx, ProfileId profile, WriteOrigin origin) => Reroot(tx, profile, origin);

    private static ProfileId Reroot(IGraphTransaction tx, ProfileId profile, WriteOrigin origin)
    {
        var records = tx.GetProfileRecords(profile);
        var root = ProfileId.Of(ProfileRoot.Choose(records, tx.GetProfileLinks(profile)));
        if (root != profile)
        {
            tx.SetProfile(records.Select(r => r.Id), root);
            ChangeFeed.Renamed(tx, origin, profile, root);
        }
        return root;
    }

    /// <summary>Splits a profile into its connected components, each under the id of its own root.</summary>
    private static List<ProfileId> Split(IGraphTransaction tx, ProfileId profile, WriteOrigin origin)
    {
        var records = tx.GetProfileRecords(profile);
        var links = tx.GetProfileLinks(profile);
        var sides = new List<(ProfileId Profile, IReadOnlyList<RecordId> Records)>();
        foreach (var component in ProfileRoot.Components(records, links))
        {
            var ids = component.Select(r => r.Id).ToHashSet();
            var root = ProfileId.Of(ProfileRoot.Choose(component, links.Where(l => ids.Contains(l.From)).ToList()));
            tx.SetProfile(component.Where(r => r.Profile != root).Select(r => r.Id), root);
            sides.Add((root, component.Select(r => r.Id).ToList()));
        }
        ChangeFeed.Split(tx, origin, profile, sides);
        return sides.Select(s => s.Profile).ToList();
    }
}
