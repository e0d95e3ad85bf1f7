namespace Selfsame.Storage.Sqlite;

/// <summary>
/// A set of record (or profile) ids for counting: a bitmap up to <c>maxId</c>, since ids are handed out by a counter and
/// lie close together, with a hash set for anything beyond it. Adding ten million ids to a bitmap costs a fraction of what a
/// hash set costs.
/// </summary>
internal sealed class RecordIdSet(long maxId)
{
    /// <summary>Above this many ids (32 MiB of bitmap) only the hash set is used.</summary>
    private const long MaxBitmapIds = 1L << 28;

    private readonly ulong[] _bits = new ulong[maxId is >= 0 and < MaxBitmapIds ? (maxId >> 6) + 1 : 0];
    private readonly HashSet<long> _others = [];

    public long Count { get; private set; }
    public long Min { get; private set; } = long.MaxValue;
    public long Max { get; private set; } = long.MinValue;

    public void Add(long id)
    {
        if (id >= 0 && (id >> 6) < _bits.Length)
        {
            ref var word = ref _bits[id >> 6];
            var bit = 1UL << (int)(id & 63);
            if ((word & bit) != 0)
            {
                return;
            }
            word |= bit;
        }
        else if (!_others.Add(id))
        {
            return;
        }
        Count++;
        Min = Math.Min(Min, id);
        Max = Math.Max(Max, id);
    }

    /// <summary>The ids in the set: the bitmap's in ascending order, then the others.</summary>
    public IEnumerable<long> Ids()
    {
        for (var index = 0; index < _bits.Length; index++)
        {
            for (var word = _bits[index]; word != 0; word &= word - 1)
            {
                yield return ((long)index << 6) + System.Numerics.BitOperations.TrailingZeroCount(word);
            }
        }
        foreach (var id in _others)
        {
            yield return id;
        }
    }

    public bool Contains(long id) =>
        id >= 0 && (id >> 6) < _bits.Length ? (_bits[id >> 6] & (1UL << (int)(id & 63))) != 0 : _others.Contains(id);

    /// <summary>Adds every id of <paramref name="other"/>, a set made for the same highest id; returns this set.</summary>
    public RecordIdSet UnionWith(RecordIdSet other)
    {
        if (other._bits.Length != _bits.Length)
        {
            throw new ArgumentException("the sets were made for different highest ids", nameof(other));
        }
        long count = 0;
        for (var index = 0; index < _bits.Length; index++)
        {
            _bits[index] |= other._bits[index];
            count += System.Numerics.BitOperations.PopCount(_bits[index]);
        }
        _others.UnionWith(other._others);
        Count = count + _others.Count;
        if (other.Count > 0)
        {
            Min = Math.Min(Min, other.Min);
            Max = Math.Max(Max, other.Max);
        }
        return this;
    }
}
