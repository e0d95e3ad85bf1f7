using Selfsame.Graph;
using Selfsame.Storage;

namespace Selfsame.Retention;

/// <summary>What one sweep of a project did.</summary>
public sealed record RetentionReport(
    ProjectId Project,
    bool Enabled,
    int? RetentionDays,
    DateTimeOffset? Cutoff,
    int DeletedRecords,
    int DeletedEvents,
    int Batches)
{
    /// <summary>Changes of the feed removed for being older than the project's change_retention_days.</summary>
    public int PrunedChanges { get; init; }
}

/// <summary>
/// Deletes the records of a project that have not been seen within its retention period, with their identifiers,
/// properties, links and events; profiles they bridged split. Works in batches, one transaction each: a sweep stopped
/// part-way (a restart, a kill) has deleted whole batches only, and the next sweep finds the rest. It goes through the
/// records in id order, one look (<see cref="IGraphReadSession.ListRecordsNotSeenSince"/>) per transaction.
/// </summary>
public sealed class RetentionSweep(IGraphStore store, TimeProvider time)
{
    public int BatchSize { get; init; } = 500;

    private static readonly WriteOrigin Origin = new("retention", null);

    public async Task<RetentionReport> RunAsync(ProjectId project, CancellationToken cancellationToken)
    {
        var settings = (await store.Catalog.GetProjectAsync(project, cancellationToken))?.Settings
                       ?? throw new GraphException(GraphErrorKind.NotFound, "project", $"no project '{project}'");
        // The change feed keeps its own number of days, whether or not records are ever deleted.
        var pruned = await store.Catalog.PruneChangesAsync(project, time.GetUtcNow().AddDays(-settings.ChangeRetentionDays), cancellationToken);
        if (settings.RetentionDays is not { } days)
        {
            return new RetentionReport(project, false, null, null, 0, 0, 0) { PrunedChanges = pruned };
        }
        var cutoff = time.GetUtcNow().AddDays(-days);
        int records = 0, events = 0, batches = 0;
        long after = 0, through = long.MaxValue;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (deleted, deletedEvents, next, highest) = await store.WriteAsync(project, tx =>
            {
                var stale = tx.ListRecordsNotSeenSince(cutoff, after, through, BatchSize);
                var eventCount = 0;
                foreach (var record in stale.Records)
                {
                    eventCount += tx.CountRecordEvents(record);
                    IdentityGraph.DeleteRecord(tx, record, Origin);
                }
                return (stale.Records.Count, eventCount, stale.Next, stale.Through);
            }, cancellationToken);
            if (deleted > 0)
            {
                Telemetry.SelfsameMetrics.RetentionDeleted.Add(deleted);
                records += deleted;
                events += deletedEvents;
                batches++;
            }
            if (next is not { } position)
            {
                return new RetentionReport(project, true, days, cutoff, records, events, batches) { PrunedChanges = pruned };
            }
            (after, through) = (position, highest);
        }
    }
}
