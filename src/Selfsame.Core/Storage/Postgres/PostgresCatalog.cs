using Npgsql;
using Selfsame.Graph;
using Selfsame.Jobs;

namespace Selfsame.Storage.Postgres;

/// <summary>Projects, API keys and the audit log's admin entries in PostgreSQL; each call on a pooled connection of its own.</summary>
internal sealed class PostgresCatalog(NpgsqlDataSource dataSource) : IProjectCatalog
{
    private const string KeyColumns = "key_id, project_id, role, secret_hash, name, created_at, revoked_at, expires_at, last_used_at, permissions";

    public async Task<Project?> GetProjectAsync(ProjectId id, CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT project_id, name, created_at, settings FROM projects WHERE project_id = $1", ReadProject, cancellationToken, id.Value)).FirstOrDefault();

    public async Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken cancellationToken) =>
        await QueryAsync("SELECT project_id, name, created_at, settings FROM projects ORDER BY project_id", ReadProject, cancellationToken);

    public async Task<bool> CreateProjectAsync(Project project, ApiKeyRecord? firstKey, CancellationToken cancellationToken)
    {
        var created = false;
        await InTransactionAsync(async (connection, transaction) =>
        {
            created = await ExecuteAsync(connection, transaction,
                "INSERT INTO projects (project_id, name, created_at, settings) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", cancellationToken,
                project.Id.Value, project.Name, project.CreatedAt.ToUnixTimeMilliseconds(), project.Settings.ToJson()) == 1;
            if (created && firstKey is not null)
            {
                await ExecuteAsync(connection, transaction, InsertKey, cancellationToken, KeyValues(firstKey));
            }
        }, cancellationToken);
        return created;
    }

    public Task UpdateSettingsAsync(ProjectId id, ProjectSettings settings, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE projects SET settings = $2 WHERE project_id = $1", cancellationToken, id.Value, settings.ToJson());

    private const string InsertKey =
        "INSERT INTO api_keys (key_id, project_id, role, secret_hash, name, created_at, permissions) VALUES ($1, $2, $3, $4, $5::text, $6, $7::text)";

    private static object?[] KeyValues(ApiKeyRecord key) =>
        [key.KeyId, key.Project.Value, key.Role, key.SecretHash, key.Name, key.CreatedAt.ToUnixTimeMilliseconds(),
         key.Permissions is null ? null : string.Join(' ', key.Permissions)];

    public Task AddKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken) => ExecuteAsync(InsertKey, cancellationToken, KeyValues(key));

