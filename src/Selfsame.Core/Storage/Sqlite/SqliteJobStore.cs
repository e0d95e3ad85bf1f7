using Microsoft.Data.Sqlite;
using Selfsame.Graph;
using Selfsame.Jobs;

namespace Selfsame.Storage.Sqlite;

/// <summary>Jobs in the SQLite file, through the catalog's pooled connections (low volume: submissions and status changes).</summary>
internal sealed class SqliteJobStore(SqliteCatalog catalog) : IJobStore
{
    private const string Columns =
        "job_id, project_id, kind, source, status, filename, file_size, total_rows, completed_rows, failed_rows, next_line, submitted_at, started_at, ended_at, error, key_id, result";

    public Task AddAsync(JobRecord job, byte[] payload, CancellationToken cancellationToken)
    {
        // One transaction: the job and its payload exist together or not at all.
        catalog.InTransaction(connection =>
        {
            Run(connection, $"INSERT INTO jobs ({Columns}, seq) VALUES ($id, $project, $kind, $source, $status, $filename, $size, $total, 0, 0, 1, $at, NULL, NULL, NULL, $key, NULL, " +
                "(SELECT coalesce(max(seq), 0) + 1 FROM jobs WHERE project_id = $project))",
                ("$id", job.JobId), ("$project", job.Project.Value), ("$kind", job.Kind), ("$source", job.Source), ("$status", job.Status),
                ("$filename", job.Filename), ("$size", job.FileSize), ("$total", job.TotalRows), ("$at", job.SubmittedAt.ToUnixTimeMilliseconds()), ("$key", job.KeyId));
            Run(connection, "INSERT INTO job_payloads (project_id, job_id, payload) VALUES ($project, $id, $payload)",
                ("$project", job.Project.Value), ("$id", job.JobId), ("$payload", payload));
        });
        return Task.CompletedTask;
    }

    public Task<JobRecord?> GetAsync(ProjectId project, string jobId, CancellationToken cancellationToken) =>
        Task.FromResult(catalog.Query($"SELECT {Columns} FROM jobs WHERE project_id = $project AND job_id = $id", Read,
            ("$project", project.Value), ("$id", jobId)).FirstOrDefault());

    public Task<IReadOnlyList<JobRecord>> ListAsync(ProjectId project, int limit, CancellationToken cancellationToken, IReadOnlyList<string>? kinds = null) =>
        Task.FromResult<IReadOnlyList<JobRecord>>(catalog.Query(
            $"SELECT {Columns} FROM jobs WHERE project_id = $project AND ($kinds IS NULL OR kind IN (SELECT value FROM json_each($kinds))) " +
            "ORDER BY seq DESC LIMIT $limit", Read,
            ("$project", project.Value), ("$limit", limit), ("$kinds", kinds is null ? null : System.Text.Json.JsonSerializer.Serialize(kinds))));

    public Task<bool> TryClaimAsync(ProjectId project, string jobId, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken) =>
        Task.FromResult(catalog.Execute(
            "UPDATE jobs SET owner = $owner, lease_until = $until WHERE project_id = $project AND job_id = $id " +
            $"AND status NOT IN ('{JobStatuses.Completed}', '{JobStatuses.Failed}') AND (owner IS NULL OR owner = $owner OR lease_until < $now)",
            ("$project", project.Value), ("$id", jobId), ("$owner", owner), ("$until", leaseUntil.ToUnixTimeMilliseconds()), ("$now", now.ToUnixTimeMilliseconds())) == 1);

    public Task<IReadOnlyList<JobRecord>> ListUnfinishedAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JobRecord>>(catalog.Query(
            $"SELECT {Columns} FROM jobs WHERE status NOT IN ('{JobStatuses.Completed}', '{JobStatuses.Failed}') ORDER BY submitted_at, job_id", Read));

    public Task<byte[]> ReadPayloadAsync(ProjectId project, string jobId, CancellationToken cancellationToken) =>
        Task.FromResult(catalog.Query("SELECT payload FROM job_payloads WHERE project_id = $project AND job_id = $id", r => (byte[])r.GetValue(0),
            ("$project", project.Value), ("$id", jobId)).Single());

    public Task<IReadOnlyList<JobRowError>> ListErrorsAsync(ProjectId project, string jobId, long afterLine, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JobRowError>>(catalog.Query(
            "SELECT line, reason FROM job_errors WHERE project_id = $project AND job_id = $id AND line > $after ORDER BY line LIMIT $limit",
            r => new JobRowError(r.GetInt64(0), r.GetString(1)), ("$project", project.Value), ("$id", jobId), ("$after", afterLine), ("$limit", limit)));

    public Task SetProgressAsync(ProjectId project, string jobId, long completedRows, string? result, CancellationToken cancellationToken)
    {
        catalog.Execute("UPDATE jobs SET completed_rows = $done, result = coalesce($result, result) WHERE project_id = $project AND job_id = $id",
            ("$project", project.Value), ("$id", jobId), ("$done", completedRows), ("$result", result));
        return Task.CompletedTask;
    }

    public Task SetStatusAsync(ProjectId project, string jobId, string status, DateTimeOffset? startedAt, DateTimeOffset? endedAt, long? totalRows, string? error,
        CancellationToken cancellationToken)
    {
        catalog.InTransaction(connection =>
        {
            var finished = JobStatuses.IsFinished(status);
            Run(connection,
                "UPDATE jobs SET status = $status, started_at = coalesce($started, started_at), ended_at = coalesce($ended, ended_at), " +
                "total_rows = coalesce($total, total_rows), error = coalesce($error, error), " +
                "owner = CASE WHEN $finished THEN NULL ELSE owner END, lease_until = CASE WHEN $finished THEN NULL ELSE lease_until END " +
                "WHERE project_id = $project AND job_id = $id",
                ("$project", project.Value), ("$id", jobId), ("$status", status), ("$started", startedAt?.ToUnixTimeMilliseconds()),
                ("$ended", endedAt?.ToUnixTimeMilliseconds()), ("$total", totalRows), ("$error", error), ("$finished", finished));
            if (finished)
            {
                // A finished job keeps its counts and failed rows, not the rows it was sent.
                Run(connection, "DELETE FROM job_payloads WHERE project_id = $project AND job_id = $id", ("$project", project.Value), ("$id", jobId));
            }
        });
        return Task.CompletedTask;
    }

    private static JobRecord Read(SqliteDataReader r) => new(
        r.GetString(0), ProjectId.Parse(r.GetString(1)), r.GetString(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
        r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), r.GetInt64(9), r.GetInt64(10), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(11)),
        r.IsDBNull(12) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(12)),
        r.IsDBNull(13) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(13)),
        r.IsDBNull(14) ? null : r.GetString(14), r.IsDBNull(15) ? null : r.GetString(15), r.IsDBNull(16) ? null : r.GetString(16));

    private static void Run(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        command.ExecuteNonQuery();
    }
}
