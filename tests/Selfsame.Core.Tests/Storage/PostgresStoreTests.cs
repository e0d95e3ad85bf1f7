using System.Net;
using System.Net.Sockets;
using Npgsql;
using Selfsame.Graph;
using Selfsame.Storage;
using Selfsame.Storage.Postgres;
using Selfsame.Tests.Support;

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
        var read = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ReadAsync(ProjectId.Default, session => session.GetRecord(new RecordId(1)), CancellationToken.None));
        var catalog = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.Catalog.ListProjectsAsync(CancellationToken.None));
        var jobs = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.Jobs.ListUnfinishedAsync(CancellationToken.None));
        var open = Assert.Throws<StoreUnavailableException>(() => PostgresStore.Open(connection, TimeProvider.System));

        Assert.All(new Exception[] { write, writeEach, read, catalog, jobs, open }, e => Assert.IsAssignableFrom<NpgsqlException>(e.InnerException));
    }

    [Fact]
    public async Task Read_CancelledWhileItsStatementWaits_CancelsTheStatement_AndTheStoreReadsOnAfterwards()
    {
        using var factory = new PostgresStoreFactory();
        await using var store = factory.Open(TimeProvider.System);
        var project = ProjectId.Default;
        await store.Catalog.CreateProjectAsync(new Project(project, "d", DateTimeOffset.UnixEpoch, ProjectSettings.Default), null, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        Task<RecordInfo?> read;
        await using (var locker = new NpgsqlConnection(factory.ConnectionString))
        {
            // A lock no read passes: the read's statement waits on it until cancelled (or the store's lock_timeout, 10 s).
            await locker.OpenAsync();
            await using var holding = await locker.BeginTransactionAsync();
            await using (var lockRecords = new NpgsqlCommand("LOCK TABLE records IN ACCESS EXCLUSIVE MODE", locker, holding))
            {
                await lockRecords.ExecuteNonQueryAsync();
            }
            // On a thread of its own: the read's statements run on the thread that calls it.
            read = Task.Run(() => store.ReadAsync(project, session => session.GetRecord(new RecordId(1)), cancel.Token));
            await Task.Delay(500);
            Assert.False(read.IsCompleted, "the read did not wait for the lock");

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the cancelled read ended after {clock.Elapsed.TotalSeconds:F1} s");
        }

        Assert.Null(await store.ReadAsync(project, session => session.GetRecord(new RecordId(1)), CancellationToken.None));
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
