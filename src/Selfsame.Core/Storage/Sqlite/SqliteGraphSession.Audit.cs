using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

// The audit log (IAuditLog) and the change feed (IChangeLog).
internal sealed partial class SqliteGraphSession : IAuditLog, IChangeLog
{
    /// <summary>Held back with the write's new rows and written with them, many a statement; numbered from the file's counter.</summary>
    public void AddChange(string kind, WriteOrigin origin, string detailJson) =>
        _pending.AddChange(new SqlitePendingWrites.PendingChange(Next("change_seq"), Now.ToUnixTimeMilliseconds(), kind, origin.Surface, origin.RequestId,
            origin.KeyId, detailJson));

    public void AddAudit(string action, WriteOrigin origin, object detail)
    {
        WritePending();
        Sql.Execute("INSERT INTO audit (project_id, at, action, surface, request_id, key_id, detail, client_address) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7)",
            _project, Now.ToUnixTimeMilliseconds(), action, origin.Surface, origin.RequestId, origin.KeyId, System.Text.Json.JsonSerializer.Serialize(detail), origin.ClientAddress);
    }
}
