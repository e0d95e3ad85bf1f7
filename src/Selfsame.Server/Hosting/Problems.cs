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
        _ when StoreUnavailable(e) => Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Store unavailable",
            detail: "store: the database cannot be reached; retry shortly (a write whose commit was under way when the connection broke may have been applied: send an insert_id with events)",
            extensions: new Dictionary<string, object?> { ["retry_after_seconds"] = 1 }),
        _ when Storage.Postgres.PostgresStore.IsDataError(e) => Invalid("(value)", "a value the store cannot keep (too long or malformed for its index)"),
        _ => null,
    };

    /// <summary>
    /// Whether an error means the database could not be reached (a PostgreSQL server down or restarting, a connection that
    /// broke, a timeout): answered 503 so that clients retry, rather than 500.
    /// </summary>
    public static bool StoreUnavailable(Exception e) => e switch
    {
        Npgsql.NpgsqlException { IsTransient: true } => true,
        Npgsql.PostgresException p => p.SqlState.StartsWith("57P", StringComparison.Ordinal) || p.SqlState.StartsWith("08", StringComparison.Ordinal)
            || p.SqlState is "55P03" or "40P01" or "40001" || p.SqlState.StartsWith("53", StringComparison.Ordinal),
        Npgsql.NpgsqlException { InnerException: System.Net.Sockets.SocketException or IOException or TimeoutException } => true,
        TimeoutException => true,
        AggregateException a => a.InnerExceptions.Any(StoreUnavailable),
        _ => e.InnerException is { } inner && StoreUnavailable(inner),
    };

    /// <summary>The same problem as an object, for a result inside a batch response.</summary>
    public static object ForBatch(Exception e) => e switch
    {
        RequestValidationException v => new { status = 400, detail = v.Message, errors = v.Errors.Select(x => new { field = x.Field, message = x.Message }) },
        GraphException g => new { status = g.Kind switch { GraphErrorKind.NotFound => 404, GraphErrorKind.Conflict => 409, _ => 400 }, detail = $"{g.Field}: {g.Message}", errors = new[] { new { field = g.Field, message = g.Message } } },
        _ when StoreUnavailable(e) => new { status = 503, detail = "store: the database cannot be reached; retry shortly", errors = Array.Empty<object>() },
        _ => new { status = 500, detail = "the operation failed inside the server; it was not applied", errors = Array.Empty<object>() },
    };
}
