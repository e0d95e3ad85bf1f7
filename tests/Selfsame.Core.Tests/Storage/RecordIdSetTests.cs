using Selfsame.Storage.Sqlite;

namespace Selfsame.Tests.Storage;

public sealed class RecordIdSetTests
{
    [Fact]
    public void CountsEachIdOnce_InTheBitmapAndBeyondIt()
    {
        var set = new RecordIdSet(maxId: 100);
        foreach (var id in new long[] { 5, 5, 63, 64, 100, 101, 5000, 5000, -1 })
        {
            set.Add(id);
        }

        Assert.Equal(7, set.Count);
        Assert.Equal((-1L, 5000L), (set.Min, set.Max));
        Assert.All(new long[] { 5, 63, 64, 100, 101, 5000, -1 }, id => Assert.True(set.Contains(id), $"{id}"));
        Assert.All(new long[] { 0, 4, 62, 65, 99, 102, 4999 }, id => Assert.False(set.Contains(id), $"{id}"));
        Assert.Equal([-1L, 5, 63, 64, 100, 101, 5000], set.Ids().Order());
    }

    [Fact]
    public void UnionWith_CountsIdsInBothSetsOnce_AndKeepsTheWiderBounds()
    {
        var one = new RecordIdSet(maxId: 200);
        var other = new RecordIdSet(maxId: 200);
        foreach (var id in new long[] { 3, 64, 150, 900 })
        {
            one.Add(id);
        }
        foreach (var id in new long[] { 1, 64, 151, 900, 901 })
        {
            other.Add(id);
        }

        Assert.Same(one, one.UnionWith(other));
        Assert.Equal(7, one.Count);
        Assert.Equal((1L, 901L), (one.Min, one.Max));
        Assert.Equal([1L, 3, 64, 150, 151, 900, 901], one.Ids().Order());
        Assert.Equal(one.Count, one.UnionWith(new RecordIdSet(maxId: 200)).Count);
        Assert.Throws<ArgumentException>(() => one.UnionWith(new RecordIdSet(maxId: 5000)));
    }
}
