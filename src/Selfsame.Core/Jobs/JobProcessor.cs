using System.Data.Common;
using System.Runtime.ExceptionServices;
using System.Text;
using Selfsame.Graph;
using Selfsame.Storage;

namespace Selfsame.Jobs;

/// <summary>A row the job's kind cannot read: it fails alone, with this reason, and the job goes on.</summary>
public sealed class JobRowException(string reason) : Exception(reason);

/// <summary>
/// A row of a job as its kind read it: the write, and what the write starts by looking up (identifiers; insert_ids of
/// events), which the processor has the store read for a whole chunk at once. Only speed depends on those lists: a
/// look-up left out of them is read when the write makes it.
/// </summary>
public sealed class JobRow
{
    private JobRow(Action<IGraphTransaction, WriteOrigin> write, IReadOnlyList<Identifier> looksUp, IReadOnlyList<string> insertIds, GraphOperation? operation = null) =>
        (Write, LooksUp, InsertIds, Operation) = (write, looksUp, insertIds, operation);

    /// <summary>A row of the engine's own making (and tests'): kinds outside Core build rows with <see cref="Of"/>.</summary>
    internal JobRow(Action<IGraphTransaction, WriteOrigin> write, params Identifier[] looksUp)
        : this(write, looksUp, [])
    {
    }

    internal Action<IGraphTransaction, WriteOrigin> Write { get; }

    internal IReadOnlyList<Identifier> LooksUp { get; }

    internal IReadOnlyList<string> InsertIds { get; }

    /// <summary>The graph operation the row applies, for a dry run of the job (null for a row of the engine's own making).</summary>
    internal GraphOperation? Operation { get; }

    /// <summary>A row that applies one graph operation (identify, track, link, unlink).</summary>
    public static JobRow Of(GraphOperation operation)
    {
        var identifiers = new List<Identifier>();
        var insertIds = new List<string>();
        IdentityGraph.AddLookUps(operation, identifiers, insertIds);
        return new JobRow((tx, origin) => IdentityGraph.Apply(tx, operation, origin), identifiers, insertIds, operation);
    }
}

/// <summary>
/// What a kind of job does with one row. <see cref="Read"/> checks the row (one line of the payload) and returns the write;
/// it throws <see cref="JobRowException"/> for a row that cannot be applied. The write may throw <see cref="GraphException"/>:
/// that row fails alone.
/// </summary>
public interface IJobKind
{
    string Name { get; }
    JobRow Read(string line, ProjectSettings settings);
}

/// <summary>
/// Runs durable jobs. Rows are applied in chunks, each chunk one transaction that also records the job's progress (the next
/// line, the rows applied, the rows that failed), so that after a crash the job resumes at the first line not committed and
/// no row is applied twice. A chunk is first applied whole; if a row's write throws, the chunk is applied again with each
/// row in a savepoint, so that only the failing rows are left out.
/// </summary>
public sealed class JobProcessor(IGraphStore store, TimeProvider time, IEnumerable<IJobKind> kinds)
{
    private readonly Dictionary<string, IJobKind> _kinds = kinds.ToDictionary(k => k.Name, StringComparer.Ordinal);

    public int ChunkSize { get; init; } = 2000;

    public bool Knows(string kind) => _kinds.ContainsKey(kind);

    /// <summary>The rows of a payload as a job of <paramref name="kind"/> reads them: each line's operation, or why it cannot be applied.</summary>
    public IEnumerable<(long Line, GraphOperation? Operation, string? Error)> ReadRows(string kind, byte[] payload, ProjectSettings settings)
    {
        var reader = _kinds[kind];
        foreach (var (line, text) in Lines(payload))
        {
            JobRow? row = null;
            string? error = null;
            try
            {
                row = reader.Read(text, settings);
            }
            catch (JobRowException e)
            {
                error = e.Message;
            }
            yield return row?.Operation is { } operation ? (line, operation, null) : (line, null, error ?? "this row cannot be dry-run");
        }
    }

