using Selfsame.Events;
using Selfsame.Guardrails;
using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>Profiles that a write joins into one: the ids before, the id after.</summary>
public sealed record ProfileMerge(IReadOnlyList<ProfileId> Before, ProfileId After);

/// <summary>A profile that a write splits: where its records go, and the id each side gets.</summary>
public sealed record ProfileSplit(ProfileId Before, IReadOnlyList<ProfileSide> Into);

public sealed record ProfileSide(ProfileId Profile, IReadOnlyList<RecordId> Records);

/// <summary>A profile whose records stay together under another id (its root changed).</summary>
public sealed record ProfileRenamed(ProfileId Before, ProfileId After);

/// <summary>An identifier a write attaches, detaches or moves to another profile.</summary>
public sealed record IdentifierChange(Identifier Identifier, RecordId Record, ProfileId? From, ProfileId? To);

/// <summary>An identifier a write leaves out, why, and what the review queue would record (<c>held</c> or <c>refused</c>).</summary>
public sealed record RefusalEffect(Identifier? Identifier, string Field, string Rule, string Reason, ReviewStatus Status);

/// <summary>A property of a record that a write sets, changes or removes (null: not there).</summary>
public sealed record PropertyChange(RecordId Record, string Key, PropertyValue? Before, PropertyValue? After);

/// <summary>The events of a record that move to another profile with it: at most 1,000 are counted (<see cref="More"/>: more than that).</summary>
public sealed record EventsMoved(RecordId Record, ProfileId From, ProfileId To, int Events, bool More);

/// <summary>What a write does to the graph, as observed around it: the answer of a dry run.</summary>
public sealed record Effect(
    IReadOnlyList<ProfileMerge> Merged,
    IReadOnlyList<ProfileSplit> Split,
    IReadOnlyList<ProfileRenamed> Renamed,
    IReadOnlyList<RecordId> RecordsCreated,
    IReadOnlyList<RecordId> RecordsDeleted,
    IReadOnlyList<IdentifierChange> Attached,
    IReadOnlyList<IdentifierChange> Detached,
    IReadOnlyList<IdentifierChange> Moved,
    IReadOnlyList<RefusalEffect> Refused,
    IReadOnlyList<PropertyChange> Properties,
    IReadOnlyList<EventsMoved> EventsMoved,
    int EventsAdded)
{
    public bool IsEmpty => Merged.Count + Split.Count + Renamed.Count + RecordsCreated.Count + RecordsDeleted.Count + Attached.Count + Detached.Count
        + Moved.Count + Refused.Count + Properties.Count + EventsMoved.Count + EventsAdded == 0;
}

/// <summary>A request's dry run: the effect of each of its operations, in order, as the engine applied them before rolling back.</summary>
public sealed class DryRunLog
{
    private readonly List<Effect> _effects = [];

    public IReadOnlyList<Effect> Effects => _effects;

    /// <summary>Set when the answer is the dry run's own account (a job's payload): nothing is to be added to it.</summary>
    public bool Answered { get; set; }

    internal void Add(IEnumerable<Effect> effects) => _effects.AddRange(effects);
}

/// <summary>
/// Observes a write: the records, identifiers and properties of every profile it can touch, read in its transaction just
/// before and just after it, and the difference. The write itself is the real rule, run as ever: nothing here decides.
/// </summary>
internal static class Effects
{
    private const int CountedEvents = 1000;

    /// <summary>What an operation names, to start the snapshot from: its identifiers, records and profiles.</summary>
    internal sealed record Named(List<Identifier> Identifiers, List<RecordId> Records, List<ProfileId> Profiles);

    internal sealed record RecordState(ProfileId Profile, IReadOnlyList<StoredIdentifier> Identifiers, IReadOnlyDictionary<string, PropertyValue> Properties);

    public static Named NamedBy(IGraphReadSession session, GraphOperation operation)
    {
        var named = new Named([], [], []);
        Add(session, operation, named);
        return named;
    }

