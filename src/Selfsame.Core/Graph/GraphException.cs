namespace Selfsame.Graph;

public enum GraphErrorKind
{
    /// <summary>The request names something that does not exist.</summary>
    NotFound,

    /// <summary>The request is well formed but the graph's rules refuse it.</summary>
    Conflict,

    /// <summary>The request itself is malformed.</summary>
    Invalid,
}

/// <summary>A write or read the graph refuses; <see cref="Field"/> names the part of the request at fault.</summary>
public sealed class GraphException(GraphErrorKind kind, string field, string message) : Exception(message)
{
    public GraphErrorKind Kind { get; } = kind;
    public string Field { get; } = field;
}
