using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// The prepared statements of one connection, by SQL text, run through SQLitePCLRaw (the layer under Microsoft.Data.Sqlite):
/// positional parameters (@p0, @p1, ... in order), no reader object per execution. The hot paths of the store execute
/// several statements per request, and this halves their cost against SqliteCommand (bench/README.md).
/// </summary>
internal sealed class SqliteStatements(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, (sqlite3_stmt Statement, int[] Indexes)> _statements = new(StringComparer.Ordinal);
    private readonly sqlite3 _db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");

    public SqliteConnection Connection { get; } = connection;

    /// <summary>The SQL of every statement prepared so far (for the query-plan test).</summary>
    internal IReadOnlyCollection<string> Texts => _statements.Keys;

    /// <summary>Runs a statement to its end; returns the number of rows it changed.</summary>
    public int Execute(string sql, params ReadOnlySpan<object?> values)
    {
        var statement = Bind(sql, values);
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
            }
            Check(rc, raw.SQLITE_DONE);
            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    /// <summary>The first column of the first row, or null when there is no row.</summary>
    public object? Scalar(string sql, params ReadOnlySpan<object?> values)
    {
        using var rows = Query(sql, values);
        return rows.Read() ? rows.GetValue(0) : null;
    }

    public Rows Query(string sql, params ReadOnlySpan<object?> values) => new(Bind(sql, values), this);

    /// <summary>
    /// Inserts <paramref name="rows"/> with as few statements as <paramref name="insert"/> allows (up to
    /// <see cref="SqliteMultiRowInsert.MaxRows"/> rows each); <paramref name="bind"/> binds one row's values in column order.
    /// </summary>
    public void InsertRows<T>(SqliteMultiRowInsert insert, string project, IReadOnlyList<T> rows, RowBinder<T> bind)
    {
        if (rows.Count == 0)
        {
            return;
        }
        var started = SqliteWriterTimings.Start();
        for (var start = 0; start < rows.Count; start += SqliteMultiRowInsert.MaxRows)
        {
            var count = Math.Min(SqliteMultiRowInsert.MaxRows, rows.Count - start);
            var statement = Prepared(insert.Text(count));
            try
            {
                var values = new RowValues(statement, this);
                values.Text(project);
                for (var i = start; i < start + count; i++)
                {
                    bind(ref values, rows[i]);
                }
                if (values.Next != 2 + count * insert.Columns)
                {
                    throw new InvalidOperationException($"bound {values.Next - 2} values for {count} rows of {insert.Columns} columns");
                }
                Check(raw.sqlite3_step(statement), raw.SQLITE_DONE);
            }
            finally
            {
                raw.sqlite3_reset(statement);
            }
        }
        SqliteWriterTimings.Add(insert.Phase, started);
    }

    /// <summary>Binds one row's values, in column order, to a multi-row statement.</summary>
    public delegate void RowBinder<in T>(ref RowValues values, T row);

    /// <summary>The values of a multi-row statement, bound one after another (the first is the project, ?1).</summary>
    public struct RowValues(sqlite3_stmt statement, SqliteStatements owner)
    {
        public int Next { get; private set; } = 1;

        public void Int(long value) => owner.Check(raw.sqlite3_bind_int64(statement, Next++, value), raw.SQLITE_OK);

        /// <summary>Text already in UTF-8; SQLite copies it, so the caller may reuse the buffer.</summary>
        public void Utf8(ReadOnlySpan<byte> value) => owner.Check(raw.sqlite3_bind_text(statement, Next++, value), raw.SQLITE_OK);

        public void Text(string? value) => owner.Check(value is null
            ? raw.sqlite3_bind_null(statement, Next++)
            : raw.sqlite3_bind_text(statement, Next++, value), raw.SQLITE_OK);
    }

    public void Dispose()
    {
        foreach (var (statement, _) in _statements.Values)
        {
            statement.Dispose();
        }
        _statements.Clear();
        Connection.Dispose();
    }

    private sqlite3_stmt Prepared(string sql)
    {
        if (!_statements.TryGetValue(sql, out var prepared))
        {
            Check(raw.sqlite3_prepare_v2(_db, sql, out var created), raw.SQLITE_OK);
            prepared = (created, []);
            _statements[sql] = prepared;
        }
        return prepared.Statement;
    }

    private sqlite3_stmt Bind(string sql, ReadOnlySpan<object?> values)
    {
        if (!_statements.TryGetValue(sql, out var prepared))
        {
            Check(raw.sqlite3_prepare_v2(_db, sql, out var created), raw.SQLITE_OK);
            // SQLite numbers parameters by first appearance; @pN is the N-th value whatever its place in the text.
            var indexes = new int[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                indexes[i] = raw.sqlite3_bind_parameter_index(created, "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (indexes[i] == 0)
                {
                    created.Dispose();
                    throw new ArgumentException($"the statement has no parameter @p{i}: {sql}");
                }
            }
            prepared = (created, indexes);
            _statements[sql] = prepared;
        }
        var (statement, map) = prepared;
        for (var i = 0; i < values.Length; i++)
        {
            var index = map[i];
            var rc = values[i] switch
            {
                null => raw.sqlite3_bind_null(statement, index),
                long l => raw.sqlite3_bind_int64(statement, index, l),
                int n => raw.sqlite3_bind_int64(statement, index, n),
                string s => raw.sqlite3_bind_text(statement, index, s),
                byte[] b => raw.sqlite3_bind_blob(statement, index, b),
                var other => throw new ArgumentException($"cannot bind a {other.GetType().Name}"),
            };
            Check(rc, raw.SQLITE_OK);
        }
        return statement;
    }

    private void Check(int rc, int expected)
    {
        if (rc != expected)
        {
            try
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
            catch (SqliteException e) when (SqliteErrors.Translate(e) is { } store)
            {
                throw store;
            }
        }
    }

    /// <summary>The rows of one execution; dispose to reset the statement for its next use.</summary>
    public readonly struct Rows(sqlite3_stmt statement, SqliteStatements owner) : IDisposable
    {
        public bool Read()
        {
            var rc = raw.sqlite3_step(statement);
            if (rc == raw.SQLITE_ROW)
            {
                return true;
            }
            owner.Check(rc, raw.SQLITE_DONE);
            return false;
        }

        public long GetInt64(int column) => raw.sqlite3_column_int64(statement, column);

        public string GetString(int column) => raw.sqlite3_column_text(statement, column).utf8_to_string();

        public bool IsDBNull(int column) => raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL;

        public object? GetValue(int column) => raw.sqlite3_column_type(statement, column) switch
        {
            raw.SQLITE_INTEGER => GetInt64(column),
            raw.SQLITE_TEXT => GetString(column),
            raw.SQLITE_FLOAT => raw.sqlite3_column_double(statement, column),
            raw.SQLITE_BLOB => raw.sqlite3_column_blob(statement, column).ToArray(),
            _ => null,
        };

        public void Dispose() => raw.sqlite3_reset(statement);
    }
}
