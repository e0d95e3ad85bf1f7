using Microsoft.Data.Sqlite;

namespace Selfsame.Storage.Sqlite;

/// <summary>Applies the numbered scripts in Migrations/ (embedded) that the database has not seen, in order, each in its own transaction.</summary>
internal static class SqliteMigrations
{
    public static IReadOnlyList<(int Version, string Name, string Sql)> Scripts { get; } = MigrationScripts.Load("Selfsame.Storage.Sqlite.Migrations.");

    /// <summary>Applies the scripts not applied yet, up to and including <paramref name="upTo"/> (tests stop short to migrate data).</summary>
    public static void Apply(SqliteConnection connection, TimeProvider time, int upTo = int.MaxValue)
    {
        Execute(connection, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
        foreach (var (version, name, sql) in Scripts.Where(s => s.Version <= upTo))
        {
            Execute(connection, "BEGIN IMMEDIATE");
            try
            {
                using var check = connection.CreateCommand();
                check.CommandText = "SELECT count(*) FROM schema_migrations WHERE version = $v";
                check.Parameters.AddWithValue("$v", version);
                if ((long)check.ExecuteScalar()! > 0)
                {
                    Execute(connection, "COMMIT");
                    continue;
                }
                Execute(connection, sql);
                using var record = connection.CreateCommand();
                record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($v, $n, $t)";
                record.Parameters.AddWithValue("$v", version);
                record.Parameters.AddWithValue("$n", name);
                record.Parameters.AddWithValue("$t", time.GetUtcNow().ToUnixTimeMilliseconds());
                record.ExecuteNonQuery();
                Execute(connection, "COMMIT");
            }
            catch
            {
                Execute(connection, "ROLLBACK");
                throw;
            }
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
