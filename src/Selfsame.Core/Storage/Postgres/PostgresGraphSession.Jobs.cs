using Selfsame.Jobs;

namespace Selfsame.Storage.Postgres;

// A job's progress, in the transaction of the rows it applied (IJobProgress).
internal sealed partial class PostgresGraphSession : IJobProgress
{
    public void RecordJobProgress(string jobId, string owner, long fromLine, long nextLine, long completed, IReadOnlyList<JobRowError> errors, DateTimeOffset leaseUntil)
    {
        var moved = Execute(
            "UPDATE jobs SET next_line = $3, completed_rows = completed_rows + $4, failed_rows = failed_rows + $5, lease_until = $8 " +
            "WHERE project_id = $1 AND job_id = $2 AND owner = $6 AND next_line = $7",
            _project, jobId, nextLine, completed, (long)errors.Count, owner, fromLine, leaseUntil.ToUnixTimeMilliseconds());
        if (moved == 0)
        {
            throw new JobClaimLostException(jobId);
        }
        foreach (var error in errors)
        {
            Execute("INSERT INTO job_errors (project_id, job_id, line, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", _project, jobId, error.Line, error.Reason);
        }
    }
}
