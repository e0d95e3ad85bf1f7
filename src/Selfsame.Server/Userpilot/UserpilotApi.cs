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
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Userpilot;

/// <summary>
/// Userpilot's HTTP API under /userpilot: identify (users and companies), track, bulk identify as durable jobs (a JSON
/// array or an NDJSON file), job monitoring, and user deletion as a job. <c>Authorization: Token KEY</c>; errors in
/// Userpilot's shape <c>{"errors":[{"details","error","error_code","message"}]}</c>.
/// </summary>
public static class UserpilotApi
{
    public const int MaxRows = 10_000;
    public const long MaxFileBytes = 50L * 1024 * 1024;
    public const int MaxJobErrorsShown = 1000;

    /// <summary>A bulk body: a file of at most <see cref="MaxFileBytes"/> with its multipart framing.</summary>
    public const long MaxBulkBodyBytes = MaxFileBytes + 64 * 1024;

    private static readonly Dictionary<string, string> JobTypes = new(StringComparer.Ordinal)
    {
        [UserpilotJobs.UsersKind] = "users_bulk_identify",
        [UserpilotJobs.CompaniesKind] = "companies_bulk_identify",
        [UserpilotJobs.DeleteUsersKind] = "users_delete",
    };

    /// <summary>Userpilot's bulk calls run as durable jobs of three kinds.</summary>
    public static IServiceCollection AddUserpilot(this IServiceCollection services) => services
        .AddSingleton<IJobKind, UserpilotJobs.Users>()
        .AddSingleton<IJobKind, UserpilotJobs.Companies>()
        .AddSingleton<IJobKind, UserpilotJobs.DeleteUsers>();

    public static IEndpointRouteBuilder MapUserpilotApi(this IEndpointRouteBuilder app)
    {
        var userpilot = app.MapSurface("/userpilot/v1", UserpilotSurface.Description).WithTags("Userpilot");
        userpilot.MapPost("/identify", IdentifyAsync).Needs(UserpilotSurface.Versioned(Roles.Write, UserpilotSurface.IdentifyFamily)).Produces(202);
        userpilot.MapPost("/companies/identify", IdentifyCompanyAsync).Needs(UserpilotSurface.Versioned(Roles.Write, UserpilotSurface.IdentifyFamily)).Produces(202);
        userpilot.MapPost("/track", TrackAsync).Needs(UserpilotSurface.Versioned(Roles.Write, UserpilotSurface.TrackFamily)).Produces(202);
        userpilot.MapPost("/users/bulk_identify", (HttpContext c, JobRunner r, TimeProvider t) => BulkAsync(c, r, t, "users", UserpilotJobs.UsersKind))
            .Needs(Roles.Write, maxBodyBytes: MaxBulkBodyBytes).Produces(202);
        userpilot.MapPost("/companies/bulk_identify", (HttpContext c, JobRunner r, TimeProvider t) => BulkAsync(c, r, t, "companies", UserpilotJobs.CompaniesKind))
            .Needs(Roles.Write, maxBodyBytes: MaxBulkBodyBytes).Produces(202);
        userpilot.MapDelete("/users", DeleteUsersAsync).Needs(UserpilotSurface.Versioned(Roles.Write, maxBodyBytes: MaxFileBytes)).Produces(202);
        userpilot.MapGet("/background_jobs", ListJobsAsync).Needs(Roles.Read);
        userpilot.MapGet("/background_jobs/{jobId}", GetJobAsync).Needs(Roles.Read);
        return app;
    }

    private static IResult Error(int status, string error, string code, string message, string? details = null) =>
        UserpilotSurface.Error(status, error, code, message, details);

    private static WriteOrigin Origin(HttpContext context) => context.Surface().Origin;

    /// <summary>Runs <paramref name="handle"/> on the request's JSON object.</summary>
    private static async Task<IResult> WithBodyAsync(HttpContext context, Func<JsonElement, ProjectSettings, Task<IResult>> handle)
    {
        var request = context.Surface();
        return await handle(await request.JsonObjectAsync(), request.Settings);
    }

