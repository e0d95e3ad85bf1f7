using System.Data.Common;
using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Selfsame.Graph;
using Selfsame.Storage;
using Selfsame.Tests.Support;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.Storage;

/// <summary>
/// What every <see cref="IGraphStore"/> promises, run against a real store: a write that throws leaves nothing, a piece of
/// a group that throws is rolled back alone, a read sees one snapshot and can be cancelled, the store's own exceptions.
/// Each kind of store runs this suite through a subclass; what one store alone does is in its own tests
/// (<see cref="SqliteStoreTests"/>, <see cref="PostgresStoreTests"/>).
/// </summary>
public abstract class StoreContractTests : IDisposable
{
    private readonly IStoreFactory _factory;
    private readonly bool _keepsValuesOfAnyLength;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));

    /// <param name="keepsValuesOfAnyLength">
    /// Whether the store keeps an identifier too long for PostgreSQL's indexes (about 2,700 bytes): SQLite does, having no
    /// limit on an index entry; PostgreSQL refuses it with <see cref="StoreValueRejectedException"/>.
    /// </param>
    protected StoreContractTests(IStoreFactory factory, bool keepsValuesOfAnyLength)
    {
        _factory = factory;
        _keepsValuesOfAnyLength = keepsValuesOfAnyLength;
    }

    public void Dispose()
    {
        _factory.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Reopen_KeepsEveryAcknowledgedWrite_AndRecordIdsKeepGrowing()
    {
        var project = ProjectId.Default;
        IdentifyResult[] acknowledged;
        await using (var store = _factory.Open(_time))
        {
            await store.Catalog.CreateProjectAsync(new Project(project, "d", _time.GetUtcNow(), ProjectSettings.Default), null, CancellationToken.None);
            var engine = new IdentityEngine(store);
            acknowledged = await Task.WhenAll(Enumerable.Range(0, 300).Select(i =>
                engine.IdentifyAsync(project, Identify(User($"u{i}"), Email($"u{i}@x.com")).WithProperties(("i", i)), Origin, CancellationToken.None)));
            await engine.LinkAsync(project, Link(User("u1"), User("u0")), Origin, CancellationToken.None);
            await engine.DeleteRecordAsync(project, acknowledged[299].Record, Origin, CancellationToken.None);
        }

        await using (var reopened = _factory.Open(_time))
        {
            var engine = new IdentityEngine(reopened);
            for (var i = 0; i < 299; i++)
            {
                var resolution = await engine.ResolveAsync(project, Email($"u{i}@x.com").Identifier, CancellationToken.None);
                Assert.NotNull(resolution);
                Assert.Equal(acknowledged[i].Record, resolution.Record);
            }
            Assert.Equal((await engine.ResolveAsync(project, User("u0").Identifier, CancellationToken.None))!.Profile, (await engine.ResolveAsync(project, User("u1").Identifier, CancellationToken.None))!.Profile);
            Assert.Null(await engine.ResolveAsync(project, User("u299").Identifier, CancellationToken.None));

            var fresh = await engine.IdentifyAsync(project, Identify(User("after-reopen")), Origin, CancellationToken.None);
            Assert.True(fresh.Record.Value > acknowledged.Max(a => a.Record.Value), "a deleted record's id is never handed out again");
        }
    }

    [Fact]
    public async Task Write_ThatThrows_LeavesNothingBehind()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.WriteAsync<int>(project, tx =>
        {
            var record = tx.CreateRecord();
            tx.AttachIdentifier(record, User("half-written").Identifier, "half-written");
            throw new InvalidOperationException("fails after writing");
        }, CancellationToken.None));

        Assert.Null(await new IdentityEngine(store).ResolveAsync(project, User("half-written").Identifier, CancellationToken.None));
    }

    [Fact]
    public async Task WriteEach_PieceThatWritesThenThrows_IsRolledBackAlone_AndTheOthersCommit()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;
        var engine = new IdentityEngine(store);
        Func<IGraphTransaction, RecordId> Create(string user, bool fail) => tx =>
        {
            var record = tx.CreateRecord();
            tx.AttachIdentifier(record, User(user).Identifier, user);
            return fail ? throw new InvalidOperationException("fails after writing") : record;
        };

        var outcomes = await store.WriteEachAsync(project, [Create("kept-1", false), Create("dropped", true), Create("kept-2", false)], CancellationToken.None);

        Assert.Equal([true, false, true], outcomes.Select(o => o.Succeeded));
        Assert.IsType<InvalidOperationException>(outcomes[1].Error);
        Assert.Equal(outcomes[0].Value, (await engine.ResolveAsync(project, User("kept-1").Identifier, CancellationToken.None))!.Record);
        Assert.Equal(outcomes[2].Value, (await engine.ResolveAsync(project, User("kept-2").Identifier, CancellationToken.None))!.Record);
        Assert.Null(await engine.ResolveAsync(project, User("dropped").Identifier, CancellationToken.None));
    }

    [Fact]
    public async Task Read_ThatThrows_LeavesTheReadPoolUsable()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;
        var engine = new IdentityEngine(store);
        await engine.IdentifyAsync(project, Identify(User("here")), Origin, CancellationToken.None);

        // Many failing reads at once, so that several pooled sessions fail, then reads on every session again.
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
            Assert.ThrowsAsync<GraphException>(() => engine.ExplainAsync(project, User("missing"), User("here"), CancellationToken.None)))));
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => engine.ResolveAsync(project, User("here").Identifier, CancellationToken.None))));

        Assert.All(answers, Assert.NotNull);
    }

    [Fact]
    public async Task Writes_FromASecondStoreOnTheSameDatabase_AreSeenAndSerialized()
    {
        // Two stores on one database stand for the server and a CLI command run beside it (SQLite), or two nodes (PostgreSQL).
        await using var server = _factory.Open(_time);
        await using var cli = _factory.Open(_time);
        var project = ProjectId.Default;
        await server.Catalog.CreateProjectAsync(new Project(project, "d", _time.GetUtcNow(), ProjectSettings.Default), null, CancellationToken.None);
        var a = new IdentityEngine(server);
        var b = new IdentityEngine(cli);

        var writes = Enumerable.Range(0, 100).Select(i => (i % 2 == 0 ? a : b)
            .IdentifyAsync(project, Identify(Email("shared@x.com"), Device($"d{i}")), Origin, CancellationToken.None));
        var results = await Task.WhenAll(writes);

        Assert.Single(results.Select(r => r.Record).Distinct());
        Assert.Equal(101, (await a.ResolveAsync(project, Email("shared@x.com").Identifier, CancellationToken.None))!.Identifiers.Count);
        Assert.Equal(results.Length, results.Select(r => r.Record).Count());
    }

    [Fact]
    public async Task Writes_AreSeenByTheRestOfTheirTransaction_AndCommitted()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;
        var eventTime = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

        var seen = await store.WriteAsync(project, tx =>
        {
            var record = tx.CreateRecord();
            tx.AttachIdentifier(record, User("held").Identifier, "held");
            tx.SetProperty(record, "plan", new PropertyValue(PropertyType.String, "\"pro\""));
            // SQLite holds new rows back and writes them many a statement (SqlitePendingWrites): other records' property
            // documents go out in the same statement, and each keeps its own.
            foreach (var n in Enumerable.Range(0, 70))
            {
                tx.SetProperty(tx.CreateRecord(), "n", new PropertyValue(PropertyType.Number, n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
            tx.UpsertCompany("acme");
            tx.SetCompanyProperty("acme", "size", new PropertyValue(PropertyType.Number, "12"));
            tx.AddCompanyMember("acme", record);
            var eventId = tx.AddEvent(record, "signup", eventTime, "{}", "insert-1", "test");
            return (Record: record, Identifier: tx.FindIdentifier(User("held").Identifier), Info: tx.GetRecord(record),
                HasPlan: tx.HasProperty(record, "plan"), Event: tx.FindEventByInsertId("insert-1"), EventId: eventId,
                Properties: tx.GetProfileProperties(ProfileId.Of(record)), Company: tx.GetCompany("acme"));
        }, CancellationToken.None);

        Assert.Equal(seen.Record, seen.Identifier?.Record);
        Assert.True(seen.Info is { Identified: true } && seen.Info.Profile == ProfileId.Of(seen.Record));
        Assert.True(seen.HasPlan);
        Assert.Equal((seen.EventId, "signup", eventTime), (seen.Event!.EventId, seen.Event.Name, seen.Event.Time));
        Assert.Equal("\"pro\"", Assert.Single(seen.Properties).Value.Json);
        Assert.Equal([seen.Record], seen.Company!.Members);
        Assert.Equal("size", Assert.Single(seen.Company.Properties).Key);

        var engine = new IdentityEngine(store);
        var resolved = (await engine.ResolveAsync(project, User("held").Identifier, CancellationToken.None))!;
        Assert.Equal(seen.Record, resolved.Record);
        Assert.Equal(seen.EventId, (await store.ReadAsync(project, s => s.FindEventByInsertId("insert-1"), CancellationToken.None))!.EventId);
        Assert.Equal([seen.Record], (await store.ReadAsync(project, s => s.GetCompany("acme"), CancellationToken.None))!.Members);
        var numbers = await Task.WhenAll(Enumerable.Range(1, 70).Select(i => store.ReadAsync(project, s => s.GetProfileProperties(new ProfileId(seen.Record.Value + i)), CancellationToken.None)));
        Assert.Equal(Enumerable.Range(0, 70).Select(n => $"{n}"), numbers.Select(p => Assert.Single(p).Value.Json));
    }

    [Fact]
    public async Task ReadAhead_AnswersAsTheDatabaseDoes_BeforeAndAfterRowsAreWrittenOut()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;
        var engine = new IdentityEngine(store);
        var stored = (await engine.IdentifyAsync(project, Identify(User("stored"), Device("stored-device")), Origin, CancellationToken.None)).Record;
        await store.WriteAsync(project, tx => tx.AddEvent(stored, "old", DateTimeOffset.UnixEpoch, "{}", "stored-insert", "test"), CancellationToken.None);

        var seen = await store.WriteAsync(project, tx =>
        {
            tx.ReadAhead([User("stored").Identifier, Device("stored-device").Identifier, User("new").Identifier], ["stored-insert", "new-insert"]);
            var before = (Stored: tx.FindIdentifier(User("stored").Identifier)?.Record, New: tx.FindIdentifier(User("new").Identifier),
                Event: tx.FindEventByInsertId("stored-insert")?.Name, NewEvent: tx.FindEventByInsertId("new-insert"));
            var record = tx.CreateRecord();
            tx.AttachIdentifier(record, User("new").Identifier, "new");
            tx.AddEvent(record, "fresh", DateTimeOffset.UnixEpoch, "{}", "new-insert", "test");
            // Detaching writes everything out (SQLite): what was read ahead must not outlive it.
            Assert.True(tx.DetachIdentifier(Device("stored-device").Identifier));
            return (before, After: (New: tx.FindIdentifier(User("new").Identifier)?.Record, Device: tx.FindIdentifier(Device("stored-device").Identifier),
                NewEvent: tx.FindEventByInsertId("new-insert")?.Name, Record: record));
        }, CancellationToken.None);

        Assert.Equal((stored, null, "old", null), (seen.before.Stored, seen.before.New, seen.before.Event, seen.before.NewEvent));
        Assert.Equal((seen.After.Record, null, "fresh"), (seen.After.New, seen.After.Device, seen.After.NewEvent));
    }

    [Fact]
    public async Task Attempt_ThatThrows_TakesWhatItWroteWithIt_AndTheTransactionGoesOn()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;

        var insideSeenAfter = await store.WriteAsync(project, tx =>
        {
            var failure = tx.Attempt(t =>
            {
                var record = t.CreateRecord();
                t.AttachIdentifier(record, User("inside").Identifier, "inside");
                t.SetProperty(record, "k", new PropertyValue(PropertyType.Number, "1"));
                throw new InvalidOperationException("fails after writing");
            });
            Assert.IsType<InvalidOperationException>(failure);
            var outside = tx.CreateRecord();
            tx.AttachIdentifier(outside, User("outside").Identifier, "outside");
            return tx.FindIdentifier(User("inside").Identifier);
        }, CancellationToken.None);

        Assert.Null(insideSeenAfter);
        var engine = new IdentityEngine(store);
        Assert.Null(await engine.ResolveAsync(project, User("inside").Identifier, CancellationToken.None));
        Assert.NotNull(await engine.ResolveAsync(project, User("outside").Identifier, CancellationToken.None));
    }

    [Fact]
    public async Task WriteEach_PieceWithAnIdentifierTooLongForAnIndex_FailsAloneWithStoreValueRejected_WhereTheStoreCannotKeepIt()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;
        var engine = new IdentityEngine(store);
        var huge = TooLongForAnIndex();
        Func<IGraphTransaction, RecordId> Create(Identifier user) => tx =>
        {
            var record = tx.CreateRecord();
            tx.AttachIdentifier(record, user, user.Value);
            return record;
        };

        var outcomes = await store.WriteEachAsync(project, [Create(User("kept-1").Identifier), Create(huge), Create(User("kept-2").Identifier)], CancellationToken.None);

        Assert.Equal(outcomes[0].Value, (await engine.ResolveAsync(project, User("kept-1").Identifier, CancellationToken.None))!.Record);
        Assert.Equal(outcomes[2].Value, (await engine.ResolveAsync(project, User("kept-2").Identifier, CancellationToken.None))!.Record);
        var stored = await engine.ResolveAsync(project, huge, CancellationToken.None);
        if (_keepsValuesOfAnyLength)
        {
            Assert.Equal([true, true, true], outcomes.Select(o => o.Succeeded));
            Assert.Equal(outcomes[1].Value, stored?.Record);
        }
        else
        {
            Assert.Equal([true, false, true], outcomes.Select(o => o.Succeeded));
            Assert.IsAssignableFrom<DbException>(Assert.IsType<StoreValueRejectedException>(outcomes[1].Error).InnerException);
            Assert.Null(stored);
        }
    }

    [Fact]
    public async Task Attempt_WithAnIdentifierTooLongForAnIndex_ReturnsStoreValueRejected_WhereTheStoreCannotKeepIt_AndTheTransactionGoesOn()
    {
        await using var store = await OpenWithProjectAsync();
        var engine = new IdentityEngine(store);
        var huge = TooLongForAnIndex();

        var failure = await store.WriteAsync(ProjectId.Default, tx =>
        {
            var failure = tx.Attempt(t => t.AttachIdentifier(t.CreateRecord(), huge, huge.Value));
            tx.AttachIdentifier(tx.CreateRecord(), User("after").Identifier, "after");
            return failure;
        }, CancellationToken.None);

        Assert.NotNull(await engine.ResolveAsync(ProjectId.Default, User("after").Identifier, CancellationToken.None));
        var stored = await engine.ResolveAsync(ProjectId.Default, huge, CancellationToken.None);
        if (_keepsValuesOfAnyLength)
        {
            Assert.Null(failure);
            Assert.NotNull(stored);
        }
        else
        {
            Assert.IsType<StoreValueRejectedException>(failure);
            Assert.Null(stored);
        }
    }

    [Fact]
    public async Task ReadAsync_WithACancelledToken_ThrowsOperationCanceled_WithoutReading()
    {
        await using var store = await OpenWithProjectAsync();
        var engine = new IdentityEngine(store);
        await engine.IdentifyAsync(ProjectId.Default, Identify(User("here")), Origin, CancellationToken.None);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var read = false;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.ReadAsync(ProjectId.Default, session => read = session.FindIdentifier(User("here").Identifier) is not null, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.ResolveAsync(ProjectId.Default, User("here").Identifier, cancelled.Token));

        Assert.False(read);
        Assert.NotNull(await engine.ResolveAsync(ProjectId.Default, User("here").Identifier, CancellationToken.None));
    }

    [Fact]
    public async Task Read_SeesOneSnapshot_WhateverIsCommittedMeanwhile()
    {
        await using var store = await OpenWithProjectAsync();
        var engine = new IdentityEngine(store);
        var project = ProjectId.Default;
        await engine.IdentifyAsync(project, Identify(User("before")), Origin, CancellationToken.None);

        var (first, late, again) = await store.ReadAsync(project, session =>
        {
            var first = session.FindIdentifier(User("before").Identifier);
            // Committed while this read is open: the read goes on seeing what it saw.
            engine.IdentifyAsync(project, Identify(User("late")), Origin, CancellationToken.None).GetAwaiter().GetResult();
            return (first, session.FindIdentifier(User("late").Identifier), session.FindIdentifier(User("before").Identifier));
        }, CancellationToken.None);

        Assert.NotNull(first);
        Assert.Null(late);
        Assert.Equal(first, again);
        Assert.NotNull(await engine.ResolveAsync(project, User("late").Identifier, CancellationToken.None));
    }

    /// <summary>
    /// A user_id as long as the engine allows (1,024 characters), of random CJK characters: 3,072 UTF-8 bytes that PostgreSQL
    /// cannot compress below the 2,704 bytes of a B-tree index entry.
    /// </summary>
    private static Identifier TooLongForAnIndex() =>
        new(IdentifierTypes.UserId, string.Concat(Enumerable.Range(0, IdentifierNormalizer.MaxValueLength).Select(_ => (char)RandomNumberGenerator.GetInt32(0x4E00, 0x9FFF))));

    private async Task<IGraphStore> OpenWithProjectAsync()
    {
        var store = _factory.Open(_time);
        await store.Catalog.CreateProjectAsync(new Project(ProjectId.Default, "d", _time.GetUtcNow(), ProjectSettings.Default), null, CancellationToken.None);
        return store;
    }
}

public sealed class SqliteStoreContractTests() : StoreContractTests(new SqliteStoreFactory(), keepsValuesOfAnyLength: true);

public sealed class PostgresStoreContractTests() : StoreContractTests(new PostgresStoreFactory(), keepsValuesOfAnyLength: false);
