using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Companies;
using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Jobs;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;

namespace Selfsame.Server.Userpilot;

/// <summary>
/// Userpilot's HTTP API under /userpilot: identify (users and companies), track, bulk identify as durable jobs (a JSON
/// array or an NDJSON file), job monitoring, and user deletion as a job. <c>Authorization: Token KEY</c>; errors in
/// Userpilot's shape <c>{"errors":[{"details","error","error_code","message"}]}</c>.
/// </summary>
public static class UserpilotApi
{
    public const string Surface = "userpilot";
    public const string ApiVersion = "2020-09-22";
    public const int MaxRows = 10_000;
    public const long MaxFileBytes = 50L * 1024 * 1024;
    public const int MaxJobErrorsShown = 1000;

    /// <summary>Userpilot's documented real-time limits, per project: 600 identify and 600 track requests a minute.</summary>
    public static readonly RateLimitRule IdentifyFamily = new("userpilot.identify", 600, TimeSpan.FromMinutes(1));
    public static readonly RateLimitRule TrackFamily = new("userpilot.track", 600, TimeSpan.FromMinutes(1));

    private static readonly Dictionary<string, string> JobTypes = new(StringComparer.Ordinal)
    {
        [UserpilotJobs.UsersKind] = "users_bulk_identify",
        [UserpilotJobs.CompaniesKind] = "companies_bulk_identify",
        [UserpilotJobs.DeleteUsersKind] = "users_delete",
    };

    public static IEndpointRouteBuilder MapUserpilotApi(this IEndpointRouteBuilder app)
    {
        var userpilot = app.MapGroup("/userpilot/v1").WithTags("Userpilot").ExcludeFromDescription();
        userpilot.MapPost("/identify", IdentifyAsync).Userpilot(Roles.Write, IdentifyFamily, versionRequired: true);
        userpilot.MapPost("/companies/identify", IdentifyCompanyAsync).Userpilot(Roles.Write, IdentifyFamily, versionRequired: true);
        userpilot.MapPost("/track", TrackAsync).Userpilot(Roles.Write, TrackFamily, versionRequired: true);
        userpilot.MapPost("/users/bulk_identify", (HttpContext c, JobRunner r, TimeProvider t) => BulkAsync(c, r, t, "users", UserpilotJobs.UsersKind))
            .Userpilot(Roles.Write, null, versionRequired: false);
        userpilot.MapPost("/companies/bulk_identify", (HttpContext c, JobRunner r, TimeProvider t) => BulkAsync(c, r, t, "companies", UserpilotJobs.CompaniesKind))
            .Userpilot(Roles.Write, null, versionRequired: false);
        userpilot.MapDelete("/users", DeleteUsersAsync).Userpilot(Roles.Write, null, versionRequired: true);
        userpilot.MapGet("/background_jobs", ListJobsAsync).Userpilot(Roles.Read, null, versionRequired: false);
        userpilot.MapGet("/background_jobs/{jobId}", GetJobAsync).Userpilot(Roles.Read, null, versionRequired: false);
        return app;
    }

    /// <summary>Userpilot's error body.</summary>
    internal static IResult Error(int status, string error, string code, string message, string? details = null) =>
        Results.Json(new Dictionary<string, object>
        {
            ["errors"] = new[] { new Dictionary<string, string?> { ["details"] = details ?? message, ["error"] = error, ["error_code"] = code, ["message"] = message } },
        }, statusCode: status);

    private static IResult Invalid(string field, string message) => Error(400, "Bad Request", "invalid_payload", $"{field}: {message}", field);

