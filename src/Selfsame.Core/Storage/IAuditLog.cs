using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>The project's audit log, as a write sees it.</summary>
public interface IAuditLog
{
    /// <summary>Appends to the project's audit log in this transaction: kept if and only if the write is.</summary>
    void AddAudit(string action, WriteOrigin origin, object detail);
}
