using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>A property of the profile view: the winning value and the record it came from.</summary>
public sealed record ProfileProperty(string Key, PropertyValue Value, RecordId Record, DateTimeOffset UpdatedAt);

public sealed record RecordView(RecordInfo Record, IReadOnlyList<StoredIdentifier> Identifiers, IReadOnlyList<StoredProperty> Properties);

/// <summary>A profile as computed from its records: nothing in it is stored merged.</summary>
public sealed record ProfileView(
    ProfileId Id,
    IReadOnlyList<RecordView> Records,
    IReadOnlyList<ProfileProperty> Properties,
    IReadOnlyList<Link> Links);

/// <summary>The answer to "which identifiers are the same person as this one?".</summary>
public sealed record Resolution(ProfileId Profile, RecordId Record, IReadOnlyList<StoredIdentifier> Identifiers, IReadOnlyList<RecordId> Records);

/// <summary>Why two identifiers are (or are not) the same person: the chain of links between their records.</summary>
public sealed record Explanation(
    StoredIdentifier From,
    StoredIdentifier To,
    bool Joined,
    ProfileId FromProfile,
    ProfileId ToProfile,
    IReadOnlyList<Link> Path,
    IReadOnlyDictionary<RecordId, IReadOnlyList<StoredIdentifier>> RecordIdentifiers)
{
    /// <summary>For each link of the path that a person approved from the review queue, the entry (its id, the approving key).</summary>
    public IReadOnlyDictionary<LinkId, Guardrails.ReviewEntry> Approvals { get; init; } = new Dictionary<LinkId, Guardrails.ReviewEntry>();
}

/// <summary>The direct links of one kind into and out of the record that holds an identifier.</summary>
public sealed record DirectLinks(
    StoredIdentifier Identifier,
    IReadOnlyList<(RecordId Record, IReadOnlyList<StoredIdentifier> Identifiers)> From,
    IReadOnlyList<(RecordId Record, IReadOnlyList<StoredIdentifier> Identifiers)> Into);

internal static class ProfileReads
{
    /// <summary>For each identifier (null when unknown): the records that link into its record, and those it links into, by links of <paramref name="kind"/>.</summary>
    public static IReadOnlyList<DirectLinks?> DirectLinksOf(IGraphReadSession session, IReadOnlyList<Identifier> identifiers, string kind)
    {
        var result = new List<DirectLinks?>();
        foreach (var identifier in identifiers)
        {
            var owner = session.FindIdentifier(identifier);
            if (owner is null)
            {
                result.Add(null);
                continue;
            }
            var profile = session.GetRecord(owner.Record)!.Profile;
            var links = session.GetProfileLinks(profile).Where(l => l.Kind == kind).ToList();
            var byRecord = session.GetProfileIdentifiers(profile).ToLookup(i => i.Record);
            result.Add(new DirectLinks(owner,
                links.Where(l => l.Into == owner.Record).Select(l => (l.From, (IReadOnlyList<StoredIdentifier>)byRecord[l.From].ToList())).ToList(),
                links.Where(l => l.From == owner.Record).Select(l => (l.Into, (IReadOnlyList<StoredIdentifier>)byRecord[l.Into].ToList())).ToList()));
        }
        return result;
    }

    public static Resolution? Resolve(IGraphReadSession session, Identifier identifier)
    {
        var owner = session.FindIdentifier(identifier);
        if (owner is null)
        {
            return null;
        }
        var record = session.GetRecord(owner.Record)!;
        var identifiers = session.GetProfileIdentifiers(record.Profile);
        var records = identifiers.Select(i => i.Record).Distinct().OrderBy(r => r.Value).ToList();
        if (!records.Contains(record.Id))
        {
            records.Add(record.Id);
        }
        return new Resolution(record.Profile, record.Id, identifiers, records);
    }

    /// <summary>
    /// The profile that holds record <paramref name="id"/> read as a profile id; an id that was merged away
    /// still finds the profile that absorbed it.
    /// </summary>
    public static ProfileView? Profile(IGraphReadSession session, long id)
    {
        var profile = new ProfileId(id);
        var records = session.GetProfileRecords(profile);
        if (records.Count == 0)
        {
            var record = session.GetRecord(new RecordId(id));
            if (record is null)
            {
                return null;
            }
            profile = record.Profile;
            records = session.GetProfileRecords(profile);
        }
        var identifiers = session.GetProfileIdentifiers(profile).ToLookup(i => i.Record);
        var properties = session.GetProfileProperties(profile);
        var ownProperties = properties.ToLookup(p => p.Record);
        var links = session.GetProfileLinks(profile);
        var views = records.OrderBy(r => r.Id.Value)
            .Select(r => new RecordView(r, identifiers[r.Id].ToList(), ownProperties[r.Id].OrderBy(p => p.Key, StringComparer.Ordinal).ToList()))
            .ToList();
        return new ProfileView(profile, views, MergeProperties(properties, links), links);
    }