    public async Task<ApiKeyRecord?> FindKeyAsync(string keyId, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {KeyColumns} FROM api_keys WHERE key_id = $1", ReadKey, cancellationToken, keyId)).FirstOrDefault();

    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(ProjectId project, CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {KeyColumns} FROM api_keys WHERE project_id = $1 ORDER BY created_at, key_id", ReadKey, cancellationToken, project.Value);

    public async Task<bool> RevokeKeyAsync(ProjectId project, string keyId, DateTimeOffset at, CancellationToken cancellationToken) =>
        await ExecuteAsync("UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3) WHERE project_id = $1 AND key_id = $2", cancellationToken,
            project.Value, keyId, at.ToUnixTimeMilliseconds()) == 1;

    public async Task<bool> ExpireKeyAsync(ProjectId project, string keyId, DateTimeOffset at, CancellationToken cancellationToken) =>
        await ExecuteAsync("UPDATE api_keys SET expires_at = $3 WHERE project_id = $1 AND key_id = $2 AND revoked_at IS NULL", cancellationToken,
            project.Value, keyId, at.ToUnixTimeMilliseconds()) == 1;

    public Task TouchKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1", cancellationToken, keyId, at.ToUnixTimeMilliseconds());

    public Task AddAuditAsync(ProjectId project, DateTimeOffset at, string action, WriteOrigin origin, object detail, CancellationToken cancellationToken) =>
        ExecuteAsync("INSERT INTO audit (project_id, audit_id, at, action, surface, request_id, key_id, detail, client_address) " +
                     "VALUES ($1, nextval('audit_ids'), $2, $3, $4, $5::text, $6::text, $7, $8::text)", cancellationToken,
            project.Value, at.ToUnixTimeMilliseconds(), action, origin.Surface, origin.RequestId, origin.KeyId, System.Text.Json.JsonSerializer.Serialize(detail),
            origin.ClientAddress);

    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(ProjectId project, long? before, int limit, CancellationToken cancellationToken) =>
        await QueryAsync(
            "SELECT audit_id, at, action, surface, request_id, key_id, detail, client_address FROM audit WHERE project_id = $1 AND audit_id < $2 " +
            "ORDER BY audit_id DESC LIMIT $3",
            r => new AuditEntry(r.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetString(2), r.GetString(3),
                r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7)),
            cancellationToken, project.Value, before ?? long.MaxValue, (long)limit);

    public async Task<ChangePage> ListChangesAsync(ProjectId project, long after, int limit, CancellationToken cancellationToken)
    {
        var changes = await QueryAsync(
            "SELECT seq, at, kind, surface, request_id, key_id, detail FROM changes WHERE project_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            r => new ChangeEntry(r.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetString(2), r.GetString(3),
                r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetString(6)),
            cancellationToken, project.Value, after, (long)limit);
        // The horizon after the rows: a prune between the two reads then answers a needless 410, never a page with a hole.
        var horizon = await QueryAsync("SELECT pruned_through FROM change_horizons WHERE project_id = $1", r => r.GetInt64(0), cancellationToken, project.Value);
        return new ChangePage(changes, horizon.Count == 0 ? 0 : horizon[0]);
    }

    public async Task<int> PruneChangesAsync(ProjectId project, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var pruned = 0;
        await InTransactionAsync(async (connection, transaction) =>
        {
            await using var highest = Command(connection, transaction, "SELECT max(seq) FROM changes WHERE project_id = $1 AND at < $2", [project.Value, before.ToUnixTimeMilliseconds()]);
            if (await highest.ExecuteScalarAsync(cancellationToken) is not long through)
            {
                return;
            }
            // Every change up to the highest one made before the cut, so that the feed keeps no hole a cursor could skip.
            pruned = await ExecuteAsync(connection, transaction, "DELETE FROM changes WHERE project_id = $1 AND seq <= $2", cancellationToken, project.Value, through);
            await ExecuteAsync(connection, transaction,
                "INSERT INTO change_horizons (project_id, pruned_through) VALUES ($1, $2) " +
                "ON CONFLICT (project_id) DO UPDATE SET pruned_through = greatest(change_horizons.pruned_through, excluded.pruned_through)",
                cancellationToken, project.Value, through);
        }, cancellationToken);
        return pruned;
    }

