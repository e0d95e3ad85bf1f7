using Microsoft.Data.Sqlite;

namespace Selfsame.Storage.Sqlite;

/// <summary>Prepared commands of one connection, by SQL text; parameters are @p0, @p1, ... in order.</summary>
internal sealed class SqliteStatements(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteConnection Connection { get; } = connection;

    public SqliteCommand Get(string sql, params ReadOnlySpan<object?> values)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters.Add(new SqliteParameter("@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), null));
            }
            command.Prepare();
            _commands[sql] = command;
        }
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
        return command;
    }

    public int Execute(string sql, params ReadOnlySpan<object?> values) => Get(sql, values).ExecuteNonQuery();

    public object? Scalar(string sql, params ReadOnlySpan<object?> values) => Get(sql, values).ExecuteScalar();

    public void Raw(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }
        _commands.Clear();
        Connection.Dispose();
    }
}
