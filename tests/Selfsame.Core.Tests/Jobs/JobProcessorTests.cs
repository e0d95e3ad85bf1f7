using System.Text;
using Selfsame.Graph;
using Selfsame.Imports;
using Selfsame.Jobs;
using Selfsame.Tests.Support;

namespace Selfsame.Tests.Jobs;

public sealed class JobProcessorTests : IDisposable
{
    private readonly SqliteStoreFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    private static async Task<JobRecord> SubmitAsync(EngineHarness h, string payload)
    {
        var job = new JobRecord(Guid.NewGuid().ToString(), h.Project, ImportJobKind.KindName, "test", JobStatuses.Queued, "f.ndjson",
            Encoding.UTF8.GetByteCount(payload), 0, 0, 0, 1, h.Time.GetUtcNow(), null, null, null, null);
        await h.Store.Jobs.AddAsync(job, Encoding.UTF8.GetBytes(payload), CancellationToken.None);
        return job;
    }

    [Fact]
    public async Task Run_AppliesGoodRows_AndRecordsBadOnesWithLineNumbers()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var job = await SubmitAsync(h, string.Join("\n",
            """{"user_id":"u1","identifiers":[{"type":"email","value":"a@x.com"}]}""",
            """{"op":"identify","user_id":"u2","identifiers":[{"type":"device_id","value":"d2"}]}""",
            "",
            """{"op":"link","from":{"type":"user_id","value":"u2"},"into":{"type":"user_id","value":"u1"}}""",
            """{"user_id":42}""",
            """{"user_id":"u4" """,
            """{"op":"unlink","from":{"type":"user_id","value":"u2"},"into":{"type":"user_id","value":"nobody"}}""",
            """{"user_id":"\udc00"}""",
            """{"user_id":"u5"}"""));
        var processor = new JobProcessor(h.Store, h.Time, [new ImportJobKind()]) { ChunkSize = 3 };

        var ended = await processor.RunAsync(job, ProjectSettings.Default, null, CancellationToken.None);

