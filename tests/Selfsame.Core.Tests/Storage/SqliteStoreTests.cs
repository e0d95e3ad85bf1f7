using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Selfsame.Graph;
using Selfsame.Storage.Sqlite;
using Selfsame.Tests.Support;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.Storage;

/// <summary>What only the SQLite store does (its file, WAL, writer, read-ahead, unique users in halves); what every store does is in <see cref="StoreContractTests"/>.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private readonly TempFolder _folder = new("store");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Open_AppliesMigrationsOnce_InWalMode()
    {
        await SqliteStore.Open(_folder.Path, _time).DisposeAsync();
        await using var again = SqliteStore.Open(_folder.Path, _time);

        using var connection = new SqliteConnection($"Data Source={again.DatabasePath};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), max(version) FROM schema_migrations";
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            Assert.Equal(SqliteMigrations.Scripts.Count, reader.GetInt32(0));
            Assert.Equal(SqliteMigrations.Scripts.Max(s => s.Version), reader.GetInt32(1));
        }
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public async Task Apply_ReadsAheadForTheGroup_AndEachOperationSeesTheOnesBefore()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;
        var engine = new IdentityEngine(store);
        var kept = (await engine.IdentifyAsync(project, Identify(User("kept")), Origin, CancellationToken.None)).Profile;

        // The second operation merges "joining" into "kept" (rows are written out there); the third must see it merged.
        var outcomes = await engine.ApplyAsync(project,
        [
            new GraphOperation.TrackOp(Event("first", Identify(User("joining")), insertId: "a")),
            new GraphOperation.LinkOp(Link(User("joining"), User("kept"))),
            new GraphOperation.TrackOp(Event("second", Identify(User("joining")), insertId: "b")),
            new GraphOperation.TrackOp(Event("again", Identify(User("joining")), insertId: "a")),
        ], Origin, CancellationToken.None);

        var results = outcomes.Select(o => o.Value).ToList();
        var first = Assert.IsType<Events.TrackResult>(results[0]);
        var second = Assert.IsType<Events.TrackResult>(results[2]);
        var again = Assert.IsType<Events.TrackResult>(results[3]);
        Assert.Equal((kept, first.Record, false), (second.Profile, second.Record, second.Duplicate));
        Assert.Equal((true, first.EventId), (again.Duplicate, again.EventId));
        // Right on the first pass: a stale read-ahead would fail the group and have it applied again with savepoints.
        Assert.DoesNotContain(store.PreparedSql(), sql => sql.Contains("SAVEPOINT", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriterTimings_AddUpTheGroupsAndTheirPhases()
    {
        await using var store = await OpenWithProjectAsync();
        var before = SqliteWriterTimings.Snapshot().ToDictionary(p => p.Phase, p => p.Time);

        await new IdentityEngine(store).IdentifyAsync(ProjectId.Default, Identify(User("timed"), Email("timed@x.com")), Origin, CancellationToken.None);

        // Other tests write at the same time, so each phase has grown by at least this write's share.
        var after = SqliteWriterTimings.Snapshot().ToDictionary(p => p.Phase, p => p.Time);
        foreach (var phase in new[] { SqliteWriterTimings.Groups, SqliteWriterTimings.Requests, SqliteWriterTimings.WriteOut, SqliteWriterTimings.Commit,
                     $"{SqliteWriterTimings.WriteOut}: identifiers", $"{SqliteWriterTimings.WriteOut}: records" })
        {
            Assert.True(after.GetValueOrDefault(phase) > before.GetValueOrDefault(phase), phase);
        }
    }

    [Fact]
    public async Task ReadAhead_OfKeysWithANul_FindsThemAsTheirOwnLookUpsDo()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;
        // The surfaces refuse NUL; written here below them, a key with one must be found by its whole text, and read ahead
        // under that same text (the key read ahead is the text the database answers with).
        var nul = new Identifier(IdentifierTypes.UserId, "x\0y");
        var record = await store.WriteAsync(project, tx =>
        {
            var made = tx.CreateRecord();
            tx.AttachIdentifier(made, nul, "x\0y");
            tx.AddEvent(made, "old", DateTimeOffset.UnixEpoch, "{}", "x\0y", "test");
            var other = tx.CreateRecord();
            tx.AttachIdentifier(other, User("x").Identifier, "x");
            return made;
        }, CancellationToken.None);

        var (direct, ahead) = await store.WriteAsync(project, tx =>
        {
            var direct = (tx.FindIdentifier(nul)?.Record, tx.FindEventByInsertId("x\0y")?.Record);
            tx.ReadAhead([nul], ["x\0y"]);
            return (direct, (tx.FindIdentifier(nul)?.Record, tx.FindEventByInsertId("x\0y")?.Record));
        }, CancellationToken.None);

        Assert.Equal(((RecordId?)record, (RecordId?)record), direct);
        Assert.Equal(direct, ahead);
    }

    [Fact]
    public async Task JobChunks_ReadTheirLookUpsAhead_AndEachRowSeesTheRowsBefore()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;
        // Chunks of three: the second and third find what the first committed, the first finds users made by its own
        // rows, and the link in the second chunk writes out mid-chunk, after which the rows go back to one look-up each.
        var lines = new[]
        {
            """{"user_id":"a","properties":{"n":1}}""",
            """{"user_id":"b"}""",
            """{"user_id":"a","identifiers":[{"type":"device_id","value":"d"}]}""",
            """{"user_id":"a","properties":{"n":2}}""",
            """{"op":"link","from":{"type":"user_id","value":"b"},"into":{"type":"user_id","value":"a"}}""",
            """{"op":"track","user_id":"b","event":"e","insert_id":"i1"}""",
            """{"op":"track","identifiers":[{"type":"device_id","value":"d"}],"event":"e","insert_id":"i2"}""",
            """{"op":"track","user_id":"b","event":"e","insert_id":"i1"}""",
            """{"user_id":"c","identifiers":[{"type":"device_id","value":"d"}]}""",
        };
        var job = await Selfsame.Jobs.JobProcessor.SubmitAsync(store.Jobs, project, Selfsame.Imports.ImportJobKind.KindName, "test", null,
            System.Text.Encoding.UTF8.GetBytes(string.Join("\n", lines)), null, _time, CancellationToken.None);

        var ended = await new Selfsame.Jobs.JobProcessor(store, _time, [new Selfsame.Imports.ImportJobKind()]) { ChunkSize = 3 }
            .RunAsync(job, ProjectSettings.Default, null, CancellationToken.None);

        Assert.Equal((9L, 9L, 0L), (ended.TotalRows, ended.CompletedRows, ended.FailedRows));
        var engine = new IdentityEngine(store);
        var a = (await engine.ResolveAsync(project, User("a").Identifier, CancellationToken.None))!;
        Assert.Equal(a.Record, (await engine.ResolveAsync(project, Device("d").Identifier, CancellationToken.None))!.Record);
        Assert.Equal(a.Profile, (await engine.ResolveAsync(project, User("b").Identifier, CancellationToken.None))!.Profile);
        // "c" is a second user_id: merge protection keeps it, and the device it named, apart from a's profile.
        Assert.NotEqual(a.Profile, (await engine.ResolveAsync(project, User("c").Identifier, CancellationToken.None))!.Profile);
        Assert.Equal("2", Assert.Single((await engine.GetProfileAsync(project, a.Profile.Value, CancellationToken.None))!.Properties, p => p.Key == "n").Value.Json);
        Assert.Equal(2, (await engine.EventsAsync(project, a.Profile.Value, recordOnly: false, new Events.EventQuery(null, null, null, null, 100), CancellationToken.None))!.Events.Count);
        // Right on the first pass (a stale answer would fail the chunk and have it applied again, a savepoint a row), with
        // the chunks' look-ups read ahead.
        var prepared = store.PreparedSql();
        Assert.DoesNotContain(prepared, sql => sql.Contains("SAVEPOINT", StringComparison.Ordinal));
        Assert.Contains(prepared, sql => sql.Contains("i.value IN (", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Commits_AreCopiedIntoTheDatabaseFile_ByTheCheckpointThread_LongBeforeTheWriterWould()
    {
        await using var store = await OpenWithProjectAsync();
        var file = new FileInfo(store.DatabasePath);
        var before = await SettledLengthAsync(file);

        // More pages than the checkpoint thread waits for (SqliteCheckpointer.Pages), fewer than the writer's own checkpoint does
        // (SqliteCheckpointer.WriterFallbackPages).
        await store.WriteAsync(ProjectId.Default, tx =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                var record = tx.CreateRecord();
                tx.AttachIdentifier(record, User($"bulk-{i}").Identifier, $"bulk-{i}");
            }
            return true;
        }, CancellationToken.None);

        Assert.True(await GrowsPastAsync(file, before + 100 * 4096), "the WAL was not copied into the database file");
    }

    /// <summary>Whether the file grows past <paramref name="length"/> bytes within thirty seconds (the checkpoint thread may start late on a loaded machine).</summary>
    private static async Task<bool> GrowsPastAsync(FileInfo file, long length)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            file.Refresh();
            if (file.Length > length)
            {
                return true;
            }
            await Task.Delay(50);
        }
        return false;
    }

    /// <summary>The file's length once it has not changed for half a second (at most ten seconds).</summary>
    private static async Task<long> SettledLengthAsync(FileInfo file)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        file.Refresh();
        var length = file.Length;
        var unchangedSince = clock.Elapsed;
        while (clock.Elapsed - unchangedSince < TimeSpan.FromMilliseconds(500) && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
            file.Refresh();
            if (file.Length != length)
            {
                (length, unchangedSince) = (file.Length, clock.Elapsed);
            }
        }
        return length;
    }

    // The writer holds back new rows and writes them many a statement (SqlitePendingWrites). That the rest of the
    // transaction sees them and that a savepoint takes them with it is every store's contract (StoreContractTests); that
    // one failing only when written fails alone is SQLite's (on PostgreSQL a row refused by a constraint fails its group).
    [Fact]
    public async Task WriteEach_PieceWhoseHeldBackRowFailsOnlyWhenWritten_IsFailedAlone_AndTheOthersCommit()
    {
        await using var store = await OpenWithProjectAsync();
        var project = ProjectId.Default;
        var engine = new IdentityEngine(store);
        await engine.IdentifyAsync(project, Identify(User("taken")), Origin, CancellationToken.None);
        Func<Selfsame.Storage.IGraphTransaction, RecordId> Create(string user) => tx =>
        {
            // No look-up first: the identifier's primary key refuses the row, but only when the held-back row is written.
            var record = tx.CreateRecord();
            tx.AttachIdentifier(record, User(user).Identifier, user);
            return record;
        };

        var outcomes = await store.WriteEachAsync(project, [Create("kept-1"), Create("taken"), Create("kept-2")], CancellationToken.None);

        Assert.Equal([true, false, true], outcomes.Select(o => o.Succeeded));
        Assert.IsType<SqliteException>(outcomes[1].Error);
        Assert.Equal(outcomes[0].Value, (await engine.ResolveAsync(project, User("kept-1").Identifier, CancellationToken.None))!.Record);
        Assert.Equal(outcomes[2].Value, (await engine.ResolveAsync(project, User("kept-2").Identifier, CancellationToken.None))!.Record);
        Assert.Single((await engine.ResolveAsync(project, User("taken").Identifier, CancellationToken.None))!.Records);
    }

    [Fact]
    public async Task Migration9_MovesEachRecordsPropertiesIntoOneDocument_WithEveryColumnKept()
    {
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_folder.Path, SqliteStore.FileName)};Pooling=False"))
        {
            connection.Open();
            SqliteMigrations.Apply(connection, _time, upTo: 8);
            using var insert = connection.CreateCommand();
            insert.CommandText =
                "INSERT INTO projects (project_id, name, created_at, settings) VALUES ('default', 'd', 0, '{}');" +
                "INSERT INTO records (record_id, project_id, profile_id, created_at, last_seen_at) VALUES (1, 'default', 1, 0, 0), (2, 'default', 1, 0, 0), (3, 'default', 3, 0, 0);" +
                "INSERT INTO properties (project_id, record_id, key, type, value, updated_at, seq) VALUES " +
                "('default', 1, 'plan', 'string', '\"pro\"', 1000, 5), ('default', 1, 'n', 'number', '1.50', 1001, 6), " +
                "('default', 2, 'plan', 'string', '\"fr\\u00e9e \\\"x\\\"\"', 2000, 7), ('default', 2, 'tags', 'array', '[\"a\",1]', 2000, 8);";
            insert.ExecuteNonQuery();
        }

        await using var store = SqliteStore.Open(_folder.Path, _time);
        var properties = (await store.ReadAsync(ProjectId.Default, s => s.GetProfileProperties(new ProfileId(1)), CancellationToken.None))
            .OrderBy(p => p.Sequence).Select(p => (p.Record.Value, p.Key, p.Value.Type, p.Value.Json, p.UpdatedAt.ToUnixTimeMilliseconds(), p.Sequence));

        Assert.Equal([(1L, "plan", PropertyType.String, "\"pro\"", 1000L, 5L), (1L, "n", PropertyType.Number, "1.50", 1001L, 6L),
            (2L, "plan", PropertyType.String, "\"fr\\u00e9e \\\"x\\\"\"", 2000L, 7L), (2L, "tags", PropertyType.Array, "[\"a\",1]", 2000L, 8L)], properties);
        Assert.Empty(await store.ReadAsync(ProjectId.Default, s => s.GetProfileProperties(new ProfileId(3)), CancellationToken.None));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    public async Task UniqueUsers_CountsTheProjectsOwnRecordsAndProfiles_WhereverTheirIdsLie(int otherProjectsRecordsBetween)
    {
        // With records of another project between this project's, the count looks each record up instead of walking the range.
        await using var store = await OpenWithProjectAsync();
        var other = ProjectId.Parse("other");
        await store.Catalog.CreateProjectAsync(new Project(other, "o", _time.GetUtcNow(), ProjectSettings.Default), null, CancellationToken.None);
        var engine = new IdentityEngine(store);
        var day = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        async Task TrackAsync(ProjectId project, string user) =>
            Assert.All(await engine.ApplyAsync(project, [new GraphOperation.TrackOp(Event("view", Identify(User(user)), day))], Origin, default), o => Assert.True(o.Succeeded));

        await TrackAsync(ProjectId.Default, "a1");
        for (var i = 0; i < otherProjectsRecordsBetween; i++)
        {
            await TrackAsync(other, $"b{i}");
        }
        await TrackAsync(ProjectId.Default, "a2");
        await TrackAsync(ProjectId.Default, "a3");
        await engine.LinkAsync(ProjectId.Default, Link(User("a3"), User("a2")), Origin, default);

        var total = (await engine.UniqueUsersAsync(ProjectId.Default, day.AddDays(-1), day.AddDays(1), "view", perDay: false, CancellationToken.None)).Total;
        Assert.Equal((2L, 3L), (total.Merged, total.Raw));
        var none = (await engine.UniqueUsersAsync(ProjectId.Default, day.AddDays(1), day.AddDays(2), null, perDay: false, CancellationToken.None)).Total;
        Assert.Equal((0L, 0L), (none.Merged, none.Raw));
        var others = (await engine.UniqueUsersAsync(other, day.AddDays(-1), day.AddDays(1), null, perDay: false, CancellationToken.None)).Total;
        Assert.Equal((otherProjectsRecordsBetween, otherProjectsRecordsBetween), ((int)others.Merged, (int)others.Raw));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task UniqueUsers_ReadInTwoHalvesAtOnce_SeeOneSnapshot_WhateverIsCommittedMeanwhile(bool inHalves)
    {
        await using var store = await OpenWithProjectAsync();
        store.ReadInHalves = inHalves;
        var engine = new IdentityEngine(store);
        var day = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        async Task TrackAsync(string user, int hour) =>
            Assert.All(await engine.ApplyAsync(ProjectId.Default, [new GraphOperation.TrackOp(Event("view", Identify(User(user)), day.AddHours(hour)))], Origin, default),
                o => Assert.True(o.Succeeded));
        // Ten users an hour apart, so that each half of the events' times holds five of them; u1 and u2 are one person.
        for (var hour = 0; hour < 10; hour++)
        {
            await TrackAsync($"u{hour}", hour);
        }
        await engine.LinkAsync(ProjectId.Default, Link(User("u2"), User("u1")), Origin, default);

        var (before, during) = await store.ReadAsync(ProjectId.Default, session =>
        {
            var first = session.CountUniqueUsers(day, day.AddDays(1), null);
            // Committed after this read began: a new user late in the day (the second half), a merge across the halves.
            TrackAsync("late", 9).GetAwaiter().GetResult();
            engine.LinkAsync(ProjectId.Default, Link(User("u8"), User("u3")), Origin, default).GetAwaiter().GetResult();
            return (first, session.CountUniqueUsers(day, day.AddDays(1), null));
        }, CancellationToken.None);

        Assert.Equal(new Events.UniqueUsers(9, 10), before);
        Assert.Equal(before, during);
        Assert.Equal(inHalves ? 4L : 0L, store.SharedSnapshots);
        Assert.Equal(new Events.UniqueUsers(9, 11), (await engine.UniqueUsersAsync(ProjectId.Default, day, day.AddDays(1), null, perDay: false, CancellationToken.None)).Total);
        // Events of one time (the second half is empty), and a name whose events lie among others'.
        Assert.All(await engine.ApplyAsync(ProjectId.Default, [new GraphOperation.TrackOp(Event("buy", Identify(User("u5")), day.AddHours(5))),
            new GraphOperation.TrackOp(Event("buy", Identify(User("u6")), day.AddHours(5)))], Origin, default), o => Assert.True(o.Succeeded));
        Assert.Equal(new Events.UniqueUsers(2, 2), (await engine.UniqueUsersAsync(ProjectId.Default, day, day.AddDays(1), "buy", perDay: false, CancellationToken.None)).Total);
    }

    [Fact]
    public async Task UniqueUsers_RightAfterTheStoreOpens_CountsInOneWalk_UntilTheFirstWrite()
    {
        var day = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        await using (var store = await OpenWithProjectAsync())
        {
            var engine = new IdentityEngine(store);
            for (var hour = 0; hour < 4; hour++)
            {
                Assert.All(await engine.ApplyAsync(ProjectId.Default, [new GraphOperation.TrackOp(Event("view", Identify(User($"u{hour}")), day.AddHours(hour)))], Origin, default),
                    o => Assert.True(o.Succeeded));
            }
        }
        SqliteConnection.ClearAllPools();

        // Closing the store checkpointed and removed the WAL: SQLite takes no snapshot of a WAL without a commit.
        await using var reopened = SqliteStore.Open(_folder.Path, _time);
        reopened.ReadInHalves = true;
        var again = new IdentityEngine(reopened);
        Assert.Equal(new Events.UniqueUsers(4, 4), (await again.UniqueUsersAsync(ProjectId.Default, day, day.AddDays(1), null, perDay: false, CancellationToken.None)).Total);
        Assert.Equal(0, reopened.SharedSnapshots);
        await again.IdentifyAsync(ProjectId.Default, Identify(User("u9")), Origin, default);
        Assert.Equal(new Events.UniqueUsers(4, 4), (await again.UniqueUsersAsync(ProjectId.Default, day, day.AddDays(1), null, perDay: false, CancellationToken.None)).Total);
        Assert.Equal(2, reopened.SharedSnapshots);
    }

    [Fact]
    public async Task Statements_BusyPastTheBusyTimeout_ThrowStoreUnavailable_WithSqlitesErrorInside()
    {
        await using var store = await OpenWithProjectAsync();
        using var holder = new SqliteConnection($"Data Source={store.DatabasePath};Pooling=False");
        holder.Open();
        using var hold = holder.CreateCommand();
        hold.CommandText = "BEGIN IMMEDIATE";
        hold.ExecuteNonQuery();
        var waiting = new SqliteConnection($"Data Source={store.DatabasePath};Pooling=False");
        waiting.Open();
        using var statements = new SqliteStatements(waiting);

        var busy = Assert.Throws<Selfsame.Storage.StoreUnavailableException>(() => statements.Execute("BEGIN IMMEDIATE"));

        Assert.Equal(SQLitePCL.raw.SQLITE_BUSY, Assert.IsType<SqliteException>(busy.InnerException).SqliteErrorCode & 0xFF);
    }

    [Fact]
    public void Statements_ValueLongerThanSqliteKeeps_ThrowStoreValueRejected_AndOtherErrorsStayAsTheyAre()
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(_folder.Path, "limits.db")};Pooling=False");
        connection.Open();
        using var statements = new SqliteStatements(connection);
        statements.Execute("CREATE TABLE t (v TEXT PRIMARY KEY)");
        statements.Execute("INSERT INTO t (v) VALUES (@p0)", "kept");
        // SQLite's own limit is a billion bytes; lowered here so that a test value passes it.
        SQLitePCL.raw.sqlite3_limit(connection.Handle, SQLitePCL.raw.SQLITE_LIMIT_LENGTH, 100);

        var rejected = Assert.Throws<Selfsame.Storage.StoreValueRejectedException>(() => statements.Execute("INSERT INTO t (v) VALUES (@p0)", new string('x', 200)));
        var duplicate = Assert.Throws<SqliteException>(() => statements.Execute("INSERT INTO t (v) VALUES (@p0)", "kept"));

        Assert.Equal(SQLitePCL.raw.SQLITE_TOOBIG, Assert.IsType<SqliteException>(rejected.InnerException).SqliteErrorCode & 0xFF);
        Assert.Equal(SQLitePCL.raw.SQLITE_CONSTRAINT, duplicate.SqliteErrorCode & 0xFF);
        Assert.Equal(1L, statements.Scalar("SELECT count(*) FROM t"));
    }

    private async Task<SqliteStore> OpenWithProjectAsync()
    {
        var store = SqliteStore.Open(_folder.Path, _time);
        await store.Catalog.CreateProjectAsync(new Project(ProjectId.Default, "d", _time.GetUtcNow(), ProjectSettings.Default), null, CancellationToken.None);
        return store;
    }
}