    private static void Add(IGraphReadSession session, GraphOperation operation, Named named)
    {
        IdentityGraph.AddLookUps(operation, named.Identifiers, []);
        switch (operation)
        {
            case GraphOperation.DeleteRecordOp op:
                named.Records.Add(op.Record);
                break;
            case GraphOperation.DeleteProfileOp op:
                named.Profiles.Add(op.Profile);
                named.Records.Add(new RecordId(op.Profile.Value));
                break;
            case GraphOperation.DeleteUserOp { User: UserLookup.ByProfileId byId }:
                named.Records.Add(new RecordId(byId.Id));
                break;
            case GraphOperation.EditOp { Command.User: UserLookup.ByProfileId byId }:
                named.Records.Add(new RecordId(byId.Id));
                break;
            case GraphOperation.TrackUserOp { Command.User: UserLookup.ByProfileId byId }:
                named.Records.Add(new RecordId(byId.Id));
                break;
            case GraphOperation.MergeOp op:
                named.Records.AddRange(new[] { op.Command.From, op.Command.Into }.OfType<UserLookup.ByProfileId>().Select(l => new RecordId(l.Id)));
                break;
            case GraphOperation.ApproveReviewOp op when session.GetReviewEntry(op.Id) is { } entry:
                foreach (var side in new[] { entry.A, entry.B })
                {
                    named.Records.AddRange(side.Record is { } r ? [r] : []);
                    named.Identifiers.AddRange(side.Identifier is { } i ? [i] : []);
                }
                break;
            case GraphOperation.Sequence op:
                foreach (var step in op.Steps)
                {
                    Add(session, step, named);
                }
                break;
        }
    }