    private static Project ReadProject(NpgsqlDataReader r) =>
        new(ProjectId.Parse(r.GetString(0)), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), ProjectSettings.FromJson(r.GetString(3)));

    private static ApiKeyRecord ReadKey(NpgsqlDataReader r) =>
        new(r.GetString(0), ProjectId.Parse(r.GetString(1)), r.GetString(2), (byte[])r.GetValue(3), r.IsDBNull(4) ? null : r.GetString(4),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), Time(r, 6), Time(r, 7), Time(r, 8),
            r.IsDBNull(9) ? null : r.GetString(9).Split(' ', StringSplitOptions.RemoveEmptyEntries));

    internal static DateTimeOffset? Time(NpgsqlDataReader r, int column) => r.IsDBNull(column) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(column));

    internal async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object?[] args)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var command = Command(connection, null, sql, args);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var result = new List<T>();
            while (await reader.ReadAsync(cancellationToken))
            {
                result.Add(read(reader));
            }
            return result;
        }
        catch (NpgsqlException e) when (PostgresErrors.Translate(e) is { } store)
        {
            throw store;
        }
    }

    internal async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params object?[] args)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            return await ExecuteAsync(connection, null, sql, cancellationToken, args);
        }
        catch (NpgsqlException e) when (PostgresErrors.Translate(e) is { } store)
        {
            throw store;
        }
    }

    internal static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params object?[] args)
    {
        try
        {
            await using var command = Command(connection, transaction, sql, args);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (NpgsqlException e) when (PostgresErrors.Translate(e) is { } store)
        {
            throw store;
        }
    }

    /// <summary>Runs <paramref name="work"/> in one transaction; what the driver throws reaches the caller as the store's own exception where there is one.</summary>
    internal async Task InTransactionAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await work(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (NpgsqlException e) when (PostgresErrors.Translate(e) is { } store)
        {
            throw store;
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, object?[] args)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var arg in args)
        {
            if (arg is string text && text.Contains('\0', StringComparison.Ordinal))
            {
                throw new GraphException(GraphErrorKind.Invalid, "(text)", "a value holds a NUL character, which the store cannot keep");
            }
            command.Parameters.Add(new NpgsqlParameter { Value = arg ?? DBNull.Value });
        }
        return command;
    }
}

/// <summary>Jobs in PostgreSQL, through the catalog's connections.</summary>
internal sealed class PostgresJobStore(PostgresCatalog catalog) : IJobStore
{
    private const string Columns =
        "job_id, project_id, kind, source, status, filename, file_size, total_rows, completed_rows, failed_rows, next_line, submitted_at, started_at, ended_at, error, key_id, result";

    public Task AddAsync(JobRecord job, byte[] payload, CancellationToken cancellationToken) =>
        catalog.InTransactionAsync(async (connection, transaction) =>
        {
            // The project's jobs are numbered under its row lock, so two nodes never give two jobs one number.
            await PostgresCatalog.ExecuteAsync(connection, transaction, "SELECT 1 FROM projects WHERE project_id = $1 FOR UPDATE", cancellationToken, job.Project.Value);
            await PostgresCatalog.ExecuteAsync(connection, transaction,
                $"INSERT INTO jobs ({Columns}, seq) VALUES ($1, $2, $3, $4, $5, $6::text, $7, $8, 0, 0, 1, $9, NULL, NULL, NULL, $10::text, NULL, " +
                "(SELECT coalesce(max(seq), 0) + 1 FROM jobs WHERE project_id = $2))", cancellationToken,
                job.JobId, job.Project.Value, job.Kind, job.Source, job.Status, job.Filename, job.FileSize, job.TotalRows, job.SubmittedAt.ToUnixTimeMilliseconds(), job.KeyId);
            await PostgresCatalog.ExecuteAsync(connection, transaction, "INSERT INTO job_payloads (project_id, job_id, payload) VALUES ($1, $2, $3)", cancellationToken,
                job.Project.Value, job.JobId, payload);
        }, cancellationToken);

    public async Task<JobRecord?> GetAsync(ProjectId project, string jobId, CancellationToken cancellationToken) =>
        (await catalog.QueryAsync($"SELECT {Columns} FROM jobs WHERE project_id = $1 AND job_id = $2", Read, cancellationToken, project.Value, jobId)).FirstOrDefault();

    public async Task<IReadOnlyList<JobRecord>> ListAsync(ProjectId project, int limit, CancellationToken cancellationToken, IReadOnlyList<string>? kinds = null) =>
        await catalog.QueryAsync($"SELECT {Columns} FROM jobs WHERE project_id = $1 AND ($3::text[] IS NULL OR kind = ANY($3::text[])) ORDER BY seq DESC LIMIT $2",
            Read, cancellationToken, project.Value, (long)limit, kinds?.ToArray());

