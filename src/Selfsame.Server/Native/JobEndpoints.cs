using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Selfsame.Companies;
using Selfsame.Graph;
using Selfsame.Imports;
using Selfsame.Jobs;
using Selfsame.Keys;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;
using Selfsame.Storage;

namespace Selfsame.Server.Native;

public sealed record JobErrorDto(long Line, string Reason);

public sealed record JobDto(string JobId, string Kind, string Status, string Source, string? Filename, long FileSize, long TotalRows, long CompletedRows,
    long FailedRows, DateTimeOffset SubmittedAt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, string? Error, IReadOnlyList<JobErrorDto>? Errors,
    JsonElement? Result = null)
{
    public static JobDto Of(JobRecord j, IReadOnlyList<JobRowError>? errors = null) =>
        new(j.JobId, j.Kind, j.Status, j.Source, j.Filename, j.FileSize, j.TotalRows, j.CompletedRows, j.FailedRows, j.SubmittedAt, j.StartedAt, j.EndedAt,
            j.Error, errors?.Select(e => new JobErrorDto(e.Line, e.Reason)).ToList(), j.Result is null ? null : JsonElement.Parse(j.Result));
}

public sealed record CompanyPropertyDto(JsonElement Value, string Type, DateTimeOffset UpdatedAt)
{
    public static CompanyPropertyDto Of(CompanyProperty p)
    {
        using var document = JsonDocument.Parse(p.Value.Json);
        return new CompanyPropertyDto(document.RootElement.Clone(), PropertyValue.TypeName(p.Value.Type), p.UpdatedAt);
    }
}

public sealed record CompanyDto(string CompanyId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyDictionary<string, CompanyPropertyDto> Properties,
    IReadOnlyList<CompanyMemberDto> Members);

public sealed record CompanyMemberDto(long RecordId, long ProfileId);

public sealed record ProfileCompaniesResponse(long ProfileId, IReadOnlyList<string> Companies);

/// <summary>Durable import jobs and companies on the native API.</summary>
public static class JobEndpoints
{
    public const long MaxImportBytes = 50L * 1024 * 1024;
    public const int MaxErrorsPage = 1000;

    public static RouteGroupBuilder MapJobEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/imports", async (HttpContext context, JobRunner runner, TimeProvider time, CancellationToken ct) =>
            {
                var payload = (await context.Surface().BytesAsync()).ToArray();
                if (!System.Text.Unicode.Utf8.IsValid(payload))
                {
                    return Problems.Invalid("(body)", "is not valid UTF-8");
                }
                if (!JobProcessor.Lines(payload).Any())
                {
                    return Problems.Invalid("(body)", "holds no lines: send NDJSON, one operation a line");
                }
                return await runner.SubmitAsync(context.Surface(), ImportJobKind.KindName, context.Request.Headers["X-Filename"].FirstOrDefault(), payload, time,
                    job => Results.Json(JobDto.Of(job), statusCode: StatusCodes.Status202Accepted));
            })
            .Needs(Roles.Write, maxBodyBytes: MaxImportBytes).Accepts<string>("application/x-ndjson").Produces<JobDto>(202)
            .WithSummary("Import NDJSON (identify, link, unlink and track lines) as a durable job: stored before the answer, applied in the background.");

        v1.MapGet("/jobs", async (HttpContext context, IJobStore jobs, CancellationToken ct) =>
                Results.Ok((await jobs.ListAsync(context.Caller().Project, 100, ct)).Select(j => JobDto.Of(j)).ToList()))
            .Needs(Roles.Read).Produces<List<JobDto>>()
            .WithSummary("The project's jobs, newest first (at most 100).");

        v1.MapGet("/jobs/{jobId}", async (HttpContext context, IJobStore jobs, string jobId, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "after_line")] long? afterLine,
                CancellationToken ct) =>
            {
                var job = await jobs.GetAsync(context.Caller().Project, jobId, ct);
                if (job is null)
                {
                    return Problems.Invalid("job_id", $"no job '{jobId}' in this project", StatusCodes.Status404NotFound);
                }
                var errors = await jobs.ListErrorsAsync(job.Project, job.JobId, afterLine ?? 0, MaxErrorsPage, ct);
                return Results.Ok(JobDto.Of(job, errors));
            })
            .Needs(Roles.Read).Produces<JobDto>()
            .WithSummary("A job: status, rows, timings, and the rows that failed with their line numbers (1,000 a page, after after_line).");

        v1.MapGet("/companies/{companyId}", async (HttpContext context, IdentityEngine engine, string companyId, CancellationToken ct) =>
            {
                var company = await engine.GetCompanyAsync(context.Caller().Project, companyId, ct) is { Company: var info } view
                    ? new CompanyDto(info.CompanyId, info.CreatedAt, info.UpdatedAt, info.Properties.ToDictionary(p => p.Key, CompanyPropertyDto.Of),
                        view.Members.Select(m => new CompanyMemberDto(m.Record.Value, m.Profile.Value)).ToList())
                    : null;
                return company is null ? Problems.Invalid("company_id", $"no company '{companyId}' in this project", StatusCodes.Status404NotFound) : Results.Ok(company);
            })
            .Needs(Roles.Read).Produces<CompanyDto>()
            .WithSummary("A company: its properties and the records (with their profiles) that belong to it.");

        v1.MapGet("/profiles/{profileId:long}/companies", async (HttpContext context, IdentityEngine engine, long profileId, CancellationToken ct) =>
            {
                var companies = await engine.GetProfileCompaniesAsync(context.Caller().Project, profileId, ct) is { } held
                    ? new ProfileCompaniesResponse(held.Profile.Value, held.Companies)
                    : null;
                return companies is null ? Problems.Invalid("profile_id", $"no profile {profileId} in this project", StatusCodes.Status404NotFound) : Results.Ok(companies);
            })
            .Needs(Roles.Read).Produces<ProfileCompaniesResponse>()
            .WithSummary("The companies that any record of the profile belongs to.");
        return v1;
    }
}