    /// <summary>Every record of every profile that <paramref name="named"/> reaches (and, after a write, of those <paramref name="before"/> held).</summary>
    public static Dictionary<RecordId, RecordState> Snapshot(IGraphReadSession session, Named named, IReadOnlyDictionary<RecordId, RecordState>? before = null)
    {
        var profiles = new HashSet<ProfileId>(named.Profiles.Where(p => session.CountProfileRecords(p) > 0));
        foreach (var identifier in named.Identifiers)
        {
            if (session.FindIdentifier(identifier) is { } owner && session.GetRecord(owner.Record) is { } record)
            {
                profiles.Add(record.Profile);
            }
        }
        foreach (var id in named.Records.Concat(before?.Keys ?? []))
        {
            if (session.GetRecord(id) is { } record)
            {
                profiles.Add(record.Profile);
            }
        }
        var state = new Dictionary<RecordId, RecordState>();
        foreach (var profile in profiles)
        {
            var identifiers = session.GetProfileIdentifiers(profile).ToLookup(i => i.Record);
            var properties = session.GetProfileProperties(profile).ToLookup(p => p.Record);
            foreach (var record in session.GetProfileRecords(profile))
            {
                state[record.Id] = new RecordState(profile, identifiers[record.Id].ToList(),
                    properties[record.Id].ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
            }
        }
        return state;
    }

    /// <summary>The difference between two snapshots of the same records, with what the operation's answer says it left out.</summary>
    public static Effect Between(IGraphReadSession session, IReadOnlyDictionary<RecordId, RecordState> before, IReadOnlyDictionary<RecordId, RecordState> after,
        object? result, Exception? error)
    {
        var created = after.Keys.Where(r => !before.ContainsKey(r)).OrderBy(x => x.Value).ToList();
        var deleted = before.Keys.Where(r => !after.ContainsKey(r) && session.GetRecord(r) is null).OrderBy(x => x.Value).ToList();

        var merged = new List<ProfileMerge>();
        var renamed = new List<ProfileRenamed>();
        foreach (var group in after.GroupBy(r => r.Value.Profile).OrderBy(g => g.Key.Value))
        {
            var from = group.Where(r => before.ContainsKey(r.Key)).Select(r => before[r.Key].Profile).Distinct().OrderBy(x => x.Value).ToList();
            if (from.Count > 1)
            {
                merged.Add(new ProfileMerge(from, group.Key));
            }
            else if (from.Count == 1 && from[0] != group.Key && before.Where(b => b.Value.Profile == from[0]).All(b => !after.TryGetValue(b.Key, out var a) || a.Profile == group.Key))
            {
                renamed.Add(new ProfileRenamed(from[0], group.Key));
            }
        }
        var split = new List<ProfileSplit>();
        foreach (var group in before.GroupBy(r => r.Value.Profile).OrderBy(g => g.Key.Value))
        {
            var sides = group.Where(r => after.ContainsKey(r.Key)).GroupBy(r => after[r.Key].Profile).ToList();
            if (sides.Count > 1)
            {
                split.Add(new ProfileSplit(group.Key, sides.OrderBy(s => s.Key.Value)
                    .Select(s => new ProfileSide(s.Key, s.Select(r => r.Key).OrderBy(x => x.Value).ToList())).ToList()));
            }
        }

        var held = Owners(before);
        var now = Owners(after);
        var attached = now.Where(n => !held.ContainsKey(n.Key)).Select(n => new IdentifierChange(n.Key, n.Value.Record, null, n.Value.Profile)).ToList();
        var detached = held.Where(h => !now.ContainsKey(h.Key) && !deleted.Contains(h.Value.Record))
            .Select(h => new IdentifierChange(h.Key, h.Value.Record, h.Value.Profile, null)).ToList();
        var moved = now.Where(n => held.TryGetValue(n.Key, out var h) && h.Profile != n.Value.Profile)
            .Select(n => new IdentifierChange(n.Key, n.Value.Record, held[n.Key].Profile, n.Value.Profile)).ToList();

        var properties = new List<PropertyChange>();
        foreach (var (record, state) in after.OrderBy(a => a.Key.Value))
        {
            var old = before.TryGetValue(record, out var b) ? b.Properties : new Dictionary<string, PropertyValue>();
            foreach (var key in old.Keys.Union(state.Properties.Keys).Order(StringComparer.Ordinal))
            {
                var (was, isNow) = (old.GetValueOrDefault(key), state.Properties.GetValueOrDefault(key));
                if (was != isNow)
                {
                    properties.Add(new PropertyChange(record, key, was, isNow));
                }
            }
        }

        var events = new List<EventsMoved>();
        foreach (var (record, state) in after.OrderBy(a => a.Key.Value))
        {
            if (before.TryGetValue(record, out var b) && b.Profile != state.Profile)
            {
                var count = session.GetEvents(state.Profile, record, new EventQuery(null, null, null, null, CountedEvents + 1)).Count;
                if (count > 0)
                {
                    events.Add(new EventsMoved(record, b.Profile, state.Profile, Math.Min(count, CountedEvents), count > CountedEvents));
                }
            }
        }

        var refused = Refusals.Of(result).Select(r => new RefusalEffect(r.Identifier, r.Field, r.Rule, r.Reason, r.Entry.Status)).ToList();
        if (error is GraphException { Refusal: { } refusal } failure)
        {
            refused.Add(new RefusalEffect(refusal.Entry.B.Identifier, failure.Field, refusal.Entry.Rule, refusal.Entry.Reason, refusal.Entry.Status));
        }
        return new Effect(merged, split, renamed, created, deleted, attached, detached, moved, refused, properties, events, EventsAddedBy(result));
    }

    private static int EventsAddedBy(object? result) => result switch
    {
        TrackResult { Duplicate: false } => 1,
        IEnumerable<object> many => many.Sum(EventsAddedBy),
        _ => 0,
    };

    private static Dictionary<Identifier, (RecordId Record, ProfileId Profile)> Owners(IReadOnlyDictionary<RecordId, RecordState> state)
    {
        var owners = new Dictionary<Identifier, (RecordId, ProfileId)>();
        foreach (var (record, s) in state)
        {
            foreach (var identifier in s.Identifiers)
            {
                owners[identifier.Identifier] = (record, s.Profile);
            }
        }
        return owners;
    }
}
