using Selfsame.Graph;

namespace Selfsame.Jobs;

public static class JobStatuses
{
    public const string Queued = "queued";
    public const string Validating = "validating";
    public const string Processing = "processing";
    public const string Completed = "completed";
    public const string Failed = "failed";

    public static bool IsFinished(string status) => status is Completed or Failed;
}

/// <summary>
/// A durable job: rows (one JSON value a line) applied in order by the job's kind. <see cref="NextLine"/> is the first line
/// not yet applied; it is committed in the same transaction as the rows before it.
/// </summary>
public sealed record JobRecord(
    string JobId,
    ProjectId Project,
    string Kind,
    string Source,
    string Status,
    string? Filename,
    long FileSize,
    long TotalRows,
    long CompletedRows,
    long FailedRows,
    long NextLine,
    DateTimeOffset SubmittedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    string? Error,
    string? KeyId,
    string? Result = null);

/// <summary>The process running a job lost its claim (another process holds it now): what it was applying is rolled back.</summary>
public sealed class JobClaimLostException(string jobId) : Exception($"job {jobId} is claimed by another process");

/// <summary>A row of a job that failed, with its line number (from 1) and why.</summary>
public sealed record JobRowError(long Line, string Reason);

/// <summary>Jobs, their payloads and their failed rows. Progress is written by the graph transaction that applies the rows.</summary>
public interface IJobStore
{
    /// <summary>Stores a new job with its payload; the job exists once this completes.</summary>
    Task AddAsync(JobRecord job, byte[] payload, CancellationToken cancellationToken);
    Task<JobRecord?> GetAsync(ProjectId project, string jobId, CancellationToken cancellationToken);

    /// <summary>The project's jobs, newest first; only those of <paramref name="kinds"/> when given.</summary>
    Task<IReadOnlyList<JobRecord>> ListAsync(ProjectId project, int limit, CancellationToken cancellationToken, IReadOnlyList<string>? kinds = null);

    /// <summary>
    /// Claims an unfinished job for <paramref name="owner"/> until <paramref name="leaseUntil"/>: true when it was free, its
    /// lease had run out, or the owner held it already; false while another process holds it.
    /// </summary>
    Task<bool> TryClaimAsync(ProjectId project, string jobId, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Every job not completed or failed, of every project, oldest first.</summary>
    Task<IReadOnlyList<JobRecord>> ListUnfinishedAsync(CancellationToken cancellationToken);
    Task<byte[]> ReadPayloadAsync(ProjectId project, string jobId, CancellationToken cancellationToken);

    /// <summary>The rows that failed, by line, after <paramref name="afterLine"/>.</summary>
    Task<IReadOnlyList<JobRowError>> ListErrorsAsync(ProjectId project, string jobId, long afterLine, int limit, CancellationToken cancellationToken);

    /// <summary>Sets a job's status and times; a finished job (completed or failed) loses its payload and its claim.</summary>
    /// <summary>Sets how far a job that reads rather than writes has come and, at its end, what it found (JSON).</summary>
    Task SetProgressAsync(ProjectId project, string jobId, long completedRows, string? result, CancellationToken cancellationToken);

    Task SetStatusAsync(ProjectId project, string jobId, string status, DateTimeOffset? startedAt, DateTimeOffset? endedAt, long? totalRows, string? error,
        CancellationToken cancellationToken);
}
