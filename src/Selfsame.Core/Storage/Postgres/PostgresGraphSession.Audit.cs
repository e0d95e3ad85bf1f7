using Selfsame.Graph;

namespace Selfsame.Storage.Postgres;

// The audit log (IAuditLog) and the change feed (IChangeLog).
internal sealed partial class PostgresGraphSession : IAuditLog, IChangeLog
{
    /// <summary>Numbered by a sequence inside the project's advisory lock, so that a project's numbers follow its commits.</summary>
    public void AddChange(string kind, WriteOrigin origin, string detailJson) =>
        Execute("INSERT INTO changes (project_id, seq, at, kind, surface, request_id, key_id, detail) VALUES ($1, nextval('change_seqs'), $2, $3, $4, $5::text, $6::text, $7)",
            _project, NowMs, kind, origin.Surface, origin.RequestId, origin.KeyId, detailJson);

    public void AddAudit(string action, WriteOrigin origin, object detail) =>
        Execute("INSERT INTO audit (project_id, audit_id, at, action, surface, request_id, key_id, detail, client_address) " +
                "VALUES ($1, nextval('audit_ids'), $2, $3, $4, $5::text, $6::text, $7, $8::text)",
            _project, NowMs, action, origin.Surface, origin.RequestId, origin.KeyId, System.Text.Json.JsonSerializer.Serialize(detail), origin.ClientAddress);
}