    /// <summary>Stores a new queued job with its payload (one row a line) and returns it; the job exists once this completes.</summary>
    public static async Task<JobRecord> SubmitAsync(IJobStore jobs, ProjectId project, string kind, string source, string? filename, byte[] payload,
        string? keyId, TimeProvider time, CancellationToken cancellationToken)
    {
        var job = new JobRecord(Guid.NewGuid().ToString(), project, kind, source, JobStatuses.Queued, filename, payload.LongLength,
            Lines(payload).LongCount(), 0, 0, 1, time.GetUtcNow(), null, null, null, keyId);
        await jobs.AddAsync(job, payload, cancellationToken);
        return job;
    }

    /// <summary>Splits a payload into its lines, numbered from 1; blank lines are skipped but keep their numbers.</summary>
    public static IEnumerable<(long Line, string Text)> Lines(byte[] payload)
    {
        using var reader = new StreamReader(new MemoryStream(payload), Encoding.UTF8);
        long number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                yield return (number, line);
            }
        }
    }

    /// <summary>This process's name on the jobs it claims.</summary>
    public string Owner { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>How long a claim lasts without progress; every chunk renews it.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Claims the job and runs it from where it stands to the end; returns it as it ended. Throws
    /// <see cref="JobClaimLostException"/> when another process holds it (nothing is applied then). A store failure leaves
    /// the job as it was (resumable); any other failure that is not a row's marks the job failed.
    /// </summary>
    public async Task<JobRecord> RunAsync(JobRecord job, ProjectSettings settings, IProgress<JobRecord>? progress, CancellationToken cancellationToken)
    {
        var kind = _kinds[job.Kind];
        var jobs = store.Jobs;
        var now = time.GetUtcNow();
        if (!await jobs.TryClaimAsync(job.Project, job.JobId, Owner, now, now + Lease, cancellationToken))
        {
            throw new JobClaimLostException(job.JobId);
        }
        // Read again under the claim: the caller's copy may be older than the last chunk another process committed.
        job = await jobs.GetAsync(job.Project, job.JobId, cancellationToken) ?? throw new JobClaimLostException(job.JobId);
        if (job.Status == JobStatuses.Queued)
        {
            await jobs.SetStatusAsync(job.Project, job.JobId, JobStatuses.Validating, now, null, null, null, cancellationToken);
        }
        var payload = await jobs.ReadPayloadAsync(job.Project, job.JobId, cancellationToken);
        var total = Lines(payload).LongCount();
        await jobs.SetStatusAsync(job.Project, job.JobId, JobStatuses.Processing, null, null, total, null, cancellationToken);
        var origin = new WriteOrigin(job.Source, job.JobId, job.KeyId);
        var chunk = new List<(long Line, JobRow? Row, string? Error)>(ChunkSize);
        var from = job.NextLine;
        Task? applying = null;
        try
        {
            foreach (var (line, text) in Lines(payload).Where(l => l.Line >= job.NextLine))
            {
                try
                {
                    chunk.Add((line, kind.Read(text, settings), null));
                }
                catch (JobRowException e)
                {
                    chunk.Add((line, null, e.Message));
                }
                if (chunk.Count == ChunkSize)
                {
                    // One chunk in flight: the next one is read while this one is applied, in order.
                    if (applying is not null)
                    {
                        await applying;
                        progress?.Report((await jobs.GetAsync(job.Project, job.JobId, cancellationToken))!);
                    }
                    var next = chunk[^1].Line + 1;
                    applying = ApplyAsync(job, chunk, from, next, origin, cancellationToken);
                    from = next;
                    chunk = new List<(long, JobRow?, string?)>(ChunkSize);
                }
            }
            if (applying is not null)
            {
                await applying;
                progress?.Report((await jobs.GetAsync(job.Project, job.JobId, cancellationToken))!);
            }
            await ApplyAsync(job, chunk, from, long.MaxValue, origin, cancellationToken);
        }
        catch (Exception e) when (Resumable(e))
        {
            await SettleAsync(applying);
            throw;
        }
        catch (Exception e)
        {
            await SettleAsync(applying);
            await jobs.SetStatusAsync(job.Project, job.JobId, JobStatuses.Failed, null, time.GetUtcNow(), null, $"the job stopped: {e.Message}", CancellationToken.None);
            throw;
        }
        await jobs.SetStatusAsync(job.Project, job.JobId, JobStatuses.Completed, null, time.GetUtcNow(), null, null, cancellationToken);
        var ended = (await jobs.GetAsync(job.Project, job.JobId, cancellationToken))!;
        progress?.Report(ended);
        return ended;
    }

    /// <summary>
    /// Failures after which the job can go on later where it stands: the store failing (unavailable, or an error of its
    /// driver that is not about a value: a value the store refused fails its row alone), the claim lost, a stop.
    /// </summary>
    private static bool Resumable(Exception e) =>
        e is StoreUnavailableException or DbException or IOException or JobClaimLostException or OperationCanceledException;

    /// <summary>Waits for a chunk still being applied, whatever it ends with (its outcome is in the store already).</summary>
    private static async Task SettleAsync(Task? applying)
    {
        if (applying is not null)
        {
            try
            {
                await applying;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Reported by the caller's own failure.
            }
        }
    }

    private async Task ApplyAsync(JobRecord job, List<(long Line, JobRow? Row, string? Error)> chunk, long from, long next,
        WriteOrigin origin, CancellationToken cancellationToken)
    {
        var leaseUntil = time.GetUtcNow() + Lease;
        (long Completed, int Failed) done;
        try
        {
            done = await store.WriteAsync(job.Project, tx => Apply(tx, job.JobId, Owner, chunk, from, next, leaseUntil, origin, isolate: false), cancellationToken);
        }
        catch (Exception e) when (!Resumable(e))
        {
            // A row failed: apply the chunk again with each row in a savepoint, so that only the failing rows are left out.
            done = await store.WriteAsync(job.Project, tx => Apply(tx, job.JobId, Owner, chunk, from, next, leaseUntil, origin, isolate: true), cancellationToken);
        }
        Telemetry.SelfsameMetrics.JobRows.Add(done.Completed, new("kind", job.Kind), new("outcome", "applied"));
        Telemetry.SelfsameMetrics.JobRows.Add(done.Failed, new("kind", job.Kind), new("outcome", "failed"));
    }

    /// <summary>
    /// A failed row's reason as stored: a NUL it quotes from the row is written \0, since PostgreSQL cannot keep one and
    /// the reason is stored with the chunk (a reason that could not be stored would fail every row of it).
    /// </summary>
    private static string Printable(string reason) => reason.Replace("\0", "\\0", StringComparison.Ordinal);

    private static (long Completed, int Failed) Apply(IGraphTransaction tx, string jobId, string owner, List<(long Line, JobRow? Row, string? Error)> rows,
        long from, long next, DateTimeOffset leaseUntil, WriteOrigin origin, bool isolate)
    {
        var errors = new List<JobRowError>();
        long completed = 0;
        if (!isolate)
        {
            // Each row in a savepoint writes out what came before it, which forgets what was read ahead: only the whole
            // chunk at once gains from it.
            tx.ReadAhead(rows.Where(r => r.Row is not null).SelectMany(r => r.Row!.LooksUp), rows.Where(r => r.Row is not null).SelectMany(r => r.Row!.InsertIds));
        }
        foreach (var (line, row, error) in rows)
        {
            if (row is null)
            {
                errors.Add(new JobRowError(line, Printable(error!)));
                continue;
            }
            if (!isolate)
            {
                row.Write(tx, origin);
                completed++;
                continue;
            }
            switch (tx.Attempt(t => row.Write(t, origin)))
            {
                case null:
                    completed++;
                    break;
                case GraphException refused:
                    errors.Add(new JobRowError(line, Printable($"{refused.Field}: {refused.Message}")));
                    break;
                case var failure when Resumable(failure):
                    ExceptionDispatchInfo.Throw(failure);
                    break;
                case var failure:
                    errors.Add(new JobRowError(line, Printable($"the row could not be applied ({failure.GetType().Name}: {failure.Message})")));
                    break;
            }
        }
        tx.RecordJobProgress(jobId, owner, from, next, completed, errors, leaseUntil);
        return (completed, errors.Count);
    }
}
