namespace Selfsame.Operations;

/// <summary>
/// What is wrong with one field of a request; <see cref="Field"/> is a path such as <c>identifiers[1].value</c>.
/// <see cref="Code"/> is a surface's own name for the kind of fault, where its error envelope has one (MoEngage's
/// MissingAttributeError); only that surface's envelope reads it.
/// </summary>
public sealed record FieldError(string Field, string Message, string? Code = null)
{
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>A request that cannot be applied as sent; nothing of it was written.</summary>
public sealed class RequestValidationException(IReadOnlyList<FieldError> errors)
    : Exception(errors.Count > 0 ? errors[0].ToString() : "invalid request")
{
    public IReadOnlyList<FieldError> Errors { get; } = errors;

    /// <summary>One field at fault.</summary>
    public static RequestValidationException Of(string field, string message, string? code = null) => new([new FieldError(field, message, code)]);
}
