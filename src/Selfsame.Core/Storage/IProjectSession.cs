using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>What every read and write of a session is scoped to: one project, with its settings.</summary>
public interface IProjectSession
{
    ProjectId Project { get; }
    ProjectSettings Settings { get; }
}
