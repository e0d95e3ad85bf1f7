using Selfsame.Graph;

namespace Selfsame.Storage.Postgres;

// The audit log (IAuditLog).
internal sealed partial class PostgresGraphSession : IAuditLog
{
    public void AddAudit(string action, WriteOrigin origin, object detail) =>
        Execute("INSERT INTO audit (project_id, audit_id, at, action, surface, request_id, key_id, detail, client_address) " +
                "VALUES ($1, nextval('audit_ids'), $2, $3, $4, $5::text, $6::text, $7, $8::text)",
            _project, NowMs, action, origin.Surface, origin.RequestId, origin.KeyId, System.Text.Json.JsonSerializer.Serialize(detail), origin.ClientAddress);
}
