using Selfsame.Graph;
using Selfsame.Guardrails;

namespace Selfsame.Storage.Sqlite;

// The review queue and the suppressed values (IReviewReads, IReviewLog).
internal sealed partial class SqliteGraphSession : IReviewReads, IReviewLog
{
    public ReviewRef RecordRefusal(RefusalEntry refusal, WriteOrigin origin)
    {
        WritePending();
        var (a, b) = (refusal.A, refusal.B);
        using var row = Sql.Query(
            "INSERT INTO review_entries (project_id, entry_key, rule, status, reason, field, a_type, a_value, a_display, a_record, a_profile, " +
            "b_type, b_value, b_display, b_record, b_profile, surface, key_id, request_id, first_at, last_at, count) " +
            "VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12, @p13, @p14, @p15, @p16, @p17, @p18, @p19, @p19, 1) " +
            "ON CONFLICT (project_id, entry_key) WHERE status <> 'approved' DO UPDATE SET count = count + 1, last_at = excluded.last_at, " +
            "status = CASE WHEN status = 'refused' AND excluded.status = 'held' THEN 'held' ELSE status END RETURNING review_id, status",
            _project, refusal.Key, refusal.Rule, ReviewStatuses.Name(refusal.Status), refusal.Reason, refusal.Field,
            a.Identifier?.Type, a.Identifier?.Value, a.Display, a.Record?.Value, a.Profile?.Value,
            b.Identifier?.Type, b.Identifier?.Value, b.Display, b.Record?.Value, b.Profile?.Value,
            origin.Surface, origin.KeyId, origin.RequestId, Now.ToUnixTimeMilliseconds());
        row.Read();
        return new ReviewRef(row.GetInt64(0), ReviewStatuses.Parse(row.GetString(1))!.Value);
    }

    public void DecideReview(long id, ReviewStatus decision, WriteOrigin origin, LinkId? link)
    {
        WritePending();
        Sql.Execute("UPDATE review_entries SET status = @p2, decided_at = @p3, decided_by_key = @p4, decision_request = @p5, link_id = @p6 " +
                    "WHERE project_id = @p0 AND review_id = @p1",
            _project, id, ReviewStatuses.Name(decision), Now.ToUnixTimeMilliseconds(), origin.KeyId, origin.RequestId, link?.Value);
    }

    public ReviewEntry? GetReviewEntry(long id)
    {
        WritePending();
        using var rows = Sql.Query($"SELECT {ReviewRows.Columns} FROM review_entries WHERE project_id = @p0 AND review_id = @p1", _project, id);
        return rows.Read() ? ReadReview(rows) : null;
    }

    public ReviewEntry? FindReviewByLink(LinkId link)
    {
        WritePending();
        using var rows = Sql.Query($"SELECT {ReviewRows.Columns} FROM review_entries WHERE project_id = @p0 AND link_id = @p1", _project, link.Value);
        return rows.Read() ? ReadReview(rows) : null;
    }

    public IReadOnlyList<ReviewEntry> ListReviewEntries(ReviewQuery query)
    {
        WritePending();
        using var rows = Sql.Query(
            $"SELECT {ReviewRows.Columns} FROM review_entries WHERE project_id = @p0 AND review_id < @p1 " +
            "AND (@p2 IS NULL OR status = @p2) AND (@p3 IS NULL OR rule = @p3) " +
            "AND (@p4 IS NULL OR a_record IN (SELECT record_id FROM records WHERE project_id = @p0 AND profile_id = @p4) " +
            "OR b_record IN (SELECT record_id FROM records WHERE project_id = @p0 AND profile_id = @p4)) " +
            "AND (@p5 IS NULL OR (a_type = @p5 AND a_value = @p6) OR (b_type = @p5 AND b_value = @p6)) " +
            "ORDER BY review_id DESC LIMIT @p7",
            _project, query.Before ?? long.MaxValue, query.Status is { } status ? ReviewStatuses.Name(status) : null, query.Rule,
            query.Profile?.Value, query.Identifier?.Type, query.Identifier?.Value, (long)query.Limit);
        var result = new List<ReviewEntry>();
        while (rows.Read())
        {
            result.Add(ReadReview(rows));
        }
        return result;
    }

    /// <summary>Whether the bound project has any suppressed value, read once a unit of work: most have none, and then no value is looked up.</summary>
    private bool? _anySuppressed;

    public bool IsSuppressed(Identifier identifier)
    {
        _anySuppressed ??= Sql.Scalar("SELECT 1 FROM suppressed_identifiers WHERE project_id = @p0 LIMIT 1", _project) is not null;
        return _anySuppressed.Value
            && Sql.Scalar("SELECT 1 FROM suppressed_identifiers WHERE project_id = @p0 AND type = @p1 AND value_hash = @p2", _project, identifier.Type, Suppressions.Hash(identifier)) is not null;
    }

    public bool Suppress(Identifier identifier)
    {
        _anySuppressed = true;
        return Sql.Execute("INSERT INTO suppressed_identifiers (project_id, type, value_hash, at) VALUES (@p0, @p1, @p2, @p3) ON CONFLICT DO NOTHING",
            _project, identifier.Type, Suppressions.Hash(identifier), Now.ToUnixTimeMilliseconds()) > 0;
    }

    public bool LiftSuppression(Identifier identifier) =>
        Sql.Execute("DELETE FROM suppressed_identifiers WHERE project_id = @p0 AND type = @p1 AND value_hash = @p2", _project, identifier.Type, Suppressions.Hash(identifier)) > 0;

    /// <summary>Clears the identifiers that entries hold of a record being deleted: an entry keeps no value of a deleted record.</summary>
    private void ForgetReviewValues(RecordId record)
    {
        Sql.Execute("UPDATE review_entries SET a_value = NULL, a_display = NULL WHERE project_id = @p0 AND a_record = @p1 AND a_value IS NOT NULL", _project, record.Value);
        Sql.Execute("UPDATE review_entries SET b_value = NULL, b_display = NULL WHERE project_id = @p0 AND b_record = @p1 AND b_value IS NOT NULL", _project, record.Value);
    }

    private static ReviewEntry ReadReview(SqliteStatements.Rows r) =>
        ReviewRows.Read(i => r.IsDBNull(i) ? null : r.GetInt64(i), i => r.IsDBNull(i) ? null : r.GetString(i));
}
