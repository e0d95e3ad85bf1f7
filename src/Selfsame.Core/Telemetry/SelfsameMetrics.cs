using System.Diagnostics.Metrics;
using Selfsame.Events;
using Selfsame.Graph;

namespace Selfsame.Telemetry;

/// <summary>
/// Selfsame's own instruments (System.Diagnostics.Metrics): the server exports them at /metrics. Graph changes are
/// counted from what committed writes answered, never from work a savepoint or a dry run rolled back.
/// </summary>
public static class SelfsameMetrics
{
    public const string MeterName = "Selfsame";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Histogram<int> WriterGroupSize = Meter.CreateHistogram<int>("writer_group_size", "{writes}",
        "Writes the store's writer applied in one group commit.");

    public static readonly Histogram<double> WriterCommitSeconds = Meter.CreateHistogram<double>("writer_commit_seconds", "s",
        "Time the writer took to apply and commit one group.");

    public static readonly UpDownCounter<long> WriterQueueDepth = Meter.CreateUpDownCounter<long>("writer_queue_depth", "{writes}",
        "Writes waiting for the store's writer.");

    public static readonly Counter<long> Merges = Meter.CreateCounter<long>("merges", "{merges}", "Profiles joined, by how (implicit or explicit).");

    public static readonly Counter<long> Splits = Meter.CreateCounter<long>("splits", "{splits}", "Profiles split by an unlink or a delete.");

    public static readonly Counter<long> Refused = Meter.CreateCounter<long>("refusals", "{refusals}",
        "Identifiers left out and merges refused, by rule (max_per_type.user_id, deny_list.placeholder_email...).");

    public static readonly Counter<long> JobRows = Meter.CreateCounter<long>("job_rows", "{rows}", "Job rows applied or failed, by job kind.");

    public static readonly Counter<long> RetentionDeleted = Meter.CreateCounter<long>("retention_deleted_records", "{records}",
        "Records the retention sweep deleted.");

    public static readonly Counter<long> StoreErrors = Meter.CreateCounter<long>("store_errors", "{errors}",
        "Requests the store failed: unavailable (the database cannot be reached) or rejected (a value it cannot keep).");

    /// <summary>Counts the merges, splits and refusals of a committed write's results (and the refusal that failed one).</summary>
    public static void CountWrite(object? result, Exception? error)
    {
        switch (result)
        {
            case IdentifyResult r:
                Add(Merges, r.Merged.Count, "kind", "implicit");
                break;
            case TrackResult { Identity: { } r }:
                Add(Merges, r.Merged.Count, "kind", "implicit");
                break;
            case UpsertResult { Identified: { } r }:
                Add(Merges, r.Merged.Count, "kind", "implicit");
                break;
            case LinkResult r:
                Add(Merges, r.MergedProfiles.Count, "kind", "explicit");
                break;
            case MergeResult { Link: { } r }:
                Add(Merges, r.MergedProfiles.Count, "kind", "explicit");
                break;
            case UnlinkResult { Removed.Count: > 0, StillJoined: false }:
                Splits.Add(1);
                break;
            case DeleteResult { RemainingProfiles.Count: > 1 } r:
                Splits.Add(r.RemainingProfiles.Count - 1);
                break;
            case ReviewDecision { Link: { } r }:
                Add(Merges, r.MergedProfiles.Count, "kind", "explicit");
                break;
            case IEnumerable<object> many:
                foreach (var one in many)
                {
                    CountWrite(one, null);
                }
                break;
        }
        foreach (var refusal in Refusals.Of(result))
        {
            Refused.Add(1, new KeyValuePair<string, object?>("rule", refusal.Rule));
        }
        if (error is GraphException { Rule: { } rule })
        {
            Refused.Add(1, new KeyValuePair<string, object?>("rule", rule));
        }
    }

    private static void Add(Counter<long> counter, int count, string tag, string value)
    {
        if (count > 0)
        {
            counter.Add(count, new KeyValuePair<string, object?>(tag, value));
        }
    }
}
