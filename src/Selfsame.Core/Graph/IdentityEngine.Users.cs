using Selfsame.Companies;
using Selfsame.Events;
using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>A company as read: its properties, and each member record with the profile it belongs to now.</summary>
public sealed record CompanyView(CompanyInfo Company, IReadOnlyList<(RecordId Record, ProfileId Profile)> Members);

/// <summary>A profile's companies: those that any of its records belongs to.</summary>
public sealed record ProfileCompanies(ProfileId Profile, IReadOnlyList<string> Companies);

public sealed partial class IdentityEngine
{
    /// <summary>Applies <paramref name="operation"/> in a transaction of its own and answers its result; a refusal throws <see cref="GraphException"/>.</summary>
    public async Task<T> ApplyOneAsync<T>(ProjectId project, GraphOperation operation, WriteOrigin origin, CancellationToken cancellationToken)
    {
        if (origin.DryRun is not null)
        {
            var outcome = (await DryRunEachAsync(project, [operation], origin, cancellationToken))[0];
            return outcome.Error is { } error ? throw error : (T)outcome.Value!;
        }
        try
        {
            var result = await Store.WriteAsync(project, tx => IdentityGraph.Apply(tx, operation, origin), cancellationToken);
            Telemetry.SelfsameMetrics.CountWrite(result, null);
            return (T)result;
        }
        catch (GraphException refusal)
        {
            Telemetry.SelfsameMetrics.CountWrite(null, refusal);
            throw;
        }
    }

    /// <summary>Applies every operation in one transaction, all or none (a request that is ingested whole or not at all); answers each result.</summary>
    public async Task<IReadOnlyList<object>> ApplyAllAsync(ProjectId project, IReadOnlyList<GraphOperation> operations, WriteOrigin origin, CancellationToken cancellationToken)
    {
        if (origin.DryRun is not null)
        {
            // All or none here too: the first refusal is the answer, and no effect is reported for a write that would not be kept.
            var log = new DryRunLog();
            var outcomes = await DryRunEachAsync(project, operations, origin with { DryRun = log }, cancellationToken);
            if (outcomes.FirstOrDefault(o => !o.Succeeded).Error is { } error)
            {
                throw error;
            }
            origin.DryRun.Add(log.Effects);
            return outcomes.Select(o => o.Value!).ToList();
        }
        try
        {
            var results = await Store.WriteAsync<IReadOnlyList<object>>(project, tx =>
            {
                IdentityGraph.ReadAhead(tx, operations);
                return operations.Select(operation => IdentityGraph.Apply(tx, operation, origin)).ToList();
            }, cancellationToken);
            Telemetry.SelfsameMetrics.CountWrite(results, null);
            return results;
        }
        catch (GraphException refusal)
        {
            Telemetry.SelfsameMetrics.CountWrite(null, refusal);
            throw;
        }
    }

    /// <summary>
    /// Applies the operations as <see cref="ApplyAsync"/> would, one after the other in one transaction that is then
    /// rolled back: each sees what the ones before it wrote. Each operation's effect goes to the origin's dry-run log.
    /// </summary>
    private async Task<IReadOnlyList<WriteOutcome<object>>> DryRunEachAsync(ProjectId project, IReadOnlyList<GraphOperation> operations, WriteOrigin origin,
        CancellationToken cancellationToken)
    {
        var (outcomes, effects) = await Store.DryRunAsync(project, tx =>
        {
            IdentityGraph.ReadAhead(tx, operations);
            var outcomes = new List<WriteOutcome<object>>(operations.Count);
            var effects = new List<Effect>(operations.Count);
            foreach (var operation in operations)
            {
                var named = Effects.NamedBy(tx, operation);
                var before = Effects.Snapshot(tx, named);
                object? value = null;
                var error = tx.Attempt(inner => value = IdentityGraph.Apply(inner, operation, origin));
                effects.Add(Effects.Between(tx, before, Effects.Snapshot(tx, named, before), value, error));
                outcomes.Add(new WriteOutcome<object>(error is null ? value : null, error));
            }
            return (outcomes, effects);
        }, cancellationToken);
        origin.DryRun!.Add(effects);
        return outcomes;
    }

    /// <summary>
    /// The users that <paramref name="lookups"/> name, one answer each (null where a look-up names nobody; two look-ups of one
    /// profile answer the same view, read once), in one snapshot. With <paramref name="eventSummaries"/> each user's events
    /// summarized by name, with <paramref name="eventsNamed"/> its events of that name; neither is read otherwise.
    /// </summary>
    public Task<IReadOnlyList<UserView?>> FindUsersAsync(ProjectId project, IReadOnlyList<UserLookup> lookups, bool eventSummaries, string? eventsNamed,
        CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<UserView?>>(project, session =>
        {
            var read = new Dictionary<ProfileId, UserView?>();
            return lookups.Select(lookup =>
            {
                if (UserRules.Find(session, lookup) is not { } record)
                {
                    return null;
                }
                var profile = UserRules.ProfileOf(session, record);
                if (!read.TryGetValue(profile, out var user))
                {
                    user = ProfileReads.Profile(session, profile.Value) is { } view
                        ? new UserView(view, eventSummaries ? session.SummarizeEvents(view.Id) : [], eventsNamed is null ? [] : AllEvents(session, view.Id, eventsNamed))
                        : null;
                    read[profile] = user;
                }
                return user;
            }).ToList();
        }, cancellationToken);

    public Task<CompanyView?> GetCompanyAsync(ProjectId project, string companyId, CancellationToken cancellationToken) =>
        ReadAsync(project, session => session.GetCompany(companyId) is { } info
            ? new CompanyView(info, info.Members.Select(m => (m, session.GetRecord(m)?.Profile ?? ProfileId.Of(m))).ToList())
            : null, cancellationToken);

    /// <summary>The companies of a profile (an id merged away names the profile that holds that record); null when there is none.</summary>
    public Task<ProfileCompanies?> GetProfileCompaniesAsync(ProjectId project, long profileOrRecord, CancellationToken cancellationToken) =>
        ReadAsync(project, session => ProfileReads.Profile(session, profileOrRecord) is { } view
            ? new ProfileCompanies(view.Id, session.GetProfileCompanies(view.Id))
            : null, cancellationToken);

    private static List<StoredEvent> AllEvents(IGraphReadSession session, ProfileId profile, string name)
    {
        var all = new List<StoredEvent>();
        EventCursor? before = null;
        while (true)
        {
            var page = session.GetEvents(profile, null, new EventQuery(name, null, null, before, 1000));
            all.AddRange(page);
            if (page.Count < 1000)
            {
                return all;
            }
            before = new EventCursor(page[^1].Time.ToUnixTimeMilliseconds(), page[^1].EventId);
        }
    }
}
