using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

// The look-ups of a group read together before its work runs (IGraphTransaction.ReadAhead).
internal sealed partial class SqliteGraphSession
{
    /// <summary>
    /// Reads the identifiers and insert_ids that the coming requests will look up, up to 64 a statement in key order, and
    /// keeps what the database holds (or that it holds nothing) until anything is written out: one statement per request
    /// and look-up was a large part of an event's cost.
    /// </summary>
    public void ReadAhead(IEnumerable<Identifier> identifiers, IEnumerable<string> insertIds)
    {
        var started = SqliteWriterTimings.Start();
        ReadIdentifiersAhead(identifiers);
        ReadInsertIdsAhead(insertIds);
        SqliteWriterTimings.Add(SqliteWriterTimings.ReadAhead, started);
    }

    private void ReadIdentifiersAhead(IEnumerable<Identifier> identifiers)
    {
        foreach (var byType in identifiers.Where(i => _pending.Identifier(i) is null && !_pending.KeptIdentifier(i, out _)).Distinct().GroupBy(i => i.Type))
        {
            foreach (var slice in byType.Select(i => i.Value).Order(StringComparer.Ordinal).Chunk(SqliteMultiRowInsert.MaxRows))
            {
                var found = new HashSet<string>(StringComparer.Ordinal);
                using (var reader = Sql.Query(IdentifiersAheadText(slice.Length), [_project, byType.Key, .. slice]))
                {
                    while (reader.Read())
                    {
                        var identifier = new Identifier(byType.Key, reader.GetString(0));
                        var record = new RecordId(reader.GetInt64(2));
                        if (identifier.Type == IdentifierTypes.UserId && !reader.IsDBNull(4))
                        {
                            _pending.KeepRecord(new RecordInfo(record, new ProfileId(reader.GetInt64(4)), Time(reader.GetInt64(5)), Time(reader.GetInt64(6)), Identified: true));
                        }
                        _pending.KeepIdentifier(identifier, new StoredIdentifier(identifier, reader.GetString(1), record, Time(reader.GetInt64(3))));
                        found.Add(identifier.Value);
                    }
                }
                // Absent only once the whole answer is read: a look-up that failed half-way must not leave "none" behind.
                foreach (var value in slice.Where(v => !found.Contains(v)))
                {
                    _pending.KeepIdentifier(new Identifier(byType.Key, value), null);
                }
            }
        }
    }

    private void ReadInsertIdsAhead(IEnumerable<string> insertIds)
    {
        var wanted = insertIds.Where(id => _pending.EventByInsertId(id) is null && !_pending.KeptInsertId(id, out _)).Distinct(StringComparer.Ordinal);
        foreach (var slice in wanted.Order(StringComparer.Ordinal).Chunk(SqliteMultiRowInsert.MaxRows))
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            using (var rows = Sql.Query(InsertIdsAheadText(slice.Length), [_project, .. slice]))
            {
                while (rows.Read())
                {
                    var stored = ReadEvent(rows);
                    _pending.KeepInsertId(stored.InsertId!, stored);
                    found.Add(stored.InsertId!);
                }
            }
            foreach (var insertId in slice.Where(id => !found.Contains(id)))
            {
                _pending.KeepInsertId(insertId, null);
            }
        }
    }

    private static readonly string?[] IdentifiersAheadTexts = new string?[SqliteMultiRowInsert.MaxRows + 1];
    private static readonly string?[] InsertIdsAheadTexts = new string?[SqliteMultiRowInsert.MaxRows + 1];

    private static string IdentifiersAheadText(int values) => IdentifiersAheadTexts[values] ??=
        "SELECT i.value, i.display, i.record_id, i.created_at, r.profile_id, r.created_at, r.last_seen_at FROM identifiers i " +
        "LEFT JOIN records r ON r.record_id = i.record_id AND r.project_id = i.project_id WHERE i.project_id = @p0 AND i.type = @p1 AND i.value IN (" +
        Parameters(2, values) + ")";

    private static string InsertIdsAheadText(int values) => InsertIdsAheadTexts[values] ??=
        $"SELECT {EventColumns} FROM events e WHERE e.project_id = @p0 AND e.insert_id IN (" + Parameters(1, values) + ")";

    private static string Parameters(int first, int count) =>
        string.Join(", ", Enumerable.Range(first, count).Select(i => "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}
