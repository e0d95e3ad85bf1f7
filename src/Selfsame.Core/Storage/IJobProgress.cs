using Selfsame.Jobs;

namespace Selfsame.Storage;

/// <summary>A job's progress, written in the same transaction as the rows it applied.</summary>
public interface IJobProgress
{
    /// <summary>
    /// Records a job's progress in this transaction: the rows from <paramref name="fromLine"/> to before
    /// <paramref name="nextLine"/> are done, <paramref name="completed"/> applied and <paramref name="errors"/> failed, and the
    /// owner's claim runs until <paramref name="leaseUntil"/>. Kept if and only if the rows' writes are. Throws
    /// <see cref="JobClaimLostException"/> (so the rows roll back) unless <paramref name="owner"/> holds the job and it
    /// stands at <paramref name="fromLine"/>.
    /// </summary>
    void RecordJobProgress(string jobId, string owner, long fromLine, long nextLine, long completed, IReadOnlyList<JobRowError> errors, DateTimeOffset leaseUntil);
}