    /// <summary>
    /// Per key: a value on the kept side of an explicit link beats a value on the merged side (followed through
    /// chains of explicit links); among values that no other value beats, the latest write wins.
    /// </summary>
    public static IReadOnlyList<ProfileProperty> MergeProperties(IReadOnlyList<StoredProperty> properties, IReadOnlyList<Link> links)
    {
        var keptSides = new Dictionary<RecordId, List<RecordId>>();
        foreach (var link in links.Where(l => l.IsExplicit))
        {
            if (!keptSides.TryGetValue(link.From, out var list))
            {
                list = [];
                keptSides[link.From] = list;
            }
            list.Add(link.Into);
        }
        var result = new List<ProfileProperty>();
        foreach (var group in properties.GroupBy(p => p.Key, StringComparer.Ordinal))
        {
            var candidates = group.ToList();
            var winners = candidates;
            if (candidates.Count > 1 && keptSides.Count > 0)
            {
                var holders = candidates.Select(c => c.Record).ToHashSet();
                var unbeaten = candidates.Where(c => !ReachesAnother(c.Record, holders, keptSides)).ToList();
                if (unbeaten.Count > 0)
                {
                    winners = unbeaten;
                }
            }
            var best = winners.MaxBy(p => p.Sequence)!;
            result.Add(new ProfileProperty(best.Key, best.Value, best.Record, best.UpdatedAt));
        }
        return result.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
    }

    public static Explanation? Explain(IGraphReadSession session, IdentifierInput from, IdentifierInput to)
    {
        var a = session.FindIdentifier(from.Identifier) ?? throw new GraphException(GraphErrorKind.NotFound, from.Field, $"no record holds the identifier {from.Identifier}");
        var b = session.FindIdentifier(to.Identifier) ?? throw new GraphException(GraphErrorKind.NotFound, to.Field, $"no record holds the identifier {to.Identifier}");
        var pa = session.GetRecord(a.Record)!.Profile;
        var pb = session.GetRecord(b.Record)!.Profile;
        if (pa != pb)
        {
            return new Explanation(a, b, false, pa, pb, [], new Dictionary<RecordId, IReadOnlyList<StoredIdentifier>>());
        }
        var links = session.GetProfileLinks(pa);
        var path = ShortestPath(a.Record, b.Record, links);
        var onPath = path.SelectMany(l => new[] { l.From, l.Into }).Append(a.Record).ToHashSet();
        var identifiers = session.GetProfileIdentifiers(pa)
            .Where(i => onPath.Contains(i.Record))
            .GroupBy(i => i.Record)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<StoredIdentifier>)g.ToList());
        var approvals = path.Where(l => l.Kind == LinkKinds.Review)
            .Select(l => (l.Id, Entry: session.FindReviewByLink(l.Id)))
            .Where(x => x.Entry is not null)
            .ToDictionary(x => x.Id, x => x.Entry!);
        return new Explanation(a, b, true, pa, pb, path, identifiers) { Approvals = approvals };
    }

    private static bool ReachesAnother(RecordId start, HashSet<RecordId> holders, Dictionary<RecordId, List<RecordId>> keptSides)
    {
        var seen = new HashSet<RecordId> { start };
        var stack = new Stack<RecordId>();
        stack.Push(start);
        while (stack.TryPop(out var id))
        {
            if (!keptSides.TryGetValue(id, out var next))
            {
                continue;
            }
            foreach (var n in next)
            {
                if (n != start && holders.Contains(n))
                {
                    return true;
                }
                if (seen.Add(n))
                {
                    stack.Push(n);
                }
            }
        }
        return false;
    }

    private static List<Link> ShortestPath(RecordId start, RecordId goal, IReadOnlyList<Link> links)
    {
        if (start == goal)
        {
            return [];
        }
        var byRecord = links.SelectMany(l => new[] { (l.From, l), (l.Into, l) }).ToLookup(x => x.Item1, x => x.l);
        var via = new Dictionary<RecordId, Link>();
        var queue = new Queue<RecordId>();
        queue.Enqueue(start);
        var seen = new HashSet<RecordId> { start };
        while (queue.TryDequeue(out var id))
        {
            foreach (var link in byRecord[id].OrderBy(l => l.Id.Value))
            {
                var next = link.Other(id);
                if (!seen.Add(next))
                {
                    continue;
                }
                via[next] = link;
                if (next == goal)
                {
                    var path = new List<Link>();
                    for (var at = goal; at != start; at = via[at].Other(at))
                    {
                        path.Add(via[at]);
                    }
                    path.Reverse();
                    return path;
                }
                queue.Enqueue(next);
            }
        }
        return [];
    }
}
