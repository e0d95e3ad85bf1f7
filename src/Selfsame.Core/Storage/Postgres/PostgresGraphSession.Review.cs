using Npgsql;
using Selfsame.Graph;
using Selfsame.Guardrails;

namespace Selfsame.Storage.Postgres;

// The review queue and the suppressed values (IReviewReads, IReviewLog).
internal sealed partial class PostgresGraphSession : IReviewReads, IReviewLog
{
    public ReviewRef RecordRefusal(RefusalEntry refusal, WriteOrigin origin)
    {
        var (a, b) = (refusal.A, refusal.B);
        return List(
            "INSERT INTO review_entries (project_id, review_id, entry_key, rule, status, reason, field, a_type, a_value, a_display, a_record, a_profile, " +
            "b_type, b_value, b_display, b_record, b_profile, surface, key_id, request_id, first_at, last_at, count) " +
            "VALUES ($1, nextval('review_ids'), $2, $3, $4, $5, $6, $7::text, $8::text, $9::text, $10::bigint, $11::bigint, $12::text, $13::text, $14::text, " +
            "$15::bigint, $16::bigint, $17, $18::text, $19::text, $20, $20, 1) " +
            "ON CONFLICT (project_id, entry_key) WHERE status <> 'approved' DO UPDATE SET count = review_entries.count + 1, last_at = excluded.last_at, " +
            "status = CASE WHEN review_entries.status = 'refused' AND excluded.status = 'held' THEN 'held' ELSE review_entries.status END RETURNING review_id, status",
            r => new ReviewRef(r.GetInt64(0), ReviewStatuses.Parse(r.GetString(1))!.Value),
            _project, refusal.Key, refusal.Rule, ReviewStatuses.Name(refusal.Status), refusal.Reason, refusal.Field,
            a.Identifier?.Type, a.Identifier?.Value, a.Display, a.Record?.Value, a.Profile?.Value,
            b.Identifier?.Type, b.Identifier?.Value, b.Display, b.Record?.Value, b.Profile?.Value,
            origin.Surface, origin.KeyId, origin.RequestId, NowMs)[0];
    }

    public void DecideReview(long id, ReviewStatus decision, WriteOrigin origin, LinkId? link) =>
        Execute("UPDATE review_entries SET status = $3, decided_at = $4, decided_by_key = $5::text, decision_request = $6::text, link_id = $7::bigint " +
                "WHERE project_id = $1 AND review_id = $2",
            _project, id, ReviewStatuses.Name(decision), NowMs, origin.KeyId, origin.RequestId, link?.Value);

    public ReviewEntry? GetReviewEntry(long id) =>
        List($"SELECT {ReviewRows.Columns} FROM review_entries WHERE project_id = $1 AND review_id = $2", ReadReview, _project, id).FirstOrDefault();

    public ReviewEntry? FindReviewByLink(LinkId link) =>
        List($"SELECT {ReviewRows.Columns} FROM review_entries WHERE project_id = $1 AND link_id = $2", ReadReview, _project, link.Value).FirstOrDefault();

    public IReadOnlyList<ReviewEntry> ListReviewEntries(ReviewQuery query) =>
        List($"SELECT {ReviewRows.Columns} FROM review_entries WHERE project_id = $1 AND review_id < $2 " +
             "AND ($3::text IS NULL OR status = $3::text) AND ($4::text IS NULL OR rule = $4::text) " +
             "AND ($5::bigint IS NULL OR a_record IN (SELECT record_id FROM records WHERE project_id = $1 AND profile_id = $5::bigint) " +
             "OR b_record IN (SELECT record_id FROM records WHERE project_id = $1 AND profile_id = $5::bigint)) " +
             "AND ($6::text IS NULL OR (a_type = $6::text AND a_value = $7::text) OR (b_type = $6::text AND b_value = $7::text)) " +
             "ORDER BY review_id DESC LIMIT $8",
            ReadReview, _project, query.Before ?? long.MaxValue, query.Status is { } status ? ReviewStatuses.Name(status) : null, query.Rule,
            query.Profile?.Value, query.Identifier?.Type, query.Identifier?.Value, (long)query.Limit);

    /// <summary>Whether the project has any suppressed value, read once a session: most have none, and then no value is looked up.</summary>
    private bool? _anySuppressed;

    public bool IsSuppressed(Identifier identifier) =>
        (_anySuppressed ??= Scalar("SELECT 1 FROM suppressed_identifiers WHERE project_id = $1 LIMIT 1", _project) is not null) &&
        Scalar("SELECT 1 FROM suppressed_identifiers WHERE project_id = $1 AND type = $2 AND value_hash = $3", _project, identifier.Type, Suppressions.Hash(identifier)) is not null;

    public bool Suppress(Identifier identifier)
    {
        _anySuppressed = true;
        return Execute("INSERT INTO suppressed_identifiers (project_id, type, value_hash, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            _project, identifier.Type, Suppressions.Hash(identifier), NowMs) > 0;
    }

    public bool LiftSuppression(Identifier identifier) =>
        Execute("DELETE FROM suppressed_identifiers WHERE project_id = $1 AND type = $2 AND value_hash = $3", _project, identifier.Type, Suppressions.Hash(identifier)) > 0;

    /// <summary>Clears the identifiers that entries hold of a record being deleted: an entry keeps no value of a deleted record.</summary>
    private void ForgetReviewValues(RecordId record)
    {
        Execute("UPDATE review_entries SET a_value = NULL, a_display = NULL WHERE project_id = $1 AND a_record = $2 AND a_value IS NOT NULL", _project, record.Value);
        Execute("UPDATE review_entries SET b_value = NULL, b_display = NULL WHERE project_id = $1 AND b_record = $2 AND b_value IS NOT NULL", _project, record.Value);
    }

    private static ReviewEntry ReadReview(NpgsqlDataReader r) =>
        ReviewRows.Read(i => r.IsDBNull(i) ? null : r.GetInt64(i), i => r.IsDBNull(i) ? null : r.GetString(i));
}