    public async Task<bool> TryClaimAsync(ProjectId project, string jobId, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken) =>
        await catalog.ExecuteAsync(
            "UPDATE jobs SET owner = $3, lease_until = $4 WHERE project_id = $1 AND job_id = $2 " +
            $"AND status NOT IN ('{JobStatuses.Completed}', '{JobStatuses.Failed}') AND (owner IS NULL OR owner = $3 OR lease_until < $5)", cancellationToken,
            project.Value, jobId, owner, leaseUntil.ToUnixTimeMilliseconds(), now.ToUnixTimeMilliseconds()) == 1;

    public async Task<IReadOnlyList<JobRecord>> ListUnfinishedAsync(CancellationToken cancellationToken) =>
        await catalog.QueryAsync($"SELECT {Columns} FROM jobs WHERE status NOT IN ('{JobStatuses.Completed}', '{JobStatuses.Failed}') ORDER BY submitted_at, job_id",
            Read, cancellationToken);

    public async Task<byte[]> ReadPayloadAsync(ProjectId project, string jobId, CancellationToken cancellationToken) =>
        (await catalog.QueryAsync("SELECT payload FROM job_payloads WHERE project_id = $1 AND job_id = $2", r => (byte[])r.GetValue(0), cancellationToken,
            project.Value, jobId)).Single();

    public async Task<IReadOnlyList<JobRowError>> ListErrorsAsync(ProjectId project, string jobId, long afterLine, int limit, CancellationToken cancellationToken) =>
        await catalog.QueryAsync("SELECT line, reason FROM job_errors WHERE project_id = $1 AND job_id = $2 AND line > $3 ORDER BY line LIMIT $4",
            r => new JobRowError(r.GetInt64(0), r.GetString(1)), cancellationToken, project.Value, jobId, afterLine, (long)limit);

    public Task SetProgressAsync(ProjectId project, string jobId, long completedRows, string? result, CancellationToken cancellationToken) =>
        catalog.ExecuteAsync("UPDATE jobs SET completed_rows = $3, result = coalesce($4::text, result) WHERE project_id = $1 AND job_id = $2", cancellationToken,
            project.Value, jobId, completedRows, result);

    public Task SetStatusAsync(ProjectId project, string jobId, string status, DateTimeOffset? startedAt, DateTimeOffset? endedAt, long? totalRows, string? error,
        CancellationToken cancellationToken) =>
        catalog.InTransactionAsync(async (connection, transaction) =>
        {
            var finished = JobStatuses.IsFinished(status);
            await PostgresCatalog.ExecuteAsync(connection, transaction,
                "UPDATE jobs SET status = $3, started_at = coalesce($4::bigint, started_at), ended_at = coalesce($5::bigint, ended_at), " +
                "total_rows = coalesce($6::bigint, total_rows), error = coalesce($7::text, error), " +
                "owner = CASE WHEN $8 THEN NULL ELSE owner END, lease_until = CASE WHEN $8 THEN NULL ELSE lease_until END " +
                "WHERE project_id = $1 AND job_id = $2", cancellationToken,
                project.Value, jobId, status, startedAt?.ToUnixTimeMilliseconds(), endedAt?.ToUnixTimeMilliseconds(), totalRows, error, finished);
            if (finished)
            {
                await PostgresCatalog.ExecuteAsync(connection, transaction, "DELETE FROM job_payloads WHERE project_id = $1 AND job_id = $2", cancellationToken,
                    project.Value, jobId);
            }
        }, cancellationToken);

    private static JobRecord Read(NpgsqlDataReader r) => new(
        r.GetString(0), ProjectId.Parse(r.GetString(1)), r.GetString(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
        r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), r.GetInt64(9), r.GetInt64(10), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(11)),
        PostgresCatalog.Time(r, 12), PostgresCatalog.Time(r, 13), r.IsDBNull(14) ? null : r.GetString(14), r.IsDBNull(15) ? null : r.GetString(15),
        r.IsDBNull(16) ? null : r.GetString(16));
}
