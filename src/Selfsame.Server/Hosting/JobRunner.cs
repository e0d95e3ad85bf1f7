using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Selfsame.Jobs;

namespace Selfsame.Server.Hosting;

/// <summary>
/// Runs the durable jobs of every project, one at a time, oldest first: at start (jobs a stopped process left unfinished
/// resume where they stopped), whenever a surface submits one, and every few seconds (jobs another process wrote).
/// </summary>
public sealed class JobRunner(IJobStore jobs, JobProcessor processor, Projects projects, Graph.IdentityEngine engine, ILogger<JobRunner> logger) : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);
    private bool _storeDown;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Stores a new job (it exists once this completes) and wakes the runner.</summary>
    public async Task<JobRecord> SubmitAsync(Graph.ProjectId project, string kind, string source, string? filename, byte[] payload, string? keyId,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var job = await JobProcessor.SubmitAsync(jobs, project, kind, source, filename, payload, keyId, time, cancellationToken);
        _wake.Writer.TryWrite(true);
        return job;
    }

    /// <summary>
    /// A surface's job submission: stores the job and answers <paramref name="answer"/> of it; for a dry run, stores no job
    /// and answers what the whole payload would do (<see cref="JobDryRun"/>).
    /// </summary>
    public async Task<Microsoft.AspNetCore.Http.IResult> SubmitAsync(Surfaces.SurfaceRequest request, string kind, string? filename, byte[] payload, TimeProvider time,
        Func<JobRecord, Microsoft.AspNetCore.Http.IResult> answer)
    {
        if (request.DryRun is { } log)
        {
            log.Answered = true;
            var run = await JobDryRun.RunAsync(engine, processor, request.Project, kind, payload, request.Settings, request.Origin, request.Aborted);
            return Microsoft.AspNetCore.Http.Results.Json(JobDryRunAnswer.Of(run), JsonDefaults.Options);
        }
        return answer(await SubmitAsync(request.Project, kind, request.Description.Name, filename, payload, request.Caller.KeyId, time, request.Aborted));
    }

    /// <summary>
    /// A dry run of settings as a job: reads the project's profiles in one snapshot (the writer is never held), saying how
    /// many it has read as it goes, and keeps what it found as the job's result.
    /// </summary>
    private async Task RunSettingsImpactAsync(JobRecord job, CancellationToken stoppingToken)
    {
        var now = TimeProvider.System.GetUtcNow();
        try
        {
            if (!await jobs.TryClaimAsync(job.Project, job.JobId, processor.Owner, now, now + TimeSpan.FromHours(1), stoppingToken))
            {
                return;
            }
            var payload = await jobs.ReadPayloadAsync(job.Project, job.JobId, stoppingToken);
            var proposed = ProjectSettings.FromJson(System.Text.Encoding.UTF8.GetString(payload));
            var current = (await projects.GetAsync(job.Project, stoppingToken))?.Settings ?? ProjectSettings.Default;
            await jobs.SetStatusAsync(job.Project, job.JobId, JobStatuses.Processing, now, null, null, null, stoppingToken);
            var reported = 0L;
            var impact = await engine.SettingsImpactAsync(job.Project, current, proposed, stoppingToken, read =>
            {
                if (read - reported >= 5_000)
                {
                    reported = read;
                    jobs.SetProgressAsync(job.Project, job.JobId, read, null, stoppingToken).GetAwaiter().GetResult();
                }
            });
            var result = System.Text.Json.JsonSerializer.Serialize(Admin.SettingsImpactResponse.Of(impact), JsonDefaults.Options);
            await jobs.SetProgressAsync(job.Project, job.JobId, impact.ProfilesRead, result, stoppingToken);
            await jobs.SetStatusAsync(job.Project, job.JobId, JobStatuses.Completed, null, TimeProvider.System.GetUtcNow(), impact.ProfilesRead, null, stoppingToken);
            logger.LogInformation("Job {Job} ({Kind}) of project {Project} completed: {Profiles} profiles read", job.JobId, job.Kind, job.Project, impact.ProfilesRead);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Job {Job} of project {Project} stopped; it is tried again at the next look", job.JobId, job.Project);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<JobRecord> unfinished;
            try
            {
                unfinished = await jobs.ListUnfinishedAsync(stoppingToken);
                if (_storeDown)
                {
                    _storeDown = false;
                    logger.LogWarning("The store can be reached again");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The store cannot be read (a database restarting): look again at the next poll; the server stays up.
                // Said once when it starts and once when it ends, not every poll.
                if (!_storeDown)
                {
                    _storeDown = true;
                    logger.LogWarning(e, "The store cannot be reached: jobs wait, requests are answered 503; looking again every {Seconds} s", Poll.TotalSeconds);
                }
                unfinished = [];
            }
            foreach (var job in unfinished)
            {
                if (job.Kind == Guardrails.SettingsImpact.JobKind)
                {
                    await RunSettingsImpactAsync(job, stoppingToken);
                    continue;
                }
                if (!processor.Knows(job.Kind))
                {
                    continue;
                }
                try
                {
                    var settings = (await projects.GetAsync(job.Project, stoppingToken))?.Settings ?? ProjectSettings.Default;
                    logger.LogInformation("Job {Job} ({Kind}) of project {Project} runs from line {Line} of {Rows}", job.JobId, job.Kind, job.Project, job.NextLine, job.TotalRows);
                    var lastLogged = TimeProvider.System.GetTimestamp();
                    var ended = await processor.RunAsync(job, settings, new Progress<JobRecord>(j =>
                    {
                        // At most every 10 s: a large job says how far it is.
                        if (TimeProvider.System.GetElapsedTime(lastLogged) >= TimeSpan.FromSeconds(10))
                        {
                            lastLogged = TimeProvider.System.GetTimestamp();
                            logger.LogInformation("Job {Job}: {Done} of {Rows} rows ({Failed} failed)", j.JobId, j.CompletedRows + j.FailedRows, j.TotalRows, j.FailedRows);
                        }
                    }), stoppingToken);
                    logger.LogInformation("Job {Job} ({Kind}) of project {Project} {Status}: {Completed} rows applied, {Failed} failed",
                        ended.JobId, ended.Kind, ended.Project, ended.Status, ended.CompletedRows, ended.FailedRows);
                }
                catch (JobClaimLostException)
                {
                    // Another process (another server, the CLI) runs it; it is taken over only when that one's claim runs out.
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(e, "Job {Job} of project {Project} stopped; it is tried again at the next look", job.JobId, job.Project);
                }
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(Poll);
            try
            {
                await _wake.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // Polled: look again for jobs another process wrote.
            }
        }
    }
}

/// <summary>The answer to a dry run of a job's payload: totals, and the first rows' effects and errors.</summary>
public sealed record JobDryRunAnswer(bool DryRun, long Rows, long Applied, long Failed, IReadOnlyDictionary<string, long> Totals,
    IReadOnlyList<System.Text.Json.Nodes.JsonObject> Effects, IReadOnlyList<JobDryRunError> Errors)
{
    public static JobDryRunAnswer Of(JobDryRun run) => new(true, run.Rows, run.Applied, run.Failed, run.Totals,
        run.Effects.Select(e =>
        {
            var effect = Surfaces.DryRunAnswer.Describe([e.Effect]);
            effect["line"] = e.Line;
            return effect;
        }).ToList(),
        run.Errors.Select(e => new JobDryRunError(e.Line, e.Reason)).ToList());
}

public sealed record JobDryRunError(long Line, string Reason);
