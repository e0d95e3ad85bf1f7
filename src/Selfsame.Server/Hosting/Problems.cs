using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Operations;

namespace Selfsame.Server.Hosting;

/// <summary>RFC 9457 problem details for the native API; the detail names the field at fault.</summary>
public static class Problems
{
    public static IResult Invalid(IReadOnlyList<FieldError> errors, int status = StatusCodes.Status400BadRequest) =>
        Results.Problem(
            statusCode: status,
            title: status == StatusCodes.Status400BadRequest ? "The request is not valid" : null,
            detail: string.Join("; ", errors.Take(5).Select(e => e.ToString())),
            extensions: new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { field = e.Field, message = e.Message }).ToList() });

    public static IResult Invalid(string field, string message, int status = StatusCodes.Status400BadRequest) =>
        Invalid([new FieldError(field, message)], status);

    public static IResult From(GraphException e) => e.Kind switch
    {
        GraphErrorKind.NotFound => Results.Problem(statusCode: 404, title: "Not found", detail: $"{e.Field}: {e.Message}",
            extensions: new Dictionary<string, object?> { ["errors"] = new[] { new { field = e.Field, message = e.Message } } }),
        GraphErrorKind.Conflict => Results.Problem(statusCode: 409, title: "Refused by the graph's rules", detail: $"{e.Field}: {e.Message}",
            extensions: new Dictionary<string, object?> { ["errors"] = new[] { new { field = e.Field, message = e.Message } } }),
        _ => Invalid(e.Field, e.Message),
    };

    /// <summary>The problem for an exception that a request's own content caused; null for anything else.</summary>
    public static IResult? ForRequestError(Exception e) => e switch
    {
        RequestValidationException v => Invalid(v.Errors),
        GraphException g => From(g),
        JsonException j => Invalid("(body)", $"malformed JSON: {j.Message}"),
        BadHttpRequestException b => Results.Problem(statusCode: b.StatusCode, detail: b.Message),
        _ => null,
    };

    /// <summary>The same problem as an object, for a result inside a batch response.</summary>
    public static object ForBatch(Exception e) => e switch
    {
        RequestValidationException v => new { status = 400, detail = v.Message, errors = v.Errors.Select(x => new { field = x.Field, message = x.Message }) },
        GraphException g => new { status = g.Kind switch { GraphErrorKind.NotFound => 404, GraphErrorKind.Conflict => 409, _ => 400 }, detail = $"{g.Field}: {g.Message}", errors = new[] { new { field = g.Field, message = g.Message } } },
        _ => new { status = 500, detail = "the operation failed inside the server; it was not applied", errors = Array.Empty<object>() },
    };
}
