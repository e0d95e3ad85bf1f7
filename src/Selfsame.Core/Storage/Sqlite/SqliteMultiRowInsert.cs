using System.Globalization;
using System.Text;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// An INSERT of many rows in one statement: <c>{head} VALUES (?1, ?2, ...), (?1, ...) {tail}</c>, where ?1 is the project id
/// shared by every row and each row has <see cref="Columns"/> values of its own. One statement per
/// <see cref="MaxRows"/> rows costs SQLite one statement's set-up instead of one per row; the text for each row count is
/// built once.
/// </summary>
internal sealed class SqliteMultiRowInsert(string head, int columns, string tail = "")
{
    public const int MaxRows = 64;

    private readonly string?[] _texts = new string?[MaxRows + 1];

    public int Columns { get; } = columns;

    /// <summary>The phase its time is added to in <see cref="SqliteWriterTimings"/>: writing out, and the table (<c>INSERT INTO {table}</c>).</summary>
    public string Phase { get; } = $"{SqliteWriterTimings.WriteOut}: {head.Split(' ', 4)[2]}";

    public string Text(int rows) => _texts[rows] ??= Build(rows);

    private string Build(int rows)
    {
        var text = new StringBuilder(head).Append(" VALUES ");
        var next = 2;
        for (var row = 0; row < rows; row++)
        {
            text.Append(row == 0 ? "(?1" : ", (?1");
            for (var column = 0; column < Columns; column++)
            {
                text.Append(", ?").Append(next++.ToString(CultureInfo.InvariantCulture));
            }
            text.Append(')');
        }
        return text.Append(' ').Append(tail).ToString().TrimEnd();
    }
}
