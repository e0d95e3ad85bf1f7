using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

// The audit log (IAuditLog).
internal sealed partial class SqliteGraphSession : IAuditLog
{
    public void AddAudit(string action, WriteOrigin origin, object detail)
    {
        WritePending();
        Sql.Execute("INSERT INTO audit (project_id, at, action, surface, request_id, key_id, detail, client_address) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7)",
            _project, Now.ToUnixTimeMilliseconds(), action, origin.Surface, origin.RequestId, origin.KeyId, System.Text.Json.JsonSerializer.Serialize(detail), origin.ClientAddress);
    }
}
