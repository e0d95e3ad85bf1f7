using Microsoft.Data.Sqlite;
using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

/// <summary>Projects and API keys in the SQLite file. Low volume: each call uses a pooled connection of its own.</summary>
internal sealed class SqliteCatalog(string connectionString, string readConnectionString) : IProjectCatalog
{
    public Task<Project?> GetProjectAsync(ProjectId id, CancellationToken cancellationToken) =>
        Task.FromResult(Query("SELECT project_id, name, created_at, settings FROM projects WHERE project_id = $id", ReadProject, ("$id", id.Value)).FirstOrDefault());

    public Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Project>>(Query("SELECT project_id, name, created_at, settings FROM projects ORDER BY project_id", ReadProject));

    public Task<bool> CreateProjectAsync(Project project, ApiKeyRecord? firstKey, CancellationToken cancellationToken)
    {
        var created = false;
        InTransaction(connection =>
        {
            using var insert = Command(connection, "INSERT INTO projects (project_id, name, created_at, settings) VALUES ($id, $name, $at, $settings) ON CONFLICT DO NOTHING",
                [("$id", project.Id.Value), ("$name", project.Name), ("$at", project.CreatedAt.ToUnixTimeMilliseconds()), ("$settings", project.Settings.ToJson())]);
            created = insert.ExecuteNonQuery() == 1;
            if (created && firstKey is not null)
            {
                using var key = Command(connection, InsertKey, KeyParameters(firstKey));
                key.ExecuteNonQuery();
            }
        });
        return Task.FromResult(created);
    }

    public Task UpdateSettingsAsync(ProjectId id, ProjectSettings settings, CancellationToken cancellationToken)
    {
        Execute("UPDATE projects SET settings = $settings WHERE project_id = $id", ("$id", id.Value), ("$settings", settings.ToJson()));
        return Task.CompletedTask;
    }

    private const string InsertKey = "INSERT INTO api_keys (key_id, project_id, role, secret_hash, name, created_at, permissions) VALUES ($id, $project, $role, $hash, $name, $at, $permissions)";

