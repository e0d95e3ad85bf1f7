namespace Selfsame.Storage.Sqlite;

// A job's progress, in the transaction of the rows it applied (IJobProgress).
internal sealed partial class SqliteGraphSession : IJobProgress
{
    public void RecordJobProgress(string jobId, string owner, long fromLine, long nextLine, long completed, IReadOnlyList<Jobs.JobRowError> errors, DateTimeOffset leaseUntil)
    {
        WritePending();
        var moved = Sql.Execute(
            "UPDATE jobs SET next_line = @p2, completed_rows = completed_rows + @p3, failed_rows = failed_rows + @p4, lease_until = @p7 " +
            "WHERE project_id = @p0 AND job_id = @p1 AND owner = @p5 AND next_line = @p6",
            _project, jobId, nextLine, completed, (long)errors.Count, owner, fromLine, leaseUntil.ToUnixTimeMilliseconds());
        if (moved == 0)
        {
            throw new Jobs.JobClaimLostException(jobId);
        }
        foreach (var error in errors)
        {
            Sql.Execute("INSERT INTO job_errors (project_id, job_id, line, reason) VALUES (@p0, @p1, @p2, @p3) ON CONFLICT DO NOTHING",
                _project, jobId, error.Line, error.Reason);
        }
    }
}
