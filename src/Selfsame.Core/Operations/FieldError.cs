namespace Selfsame.Operations;

/// <summary>What is wrong with one field of a request; <see cref="Field"/> is a path such as <c>identifiers[1].value</c>.</summary>
public sealed record FieldError(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>A request that cannot be applied as sent; nothing of it was written.</summary>
public sealed class RequestValidationException(IReadOnlyList<FieldError> errors)
    : Exception(errors.Count > 0 ? errors[0].ToString() : "invalid request")
{
    public IReadOnlyList<FieldError> Errors { get; } = errors;
}