    /// <summary>Checks <c>Token KEY</c>, the role, X-API-Version where Userpilot requires it, and the family's rate limit.</summary>
    private static RouteHandlerBuilder Userpilot(this RouteHandlerBuilder builder, string role, RateLimitRule? family, bool versionRequired) =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var header = http.Request.Headers.Authorization.ToString();
            var presented = header.StartsWith("Token ", StringComparison.OrdinalIgnoreCase) ? header[6..] : null;
            var check = await http.RequestServices.GetRequiredService<KeyAuthentication>().CheckAsync(presented, role, http.RequestAborted);
            switch (check.Result)
            {
                case KeyCheckResult.Missing or KeyCheckResult.Invalid:
                    return Error(401, "Unauthorized", "invalid_api_key", "Unauthorized - Invalid API key",
                        header.Length == 0 ? "send 'Authorization: Token YOUR_API_KEY'" : "the key after 'Token ' is not a live key");
                case KeyCheckResult.Forbidden:
                    return Error(403, "Forbidden", "forbidden", $"Forbidden - {check.Why(role)}");
            }
            if (versionRequired)
            {
                var version = http.Request.Headers["X-API-Version"].ToString();
                if (version.Length == 0)
                {
                    return Error(400, "Bad Request", "missing_api_version", $"X-API-Version header is required: send 'X-API-Version: {ApiVersion}'", "X-API-Version");
                }
                if (version != ApiVersion)
                {
                    return Error(400, "Bad Request", "unsupported_api_version", $"X-API-Version '{version}' is not supported: send '{ApiVersion}'", "X-API-Version");
                }
            }
            if (family is not null)
            {
                var time = http.RequestServices.GetRequiredService<TimeProvider>();
                var decision = http.RequestServices.GetRequiredService<RateLimits>().Acquire(check.Caller!.Project, family);
                decision.WriteHeaders(http.Response, time.GetUtcNow());
                if (!decision.Admitted)
                {
                    return Error(429, "Too Many Requests", "rate_limited", $"Too Many Requests - at most {decision.Limit} a minute; back off and retry");
                }
            }
            http.Items[KeyAuthentication.ItemKey] = check.Caller;
            return await next(context);
        });

    private static WriteOrigin Origin(HttpContext context) => new(Surface, context.RequestId(), context.Caller().KeyId);

    /// <summary>Reads a JSON body (within <paramref name="maxBytes"/>) and runs <paramref name="handle"/>, answering bad input in Userpilot's shape.</summary>
    private static async Task<IResult> WithBodyAsync(HttpContext context, long? maxBytes, Func<JsonElement, ProjectSettings, Task<IResult>> handle)
    {
        var project = await context.RequestServices.GetRequiredService<Projects>().GetAsync(context.Caller().Project, context.RequestAborted);
        try
        {
            using var body = await JsonBody.ReadAsync(context.Request, context.RequestAborted, maxBytes);
            return body.RootElement.ValueKind != JsonValueKind.Object
                ? Invalid("(body)", "expected a JSON object")
                : await handle(body.RootElement, project!.Settings);
        }
        catch (UserpilotInvalid e)
        {
            return Invalid(e.Field, e.Message);
        }
        catch (RequestValidationException e)
        {
            return Invalid(e.Errors[0].Field, e.Errors[0].Message);
        }
        catch (JsonException e)
        {
            return Invalid("(body)", $"not valid JSON ({e.Message})");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = maxBytes ?? context.RequestServices.GetRequiredService<SelfsameOptions>().MaxRequestBodyBytes;
            return Error(413, "Payload Too Large", "payload_too_large", $"the body is larger than {limit} bytes");
        }
        catch (BadHttpRequestException e)
        {
            return Error(e.StatusCode, "Bad Request", e.StatusCode == 415 ? "unsupported_media_type" : "bad_request", e.Message);
        }
    }

    private static Task<IResult> IdentifyAsync(HttpContext context, IdentityEngine engine) =>
        WithBodyAsync(context, null, async (root, settings) =>
        {
            var row = UserpilotRows.User(root, "", settings);
            await engine.WriteAsync(context.Caller().Project, tx =>
            {
                row.Apply(tx, Origin(context));
                return true;
            }, context.RequestAborted);
            return Results.StatusCode(202);
        });

    private static Task<IResult> IdentifyCompanyAsync(HttpContext context, IdentityEngine engine) =>
        WithBodyAsync(context, null, async (root, _) =>
        {
            var (company, metadata) = UserpilotRows.Company(root, "");
            await engine.WriteAsync(context.Caller().Project, tx =>
            {
                CompanyRules.Identify(tx, company, metadata);
                return true;
            }, context.RequestAborted);
            return Results.StatusCode(202);
        });

    private static Task<IResult> TrackAsync(HttpContext context, IdentityEngine engine, TimeProvider time) =>
        WithBodyAsync(context, null, async (root, settings) =>
        {
            var userId = UserpilotRows.RequiredId(root, "user_id", "", IdentifierNormalizer.MaxValueLength);
            var user = IdentifierNormalizer.TryNormalize(IdentifierTypes.UserId, userId, settings, out var error) ?? throw new UserpilotInvalid("user_id", error!);
            var name = UserpilotRows.RequiredId(root, "event_name", "");
            if (name.Length > OperationReader.MaxNameLength)
            {
                throw new UserpilotInvalid("event_name", $"at most {OperationReader.MaxNameLength} characters");
            }
            var metadata = "{}";
            if (root.TryGetProperty("metadata", out var given) && given.ValueKind != JsonValueKind.Null)
            {
                metadata = given.ValueKind == JsonValueKind.Object ? given.GetRawText() : throw new UserpilotInvalid("metadata", "expected an object");
            }
            var identity = new IdentifyCommand(new IdentifierInput(user, userId, "user_id"), [], new Dictionary<string, PropertyValue>(),
                new Dictionary<string, PropertyValue>(), []);
            await engine.WriteAsync(context.Caller().Project, tx => IdentityGraph.Track(tx, new TrackCommand(identity, name, time.GetUtcNow(), metadata, null), Origin(context)),
                context.RequestAborted);
            return Results.StatusCode(202);
        });

    /// <summary>
    /// A bulk identify: a JSON body with an array (<paramref name="arrayName"/>, every row checked before the job is
    /// accepted) or a multipart form with an NDJSON part named <c>file</c> (rows checked as the job runs; a bad row fails
    /// alone). Either way at most 10,000 rows; a file at most 50 MB. The job is stored before the answer.
    /// </summary>
    private static async Task<IResult> BulkAsync(HttpContext context, JobRunner runner, TimeProvider time, string arrayName, string kind)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = MaxFileBytes + 64 * 1024;
        }
        if (context.Request.HasFormContentType)
        {
            return await FileAsync(context, runner, time, kind);
        }
        return await WithBodyAsync(context, MaxFileBytes, async (root, settings) =>
        {
            if (!root.TryGetProperty(arrayName, out var rows) || rows.ValueKind != JsonValueKind.Array)
            {
                throw new UserpilotInvalid(arrayName, $"is required: an array of {(arrayName == "users" ? "user" : "company")} objects");
            }
            if (rows.GetArrayLength() is 0 or > MaxRows)
            {
                throw new UserpilotInvalid(arrayName, $"holds {rows.GetArrayLength()} rows; a request holds 1 to {MaxRows:N0}");
            }
            var payload = new StringBuilder();
            var i = 0;
            foreach (var row in rows.EnumerateArray())
            {
                var path = $"{arrayName}[{i++}]";
                if (kind == UserpilotJobs.UsersKind)
                {
                    UserpilotRows.User(row, path, settings);
                }
                else
                {
                    UserpilotRows.Company(row, path);
                }
                // One compact line per row: a row sent indented must not span lines of the job's NDJSON payload.
                payload.Append(JsonSerializer.Serialize(row)).Append('\n');
            }
            var job = await runner.SubmitAsync(context.Caller().Project, kind, Surface, null, Encoding.UTF8.GetBytes(payload.ToString()),
                context.Caller().KeyId, time, context.RequestAborted);
            return Results.Json(Job(job, null), statusCode: 202);
        });
    }

    private static async Task<IResult> FileAsync(HttpContext context, JobRunner runner, TimeProvider time, string kind)
    {
        // Answered before the body is read: a client that sent Expect: 100-continue (curl does for large files) sends nothing.
        if (context.Request.ContentLength > MaxFileBytes + 64 * 1024)
        {
            return Error(413, "Payload Too Large", "file_too_large", $"the file is larger than {MaxFileBytes / 1024 / 1024} MB");
        }
        IFormFile? file;
        try
        {
            var form = await context.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = MaxFileBytes, ValueLengthLimit = 1024 * 1024 }, context.RequestAborted);
            file = form.Files.GetFile("file");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Error(413, "Payload Too Large", "file_too_large", $"the file is larger than {MaxFileBytes / 1024 / 1024} MB");
        }
        catch (InvalidDataException e) when (e.Message.Contains("Multipart body length limit", StringComparison.Ordinal))
        {
            return Error(413, "Payload Too Large", "file_too_large", $"the file is larger than {MaxFileBytes / 1024 / 1024} MB");
        }
        catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
        {
            return Invalid("(body)", $"not a readable multipart/form-data body ({e.Message})");
        }
        if (file is null)
        {
            return Invalid("file", "a multipart/form-data part named 'file' with an NDJSON file is required");
        }
        if (file.Length > MaxFileBytes)
        {
            return Error(413, "Payload Too Large", "file_too_large", $"the file is larger than {MaxFileBytes / 1024 / 1024} MB");
        }
        var payload = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(payload, context.RequestAborted);
        }
        if (!System.Text.Unicode.Utf8.IsValid(payload))
        {
            return Invalid("file", "is not UTF-8 text");
        }
        var rows = JobProcessor.Lines(payload).LongCount();
        if (rows is 0 or > MaxRows)
        {
            return Invalid("file", $"holds {rows:N0} rows; a file holds 1 to {MaxRows:N0}");
        }
        var filename = new string([.. file.FileName.Where(c => !char.IsControl(c))]);
        var job = await runner.SubmitAsync(context.Caller().Project, kind, Surface, filename.Length == 0 ? null : filename[..Math.Min(filename.Length, 255)], payload,
            context.Caller().KeyId, time, context.RequestAborted);
        return Results.Json(Job(job, null), statusCode: 202);
    }

    private static Task<IResult> DeleteUsersAsync(HttpContext context, JobRunner runner, TimeProvider time) =>
        WithBodyAsync(context, MaxFileBytes, async (root, _) =>
        {
            if (!root.TryGetProperty("users", out var users) || users.ValueKind != JsonValueKind.Array || users.GetArrayLength() is 0 or > MaxRows
                || users.EnumerateArray().Any(u => UserpilotJobs.DeleteUsers.UserId(u) is null))
            {
                throw new UserpilotInvalid("users", $"is required: an array of 1 to {MaxRows:N0} user ids (strings or numbers, as identify takes them, without NUL)");
            }
            var payload = string.Concat(users.EnumerateArray().Select(u => u.GetRawText() + "\n"));
            var job = await runner.SubmitAsync(context.Caller().Project, UserpilotJobs.DeleteUsersKind, Surface, null, Encoding.UTF8.GetBytes(payload),
                context.Caller().KeyId, time, context.RequestAborted);
            return Results.Json(Job(job, null), statusCode: 202);
        });

    private static async Task<IResult> ListJobsAsync(HttpContext context, Storage.IGraphStore store)
    {
        var jobs = await store.Jobs.ListAsync(context.Caller().Project, 100, context.RequestAborted, [.. JobTypes.Keys]);
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        return Results.Json(jobs.Select(j => Job(j, null, now)).ToList());
    }

    private static async Task<IResult> GetJobAsync(HttpContext context, Storage.IGraphStore store, string jobId)
    {
        var job = await store.Jobs.GetAsync(context.Caller().Project, jobId, context.RequestAborted);
        if (job is null || !JobTypes.ContainsKey(job.Kind))
        {
            return Error(404, "Not Found", "job_not_found", $"no background job '{jobId}' in this project");
        }
        var failed = await store.Jobs.ListErrorsAsync(job.Project, job.JobId, 0, MaxJobErrorsShown, context.RequestAborted);
        return Results.Json(Job(job, failed, context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow()));
    }

    /// <summary>A job as Userpilot describes one: both the prose page's fields and the OpenAPI job object's, plus the failed rows.</summary>
    private static Dictionary<string, object?> Job(JobRecord job, IReadOnlyList<JobRowError>? failed, DateTimeOffset? now = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["job_id"] = job.JobId,
            ["status"] = job.Status,
            ["submitted_at"] = job.SubmittedAt,
            ["type"] = JobTypes.GetValueOrDefault(job.Kind, job.Kind),
            ["filename"] = job.Filename,
            ["file_size"] = job.FileSize,
            ["total_rows"] = job.TotalRows,
            ["completed_rows"] = job.CompletedRows,
            ["failed_rows"] = job.FailedRows,
            ["start_time"] = job.StartedAt,
            ["end_time"] = job.EndedAt,
            ["elapsed_time"] = job.StartedAt is { } start ? Math.Round(((job.EndedAt ?? now ?? start) - start).TotalSeconds, 3) : null,
            ["links"] = new Dictionary<string, string> { ["self"] = $"/userpilot/v1/background_jobs/{job.JobId}" },
        };
        if (job.Error is not null)
        {
            body["error"] = job.Error;
        }
        if (failed is not null)
        {
            body["failed"] = failed.Select(f => new Dictionary<string, object> { ["line"] = f.Line, ["reason"] = f.Reason }).ToList();
        }
        return body;
    }
}
