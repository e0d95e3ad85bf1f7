using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Selfsame.Retention;
using Selfsame.Server.Hosting;
using Selfsame.Storage;

namespace Selfsame.Server.Admin;

/// <summary>Runs the retention sweep of every project that has retention on, at start and then every interval.</summary>
public sealed class RetentionService(IProjectCatalog catalog, RetentionSweep sweep, SelfsameOptions options, TimeProvider time, ILogger<RetentionService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<Project> projects;
            try
            {
                projects = await catalog.ListProjectsAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The store cannot be read (a database restarting): the sweep runs at the next interval; the server stays up.
                logger.LogWarning(e, "Retention could not list the projects; it runs again at the next interval");
                projects = [];
            }
            foreach (var project in projects)
            {
                // Every project: the change feed keeps change_retention_days even where records are kept for ever.
                try
                {
                    var report = await sweep.RunAsync(project.Id, stoppingToken);
                    if (report.DeletedRecords > 0)
                    {
                        logger.LogInformation("Retention deleted {Records} records and {Events} events of project {Project} not seen since {Cutoff}",
                            report.DeletedRecords, report.DeletedEvents, project.Id, report.Cutoff);
                    }
                    if (report.PrunedChanges > 0)
                    {
                        logger.LogInformation("Retention removed {Changes} changes of project {Project} older than {Days} days from the change feed",
                            report.PrunedChanges, project.Id, project.Settings.ChangeRetentionDays);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(e, "Retention sweep of project {Project} failed; it runs again at the next interval", project.Id);
                }
            }
            await Task.Delay(options.RetentionInterval, time, stoppingToken);
        }
    }
}
