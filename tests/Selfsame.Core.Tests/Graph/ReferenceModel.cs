namespace Selfsame.Tests.Graph;

/// <summary>
/// A deliberately plain model of the graph rules (lists and loops, no store), written apart from the engine so that
/// the randomized test compares two independent readings of docs/identity-model.md.
/// Identifiers are strings "type:value"; records are numbered in creation order.
/// </summary>
internal sealed class ReferenceModel(int maxRecords, int maxUserIds)
{
    private readonly Dictionary<string, int> _owner = [];
    private readonly List<(int From, int Into, string Kind)> _links = [];
    private readonly SortedSet<int> _records = [];
    private int _next;

    public IEnumerable<string> Identifiers => _owner.Keys;

    public void Identify(string primary, IReadOnlyList<string> others)
    {
        var record = _owner.TryGetValue(primary, out var r) ? r : Create(primary);
        foreach (var other in others.Where(o => o != primary).Distinct())
        {
            if (!_owner.TryGetValue(other, out var owner))
            {
                if (IsUserId(other) && UserIds(Component(record)) + 1 > maxUserIds)
                {
                    continue;
                }
                _owner[other] = record;
                continue;
            }
            var mine = Component(record);
            if (mine.Contains(owner))
            {
                continue;
            }
            var theirs = Component(owner);
            var (myUserIds, theirUserIds) = (UserIds(mine), UserIds(theirs));
            if (mine.Count + theirs.Count > maxRecords || (myUserIds > 0 && theirUserIds > 0 && myUserIds + theirUserIds > maxUserIds))
            {
                continue;
            }
            _links.Add((owner, record, "identify"));
        }
    }

    /// <summary>Returns false when the link was refused (the record cap).</summary>
    public bool Link(string from, string into)
    {
        var fromSize = _owner.TryGetValue(from, out var f) ? Component(f).Count : 1;
        var intoSize = _owner.TryGetValue(into, out var i) ? Component(i).Count : 1;
        var joined = _owner.ContainsKey(from) && _owner.ContainsKey(into) && Component(f).Contains(i);
        if (!joined && fromSize + intoSize > maxRecords)
        {
            return false;
        }
        f = _owner.TryGetValue(from, out var ff) ? ff : Create(from);
        i = _owner.TryGetValue(into, out var ii) ? ii : Create(into);
        if (f != i && !_links.Contains((f, i, "link")))
        {
            _links.Add((f, i, "link"));
        }
        return true;
    }

    /// <summary>Returns false when either identifier is unknown.</summary>
    public bool Unlink(string a, string b)
    {
        if (!_owner.TryGetValue(a, out var ra) || !_owner.TryGetValue(b, out var rb))
        {
            return false;
        }
        _links.RemoveAll(l => (l.From == ra && l.Into == rb) || (l.From == rb && l.Into == ra));
        return true;
    }

    public bool DeleteRecordOf(string identifier)
    {
        if (!_owner.TryGetValue(identifier, out var record))
        {
            return false;
        }
        _records.Remove(record);
        foreach (var key in _owner.Where(kv => kv.Value == record).Select(kv => kv.Key).ToList())
        {
            _owner.Remove(key);
        }
        _links.RemoveAll(l => l.From == record || l.Into == record);
        return true;
    }

    public int RecordOf(string identifier) => _owner[identifier];

    /// <summary>The profile id as the documented rule gives it: the root record of the component.</summary>
    public int ProfileOf(string identifier)
    {
        var component = Component(_owner[identifier]);
        var links = _links.Where(l => component.Contains(l.From)).ToList();
        var sinks = component.Where(r => links.Any(l => l.Into == r) && links.All(l => l.From != r)).ToList();
        var pool = sinks.Count > 0 ? sinks : component.ToList();
        var identified = pool.Where(r => _owner.Any(kv => kv.Value == r && IsUserId(kv.Key))).ToList();
        return (identified.Count > 0 ? identified : pool).Min();
    }

    public HashSet<string> SameProfileAs(string identifier)
    {
        var component = Component(_owner[identifier]);
        return _owner.Where(kv => component.Contains(kv.Value)).Select(kv => kv.Key).ToHashSet();
    }

    private int Create(string identifier)
    {
        var record = ++_next;
        _records.Add(record);
        _owner[identifier] = record;
        return record;
    }

    private HashSet<int> Component(int record)
    {
        var seen = new HashSet<int> { record };
        var changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (from, into, _) in _links)
            {
                if (seen.Contains(from) != seen.Contains(into))
                {
                    seen.Add(from);
                    seen.Add(into);
                    changed = true;
                }
            }
        }
        return seen;
    }

    private int UserIds(HashSet<int> component) => _owner.Count(kv => IsUserId(kv.Key) && component.Contains(kv.Value));

    private static bool IsUserId(string identifier) => identifier.StartsWith("user_id:", StringComparison.Ordinal);
}