    public Task AddKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        Execute(InsertKey, KeyParameters(key));
        return Task.CompletedTask;
    }

    private static (string, object?)[] KeyParameters(ApiKeyRecord key) =>
        [("$id", key.KeyId), ("$project", key.Project.Value), ("$role", key.Role), ("$hash", key.SecretHash), ("$name", key.Name),
         ("$at", key.CreatedAt.ToUnixTimeMilliseconds()), ("$permissions", key.Permissions is null ? null : string.Join(' ', key.Permissions))];

    public Task<ApiKeyRecord?> FindKeyAsync(string keyId, CancellationToken cancellationToken) =>
        Task.FromResult(Query("SELECT key_id, project_id, role, secret_hash, name, created_at, revoked_at, expires_at, last_used_at, permissions FROM api_keys WHERE key_id = $id", ReadKey, ("$id", keyId)).FirstOrDefault());

    public Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(ProjectId project, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApiKeyRecord>>(Query(
            "SELECT key_id, project_id, role, secret_hash, name, created_at, revoked_at, expires_at, last_used_at, permissions FROM api_keys WHERE project_id = $project ORDER BY created_at, key_id",
            ReadKey, ("$project", project.Value)));

    public Task<bool> RevokeKeyAsync(ProjectId project, string keyId, DateTimeOffset at, CancellationToken cancellationToken) =>
        Task.FromResult(Execute("UPDATE api_keys SET revoked_at = coalesce(revoked_at, $at) WHERE project_id = $project AND key_id = $id",
            ("$project", project.Value), ("$id", keyId), ("$at", at.ToUnixTimeMilliseconds())) > 0);

    public Task<bool> ExpireKeyAsync(ProjectId project, string keyId, DateTimeOffset at, CancellationToken cancellationToken) =>
        Task.FromResult(Execute("UPDATE api_keys SET expires_at = $at WHERE project_id = $project AND key_id = $id AND revoked_at IS NULL",
            ("$project", project.Value), ("$id", keyId), ("$at", at.ToUnixTimeMilliseconds())) > 0);

    public Task TouchKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        Execute("UPDATE api_keys SET last_used_at = $at WHERE key_id = $id", ("$id", keyId), ("$at", at.ToUnixTimeMilliseconds()));
        return Task.CompletedTask;
    }

    public Task AddAuditAsync(ProjectId project, DateTimeOffset at, string action, WriteOrigin origin, object detail, CancellationToken cancellationToken)
    {
        Execute("INSERT INTO audit (project_id, at, action, surface, request_id, key_id, detail, client_address) VALUES ($project, $at, $action, $surface, $request, $key, $detail, $client)",
            ("$project", project.Value), ("$at", at.ToUnixTimeMilliseconds()), ("$action", action), ("$surface", origin.Surface),
            ("$request", origin.RequestId), ("$key", origin.KeyId), ("$detail", System.Text.Json.JsonSerializer.Serialize(detail)), ("$client", origin.ClientAddress));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(ProjectId project, long? before, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<AuditEntry>>(Query(
            "SELECT audit_id, at, action, surface, request_id, key_id, detail, client_address FROM audit WHERE project_id = $project AND audit_id < $before ORDER BY audit_id DESC LIMIT $limit",
            r => new AuditEntry(r.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetString(2), r.GetString(3),
                r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7)),
            ("$project", project.Value), ("$before", before ?? long.MaxValue), ("$limit", limit)));

    public Task<ChangePage> ListChangesAsync(ProjectId project, long after, int limit, CancellationToken cancellationToken)
    {
        // A row holds up to 64 changes: as many rows as changes asked for is enough, the first of them maybe partly read before.
        var rows = Query(
            "SELECT first_seq, at, surface, request_id, key_id, changes FROM changes WHERE project_id = $project AND last_seq > $after ORDER BY last_seq LIMIT $limit",
            r => (First: r.GetInt64(0), At: DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), Surface: r.GetString(2),
                RequestId: r.IsDBNull(3) ? null : r.GetString(3), KeyId: r.IsDBNull(4) ? null : r.GetString(4), Changes: r.GetString(5)),
            ("$project", project.Value), ("$after", after), ("$limit", limit));
        // The horizon after the rows: a prune between the two reads then answers a needless 410, never a page with a hole.
        var horizon = Query("SELECT pruned_through FROM change_horizons WHERE project_id = $project", r => r.GetInt64(0), ("$project", project.Value));
        var changes = new List<ChangeEntry>(limit);
        foreach (var row in rows)
        {
            if (changes.Count == limit)
            {
                break;
            }
            using var document = System.Text.Json.JsonDocument.Parse(row.Changes);
            var seq = row.First;
            foreach (var change in document.RootElement.EnumerateArray())
            {
                if (seq > after && changes.Count < limit)
                {
                    changes.Add(new ChangeEntry(seq, row.At, change.GetProperty("kind").GetString()!, row.Surface, row.RequestId, row.KeyId,
                        change.GetProperty("detail").GetRawText()));
                }
                seq++;
            }
        }
        return Task.FromResult(new ChangePage(changes, horizon.Count == 0 ? 0 : horizon[0]));
    }

    public Task<int> PruneChangesAsync(ProjectId project, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var pruned = 0;
        InTransaction(connection =>
        {
            using var highest = Command(connection, "SELECT max(last_seq) FROM changes WHERE project_id = $project AND at < $before",
                [("$project", project.Value), ("$before", before.ToUnixTimeMilliseconds())]);
            if (highest.ExecuteScalar() is not long through)
            {
                return;
            }
            // Every change up to the highest one made before the cut, so that the feed keeps no hole a cursor could skip.
            // A row holds the changes first_seq to last_seq, each number one change.
            using var count = Command(connection, "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM changes WHERE project_id = $project AND last_seq <= $through",
                [("$project", project.Value), ("$through", through)]);
            pruned = (int)(long)count.ExecuteScalar()!;
            using var delete = Command(connection, "DELETE FROM changes WHERE project_id = $project AND last_seq <= $through", [("$project", project.Value), ("$through", through)]);
            delete.ExecuteNonQuery();
            using var horizon = Command(connection,
                "INSERT INTO change_horizons (project_id, pruned_through) VALUES ($project, $through) " +
                "ON CONFLICT (project_id) DO UPDATE SET pruned_through = max(pruned_through, excluded.pruned_through)",
                [("$project", project.Value), ("$through", through)]);
            horizon.ExecuteNonQuery();
        });
        return Task.FromResult(pruned);
    }

    private static Project ReadProject(SqliteDataReader r) =>
        new(ProjectId.Parse(r.GetString(0)), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), ProjectSettings.FromJson(r.GetString(3)));

    private static ApiKeyRecord ReadKey(SqliteDataReader r) =>
        new(r.GetString(0), ProjectId.Parse(r.GetString(1)), r.GetString(2), (byte[])r.GetValue(3), r.IsDBNull(4) ? null : r.GetString(4),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), Time(r, 6), Time(r, 7), Time(r, 8),
            r.IsDBNull(9) ? null : r.GetString(9).Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static DateTimeOffset? Time(SqliteDataReader r, int column) =>
        r.IsDBNull(column) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(column));

    internal List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        try
        {
            using var connection = SqliteStore.Open(readConnectionString, readOnly: true);
            using var command = Command(connection, sql, parameters);
            using var reader = command.ExecuteReader();
            var result = new List<T>();
            while (reader.Read())
            {
                result.Add(read(reader));
            }
            return result;
        }
        catch (SqliteException e) when (SqliteErrors.Translate(e) is { } store)
        {
            throw store;
        }
    }

    /// <summary>Runs <paramref name="work"/> on one write connection in one immediate transaction.</summary>
    internal void InTransaction(Action<SqliteConnection> work)
    {
        try
        {
            using var connection = SqliteStore.Open(connectionString, readOnly: false);
            using var transaction = connection.BeginTransaction(deferred: false);
            work(connection);
            transaction.Commit();
        }
        catch (SqliteException e) when (SqliteErrors.Translate(e) is { } store)
        {
            throw store;
        }
    }

    internal int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        try
        {
            using var connection = SqliteStore.Open(connectionString, readOnly: false);
            using var command = Command(connection, sql, parameters);
            return command.ExecuteNonQuery();
        }
        catch (SqliteException e) when (SqliteErrors.Translate(e) is { } store)
        {
            throw store;
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }
}
