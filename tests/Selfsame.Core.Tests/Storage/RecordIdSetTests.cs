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
}
