using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Selfsame.Jobs;

namespace Selfsame.Server.Hosting;

/// <summary>
/// Runs the durable jobs of every project, one at a time, oldest first: at start (jobs a stopped process left unfinished
/// resume where they stopped), whenever a surface submits one, and every few seconds (jobs another process wrote).
/// </summary>
public sealed class JobRunner(IJobStore jobs, JobProcessor processor, Projects projects, ILogger<JobRunner> logger) : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Stores a new job (it exists once this completes) and wakes the runner.</summary>
    public async Task<JobRecord> SubmitAsync(Graph.ProjectId project, string kind, string source, string? filename, byte[] payload, string? keyId,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var job = await JobProcessor.SubmitAsync(jobs, project, kind, source, filename, payload, keyId, time, cancellationToken);
        _wake.Writer.TryWrite(true);
        return job;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<JobRecord> unfinished;
            try
            {
                unfinished = await jobs.ListUnfinishedAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The store cannot be read (a database restarting): look again at the next poll; the server stays up.
                logger.LogWarning(e, "Looking for unfinished jobs failed; trying again in {Seconds} s", Poll.TotalSeconds);
                unfinished = [];
            }
            foreach (var job in unfinished)
            {
                if (!processor.Knows(job.Kind))
                {
                    continue;
                }
                try
                {
                    var settings = (await projects.GetAsync(job.Project, stoppingToken))?.Settings ?? ProjectSettings.Default;
                    await processor.RunAsync(job, settings, null, stoppingToken);
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