    private static Task<IResult> IdentifyAsync(HttpContext context, IdentityEngine engine) =>
        WithBodyAsync(context, async (root, settings) =>
        {
            var row = UserpilotRows.User(root, "", settings);
            await engine.ApplyOneAsync<object>(context.Caller().Project, row.Operation(), Origin(context), context.RequestAborted);
            return Results.StatusCode(202);
        });

    private static Task<IResult> IdentifyCompanyAsync(HttpContext context, IdentityEngine engine) =>
        WithBodyAsync(context, async (root, _) =>
        {
            var (company, metadata) = UserpilotRows.Company(root, "");
            await engine.ApplyOneAsync<bool>(context.Caller().Project, new GraphOperation.CompanyOp(new CompanyCommand(company, metadata)), Origin(context), context.RequestAborted);
            return Results.StatusCode(202);
        });

    private static Task<IResult> TrackAsync(HttpContext context, IdentityEngine engine, TimeProvider time) =>
        WithBodyAsync(context, async (root, settings) =>
        {
            var userId = UserpilotRows.RequiredId(root, "user_id", "", IdentifierNormalizer.MaxValueLength);
            var user = IdentifierNormalizer.TryNormalize(IdentifierTypes.UserId, userId, settings, out var error) ?? throw RequestValidationException.Of("user_id", error!);
            var name = UserpilotRows.RequiredId(root, "event_name", "");
            if (name.Length > OperationReader.MaxNameLength)
            {
                throw RequestValidationException.Of("event_name", $"at most {OperationReader.MaxNameLength} characters");
            }
            var metadata = "{}";
            if (root.TryGetProperty("metadata", out var given) && given.ValueKind != JsonValueKind.Null)
            {
                metadata = given.ValueKind == JsonValueKind.Object ? given.GetRawText() : throw RequestValidationException.Of("metadata", "expected an object");
            }
            var identity = new IdentifyCommand(new IdentifierInput(user, userId, "user_id"), [], new Dictionary<string, PropertyValue>(),
                new Dictionary<string, PropertyValue>(), []);
            await engine.ApplyOneAsync<TrackResult>(context.Caller().Project, new GraphOperation.TrackOp(new TrackCommand(identity, name, time.GetUtcNow(), metadata, null)),
                Origin(context), context.RequestAborted);
            return Results.StatusCode(202);
        });

    /// <summary>
    /// A bulk identify: a JSON body with an array (<paramref name="arrayName"/>, every row checked before the job is
    /// accepted) or a multipart form with an NDJSON part named <c>file</c> (rows checked as the job runs; a bad row fails
    /// alone). Either way at most 10,000 rows; a file at most 50 MB. The job is stored before the answer.
    /// </summary>
    private static async Task<IResult> BulkAsync(HttpContext context, JobRunner runner, TimeProvider time, string arrayName, string kind)
    {
        if (context.Request.HasFormContentType)
        {
            return await FileAsync(context, runner, time, kind);
        }
        return await WithBodyAsync(context, async (root, settings) =>
        {
            if (!root.TryGetProperty(arrayName, out var rows) || rows.ValueKind != JsonValueKind.Array)
            {
                throw RequestValidationException.Of(arrayName, $"is required: an array of {(arrayName == "users" ? "user" : "company")} objects");
            }
            if (rows.GetArrayLength() is 0 or > MaxRows)
            {
                throw RequestValidationException.Of(arrayName, $"holds {rows.GetArrayLength()} rows; a request holds 1 to {MaxRows:N0}");
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
            return await runner.SubmitAsync(context.Surface(), kind, null, Encoding.UTF8.GetBytes(payload.ToString()), time, job => Results.Json(Job(job, null), statusCode: 202));
        });
    }

    private static async Task<IResult> FileAsync(HttpContext context, JobRunner runner, TimeProvider time, string kind)
    {
        var file = (await context.Surface().FormAsync()).Files.GetFile("file");
        if (file is null)
        {
            throw RequestValidationException.Of("file", "a multipart/form-data part named 'file' with an NDJSON file is required");
        }
        if (file.Length > MaxFileBytes)
        {
            throw new RequestBodyException(BodyFault.TooLarge, new FieldError("file", $"larger than {MaxFileBytes} bytes"));
        }
        var payload = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(payload, context.RequestAborted);
        }
        if (!System.Text.Unicode.Utf8.IsValid(payload))
        {
            throw RequestValidationException.Of("file", "is not UTF-8 text");
        }
        var rows = JobProcessor.Lines(payload).LongCount();
        if (rows is 0 or > MaxRows)
        {
            throw RequestValidationException.Of("file", $"holds {rows:N0} rows; a file holds 1 to {MaxRows:N0}");
        }
        var filename = new string([.. file.FileName.Where(c => !char.IsControl(c))]);
        return await runner.SubmitAsync(context.Surface(), kind, filename.Length == 0 ? null : filename[..Math.Min(filename.Length, 255)], payload, time,
            job => Results.Json(Job(job, null), statusCode: 202));
    }

