using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>
/// The rules that decide a component's profile id. The profile id is the id of the component's root record,
/// chosen from the component alone, so that it does not depend on the order of writes and a split hands each part
/// the id it had before the merge:
/// 1. a record that is the kept side (into) of some link and the merged side (from) of none;
/// 2. among those (or among all records when there is none), a record that holds a user_id;
/// 3. among those, the oldest record (the lowest record id).
/// </summary>
public static class ProfileRoot
{
    public static RecordId Choose(IReadOnlyCollection<RecordInfo> records, IReadOnlyCollection<Link> links)
    {
        if (records.Count == 1)
        {
            return records.First().Id;
        }
        var into = new HashSet<RecordId>();
        var from = new HashSet<RecordId>();
        foreach (var link in links)
        {
            into.Add(link.Into);
            from.Add(link.From);
        }
        var sinks = records.Where(r => into.Contains(r.Id) && !from.Contains(r.Id)).ToList();
        var pool = sinks.Count > 0 ? sinks : records.ToList();
        var identified = pool.Where(r => r.Identified).ToList();
        if (identified.Count > 0)
        {
            pool = identified;
        }
        return pool.MinBy(r => r.Id.Value)!.Id;
    }

    /// <summary>Splits records into connected components over the links (in either direction).</summary>
    public static List<List<RecordInfo>> Components(IReadOnlyCollection<RecordInfo> records, IReadOnlyCollection<Link> links)
    {
        var byId = records.ToDictionary(r => r.Id);
        var neighbours = new Dictionary<RecordId, List<RecordId>>();
        foreach (var link in links)
        {
            if (!byId.ContainsKey(link.From) || !byId.ContainsKey(link.Into))
            {
                continue;
            }
            Neighbours(link.From).Add(link.Into);
            Neighbours(link.Into).Add(link.From);
        }
        var seen = new HashSet<RecordId>();
        var components = new List<List<RecordInfo>>();
        foreach (var start in records.OrderBy(r => r.Id.Value))
        {
            if (!seen.Add(start.Id))
            {
                continue;
            }
            var component = new List<RecordInfo>();
            var queue = new Queue<RecordId>();
            queue.Enqueue(start.Id);
            while (queue.TryDequeue(out var id))
            {
                component.Add(byId[id]);
                if (neighbours.TryGetValue(id, out var next))
                {
                    foreach (var n in next)
                    {
                        if (seen.Add(n))
                        {
                            queue.Enqueue(n);
                        }
                    }
                }
            }
            components.Add(component);
        }
        return components;

        List<RecordId> Neighbours(RecordId id)
        {
            if (!neighbours.TryGetValue(id, out var list))
            {
                list = [];
                neighbours[id] = list;
            }
            return list;
        }
    }
}
