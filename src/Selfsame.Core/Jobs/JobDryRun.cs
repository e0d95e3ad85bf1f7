using Selfsame.Graph;

namespace Selfsame.Jobs;

/// <summary>
/// A dry run of a whole job's payload (an import file, a bulk identify): every row applied in order in one transaction that
/// is then rolled back, so each row sees the rows before it. Totals over all rows; the effects and errors of the first
/// <see cref="Shown"/> rows that have any.
/// </summary>
public sealed record JobDryRun(
    long Rows,
    long Applied,
    long Failed,
    IReadOnlyDictionary<string, long> Totals,
    IReadOnlyList<(long Line, Effect Effect)> Effects,
    IReadOnlyList<(long Line, string Reason)> Errors)
{
    public const int Shown = 100;

    public static async Task<JobDryRun> RunAsync(IdentityEngine engine, JobProcessor processor, ProjectId project, string kind, byte[] payload, ProjectSettings settings,
        WriteOrigin origin, CancellationToken cancellationToken)
    {
        var rows = processor.ReadRows(kind, payload, settings).ToList();
        var readable = rows.Where(r => r.Operation is not null).ToList();
        var log = new DryRunLog();
        var outcomes = readable.Count == 0 ? [] : await engine.ApplyAsync(project, readable.Select(r => r.Operation!).ToList(), origin with { DryRun = log }, cancellationToken);
        var errors = rows.Where(r => r.Error is not null).Select(r => (r.Line, r.Error!)).ToList();
        errors.AddRange(readable.Zip(outcomes).Where(x => !x.Second.Succeeded)
            .Select(x => (x.First.Line, x.Second.Error is GraphException g ? $"{g.Field}: {g.Message}" : x.Second.Error!.Message)));
        var effects = readable.Zip(log.Effects).Where(x => !x.Second.IsEmpty).Select(x => (x.First.Line, x.Second)).ToList();
        var totals = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["profiles_merged"] = log.Effects.Sum(e => (long)e.Merged.Count),
            ["profiles_split"] = log.Effects.Sum(e => (long)e.Split.Count),
            ["records_created"] = log.Effects.Sum(e => (long)e.RecordsCreated.Count),
            ["records_deleted"] = log.Effects.Sum(e => (long)e.RecordsDeleted.Count),
            ["identifiers_attached"] = log.Effects.Sum(e => (long)e.Attached.Count),
            ["identifiers_detached"] = log.Effects.Sum(e => (long)e.Detached.Count),
            ["refused"] = log.Effects.Sum(e => (long)e.Refused.Count),
            ["properties_changed"] = log.Effects.Sum(e => (long)e.Properties.Count),
            ["events_added"] = log.Effects.Sum(e => (long)e.EventsAdded),
        };
        return new JobDryRun(rows.Count, outcomes.Count(o => o.Succeeded), errors.Count, totals,
            effects.Take(Shown).ToList(), errors.OrderBy(e => e.Line).Take(Shown).ToList());
    }
}