        Assert.Equal(JobStatuses.Completed, ended.Status);
        Assert.Equal((8L, 4L, 4L), (ended.TotalRows, ended.CompletedRows, ended.FailedRows));
        var errors = await h.Store.Jobs.ListErrorsAsync(h.Project, job.JobId, 0, 100, CancellationToken.None);
        Assert.Equal([5L, 6L, 7L, 8L], errors.Select(e => e.Line));
        Assert.Contains("user_id: expected a string", errors[0].Reason, StringComparison.Ordinal);
        Assert.Contains("malformed JSON", errors[1].Reason, StringComparison.Ordinal);
        Assert.Contains("into", errors[2].Reason, StringComparison.Ordinal);
        Assert.Contains("not valid Unicode", errors[3].Reason, StringComparison.Ordinal);
        Assert.Equal(await h.ProfileOfAsync(Some.User("u1")), await h.ProfileOfAsync(Some.Device("d2")));
        Assert.NotNull(await h.ResolveAsync(Some.User("u5")));
    }

    [Fact]
    public async Task Run_ResumedAfterAStop_AppliesNoRowTwice()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var lines = Enumerable.Range(1, 10).Select(i => $$"""{"op":"track","user_id":"u","event":"e{{i}}"}""").ToList();
        var job = await SubmitAsync(h, string.Join("\n", lines));
        using var stop = new CancellationTokenSource();
        var first = new JobProcessor(h.Store, h.Time, [new ImportJobKind()]) { ChunkSize = 4 };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.RunAsync(job, ProjectSettings.Default, new StoppingProgress(stop), stop.Token));
        var stopped = (await h.Store.Jobs.GetAsync(h.Project, job.JobId, CancellationToken.None))!;
        Assert.Equal(JobStatuses.Processing, stopped.Status);
        Assert.Equal((5L, 4L), (stopped.NextLine, stopped.CompletedRows));

        // Another process takes the job over once the first one's claim has run out (as after a crash).
        h.Time.Advance(TimeSpan.FromSeconds(16));
        var ended = await new JobProcessor(h.Store, h.Time, [new ImportJobKind()]) { ChunkSize = 4 }
            .RunAsync(stopped, ProjectSettings.Default, null, CancellationToken.None);

        Assert.Equal((JobStatuses.Completed, 10L, 0L), (ended.Status, ended.CompletedRows, ended.FailedRows));
        var events = await h.StreamAsync((await h.ProfileOfAsync(Some.User("u"))).Value);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"e{i}").Order(), events.Select(e => e.Name).Order());
    }

    [Fact]
    public async Task Run_JobClaimedByAnotherProcess_IsRefusedUntilItsLeaseRunsOut()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var job = await SubmitAsync(h, """{"user_id":"u1"}""");
        var now = h.Time.GetUtcNow();
        Assert.True(await h.Store.Jobs.TryClaimAsync(h.Project, job.JobId, "other-process", now, now + TimeSpan.FromSeconds(60), CancellationToken.None));
        var processor = new JobProcessor(h.Store, h.Time, [new ImportJobKind()]) { Owner = "this-process" };

        await Assert.ThrowsAsync<JobClaimLostException>(() => processor.RunAsync(job, ProjectSettings.Default, null, CancellationToken.None));
        Assert.Null(await h.ResolveAsync(Some.User("u1")));

        h.Time.Advance(TimeSpan.FromSeconds(61));
        var ended = await processor.RunAsync(job, ProjectSettings.Default, null, CancellationToken.None);
        Assert.Equal((JobStatuses.Completed, 1L), (ended.Status, ended.CompletedRows));
    }

    [Fact]
    public async Task Progress_FromAnOwnerThatLostTheJob_RollsBackItsRows()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var job = await SubmitAsync(h, """{"user_id":"u1"}""");
        var now = h.Time.GetUtcNow();
        await h.Store.Jobs.TryClaimAsync(h.Project, job.JobId, "new-owner", now, now + TimeSpan.FromSeconds(60), CancellationToken.None);

        await Assert.ThrowsAsync<JobClaimLostException>(() => h.Engine.WriteAsync(h.Project, tx =>
        {
            IdentityGraph.Identify(tx, Some.Identify(Some.User("u1")), Some.Origin);
            tx.RecordJobProgress(job.JobId, "old-owner", 1, 2, 1, [], now);
            return true;
        }, CancellationToken.None));

        Assert.Null(await h.ResolveAsync(Some.User("u1")));
        Assert.Equal(1, (await h.Store.Jobs.GetAsync(h.Project, job.JobId, CancellationToken.None))!.NextLine);
    }

    [Fact]
    public async Task Run_RowThatWritesThenFails_LeavesNothingOfItself()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var job = new JobRecord(Guid.NewGuid().ToString(), h.Project, "half", "test", JobStatuses.Queued, null, 0, 0, 0, 0, 1, h.Time.GetUtcNow(), null, null, null, null);
        await h.Store.Jobs.AddAsync(job, Encoding.UTF8.GetBytes("\"a\"\n\"fails\"\n\"b\""), CancellationToken.None);

        var ended = await new JobProcessor(h.Store, h.Time, [new HalfWritingKind()]).RunAsync(job, ProjectSettings.Default, null, CancellationToken.None);

        Assert.Equal((2L, 1L), (ended.CompletedRows, ended.FailedRows));
        Assert.NotNull(await h.ResolveAsync(Some.User("a")));
        Assert.NotNull(await h.ResolveAsync(Some.User("b")));
        Assert.Null(await h.ResolveAsync(Some.User("fails")));
    }

    [Fact]
    public async Task Run_AReasonQuotingANul_IsStoredWithTheNulWrittenOut()
    {
        await using var h = await EngineHarness.CreateAsync(_factory);
        var job = new JobRecord(Guid.NewGuid().ToString(), h.Project, "quoting", "test", JobStatuses.Queued, null, 0, 0, 0, 0, 1, h.Time.GetUtcNow(), null, null, null, null);
        await h.Store.Jobs.AddAsync(job, Encoding.UTF8.GetBytes("\"a\\u0000b\"\n\"fine\""), CancellationToken.None);

        var ended = await new JobProcessor(h.Store, h.Time, [new QuotingKind()]).RunAsync(job, ProjectSettings.Default, null, CancellationToken.None);

        // PostgreSQL cannot keep a NUL: a reason holding one would fail the chunk's commit, and with it every row.
        Assert.Equal((1L, 1L), (ended.CompletedRows, ended.FailedRows));
        var error = Assert.Single(await h.Store.Jobs.ListErrorsAsync(h.Project, job.JobId, 0, 10, CancellationToken.None));
        Assert.Equal((1L, "no such user: a\\0b"), (error.Line, error.Reason));
    }

    /// <summary>Refuses a row whose user id holds a NUL, quoting it; identifies the others.</summary>
    private sealed class QuotingKind : IJobKind
    {
        public string Name => "quoting";

        public JobRow Read(string line, ProjectSettings settings)
        {
            var user = System.Text.Json.JsonSerializer.Deserialize<string>(line)!;
            return user.Contains('\0', StringComparison.Ordinal)
                ? throw new JobRowException($"no such user: {user}")
                : new JobRow((tx, origin) => IdentityGraph.Identify(tx, Some.Identify(Some.User(user)), origin), Some.User(user).Identifier);
        }
    }

    /// <summary>Identifies the row's user, then refuses the row when it is "fails": what it wrote must not stay.</summary>
    private sealed class HalfWritingKind : IJobKind
    {
        public string Name => "half";

        public JobRow Read(string line, ProjectSettings settings)
        {
            var user = System.Text.Json.JsonSerializer.Deserialize<string>(line)!;
            return new JobRow((tx, origin) =>
            {
                IdentityGraph.Identify(tx, Some.Identify(Some.User(user)), origin);
                if (user == "fails")
                {
                    throw new GraphException(GraphErrorKind.Conflict, "row", "refused after writing");
                }
            }, Some.User(user).Identifier);
        }
    }

    /// <summary>Cancels at the first progress report, synchronously (after the first chunk committed).</summary>
    private sealed class StoppingProgress(CancellationTokenSource stop) : IProgress<JobRecord>
    {
        public void Report(JobRecord value) => stop.Cancel();
    }
}
