using System.Net;
using System.Net.Sockets;
using Npgsql;
using Selfsame.Graph;
using Selfsame.Storage;
using Selfsame.Storage.Postgres;

namespace Selfsame.Tests.Storage;

/// <summary>What only the PostgreSQL store does; what every store does is in <see cref="StoreContractTests"/>.</summary>
public sealed class PostgresStoreTests
{
    [Fact]
    public async Task Store_WhoseServerCannotBeReached_ThrowsStoreUnavailable_FromWritesReadsAndTheCatalog_WithNpgsqlsErrorInside()
    {
        var connection = $"Host=127.0.0.1;Port={ClosedPort()};Username=selfsame;Database=postgres;Timeout=3";
        await using var store = PostgresStore.OpenWithoutMigrations(connection, TimeProvider.System);

        var write = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync(ProjectId.Default, tx => tx.CreateRecord(), CancellationToken.None));
        var writeEach = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteEachAsync(ProjectId.Default, [tx => tx.CreateRecord()], CancellationToken.None));
        var read = Assert.Throws<StoreUnavailableException>(() => store.Read(ProjectId.Default, session => session.GetRecord(new RecordId(1))));
        var catalog = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.Catalog.ListProjectsAsync(CancellationToken.None));
        var jobs = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.Jobs.ListUnfinishedAsync(CancellationToken.None));
        var open = Assert.Throws<StoreUnavailableException>(() => PostgresStore.Open(connection, TimeProvider.System));

        Assert.All(new Exception[] { write, writeEach, read, catalog, jobs, open }, e => Assert.IsAssignableFrom<NpgsqlException>(e.InnerException));
    }

    /// <summary>A loopback port that nothing listens on (one the system just handed out and took back).</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