    private static Task<IResult> DeleteUsersAsync(HttpContext context, JobRunner runner, TimeProvider time) =>
        WithBodyAsync(context, async (root, _) =>
        {
            if (!root.TryGetProperty("users", out var users) || users.ValueKind != JsonValueKind.Array || users.GetArrayLength() is 0 or > MaxRows
                || users.EnumerateArray().Any(u => UserpilotJobs.DeleteUsers.UserId(u) is null))
            {
                throw RequestValidationException.Of("users", $"is required: an array of 1 to {MaxRows:N0} user ids (strings or numbers, as identify takes them, without NUL)");
            }
            var payload = string.Concat(users.EnumerateArray().Select(u => u.GetRawText() + "\n"));
            return await runner.SubmitAsync(context.Surface(), UserpilotJobs.DeleteUsersKind, null, Encoding.UTF8.GetBytes(payload), time,
                job => Results.Json(Job(job, null), statusCode: 202));
        });

    private static async Task<IResult> ListJobsAsync(HttpContext context, IJobStore jobs)
    {
        var listed = await jobs.ListAsync(context.Caller().Project, 100, context.RequestAborted, [.. JobTypes.Keys]);
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        return Results.Json(listed.Select(j => Job(j, null, now)).ToList());
    }

    private static async Task<IResult> GetJobAsync(HttpContext context, IJobStore jobs, string jobId)
    {
        var job = await jobs.GetAsync(context.Caller().Project, jobId, context.RequestAborted);
        if (job is null || !JobTypes.ContainsKey(job.Kind))
        {
            return Error(404, "Not Found", "job_not_found", $"no background job '{jobId}' in this project");
        }
        var failed = await jobs.ListErrorsAsync(job.Project, job.JobId, 0, MaxJobErrorsShown, context.RequestAborted);
        return Results.Json(Job(job, failed, context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow()));
    }

    /// <summary>A time as Userpilot writes one: UTC to the second, <c>2025-02-02T12:34:56Z</c>.</summary>

    /// <summary>A job as Userpilot describes one: both the prose page's fields and the OpenAPI job object's, plus the failed rows.</summary>
    private static Dictionary<string, object?> Job(JobRecord job, IReadOnlyList<JobRowError>? failed, DateTimeOffset? now = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["job_id"] = job.JobId,
            ["status"] = job.Status,
            ["submitted_at"] = VendorTime.Format(job.SubmittedAt),
            ["type"] = JobTypes.GetValueOrDefault(job.Kind, job.Kind),
            ["filename"] = job.Filename,
            ["file_size"] = job.FileSize,
            ["total_rows"] = job.TotalRows,
            ["completed_rows"] = job.CompletedRows,
            ["failed_rows"] = job.FailedRows,
            ["start_time"] = VendorTime.Format(job.StartedAt),
            ["end_time"] = VendorTime.Format(job.EndedAt),
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
