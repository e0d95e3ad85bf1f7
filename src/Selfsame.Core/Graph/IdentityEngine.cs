using System.Runtime.CompilerServices;
using Selfsame.Events;
using Selfsame.Storage;

namespace Selfsame.Graph;

/// <summary>
/// The identity engine: every surface (native, vendor, CLI) reads and writes identity graphs through it.
/// Writes are applied by the store in one serial order per project; reads see committed data.
/// </summary>
public sealed partial class IdentityEngine(IGraphStore store)
{
    /// <summary>The store, for the engine's own rules (and tests): surfaces reach the graph through the typed operations only.</summary>
    internal IGraphStore Store { get; } = store;

    public Task<IdentifyResult> IdentifyAsync(ProjectId project, IdentifyCommand command, WriteOrigin origin, CancellationToken cancellationToken) =>
        ApplyOneAsync<IdentifyResult>(project, new GraphOperation.IdentifyOp(command), origin, cancellationToken);

    public Task<LinkResult> LinkAsync(ProjectId project, LinkCommand command, WriteOrigin origin, CancellationToken cancellationToken) =>
        ApplyOneAsync<LinkResult>(project, new GraphOperation.LinkOp(command), origin, cancellationToken);

    public Task<UnlinkResult> UnlinkAsync(ProjectId project, UnlinkCommand command, WriteOrigin origin, CancellationToken cancellationToken) =>
        ApplyOneAsync<UnlinkResult>(project, new GraphOperation.UnlinkOp(command), origin, cancellationToken);

    /// <summary>Applies each piece of work in one transaction and one commit; each fails or succeeds alone.</summary>
    internal Task<IReadOnlyList<WriteOutcome<T>>> ApplyEachAsync<T>(ProjectId project, IReadOnlyList<Func<IGraphTransaction, T>> work, CancellationToken cancellationToken) =>
        Store.WriteEachAsync(project, work, cancellationToken);

    internal Task<T> WriteAsync<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken) =>
        Store.WriteAsync(project, work, cancellationToken);

    /// <summary>Runs a read of committed data (one snapshot) for a surface that composes its own answer from the graph.</summary>
    internal Task<T> ReadAsync<T>(ProjectId project, Func<IGraphReadSession, T> read, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, read, cancellationToken);

    /// <summary>A read of committed data for the engine's own tests.</summary>
    internal Task<T> ReadInternalAsync<T>(ProjectId project, Func<IGraphReadSession, T> read) => Store.ReadAsync(project, read, CancellationToken.None);

    public Task<IReadOnlyList<DirectLinks?>> DirectLinksOfAsync(ProjectId project, IReadOnlyList<Identifier> identifiers, string kind, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, session => ProfileReads.DirectLinksOf(session, identifiers, kind), cancellationToken);

    /// <summary>Deletes a record; with <paramref name="suppress"/>, its identifiers' values are never attached again.</summary>
    public Task<DeleteResult> DeleteRecordAsync(ProjectId project, RecordId record, WriteOrigin origin, CancellationToken cancellationToken, bool suppress = false) =>
        ApplyOneAsync<DeleteResult>(project, new GraphOperation.DeleteRecordOp(record, suppress), origin, cancellationToken);

    /// <summary>Deletes a profile; with <paramref name="suppress"/>, its identifiers' values are never attached again.</summary>
    public Task<DeleteResult> DeleteProfileAsync(ProjectId project, ProfileId profile, WriteOrigin origin, CancellationToken cancellationToken, bool suppress = false) =>
        ApplyOneAsync<DeleteResult>(project, new GraphOperation.DeleteProfileOp(profile, suppress), origin, cancellationToken);

    /// <summary>What proposed settings would find in the project's existing data, read in one snapshot (the writer is not held).</summary>
    public Task<Guardrails.SettingsImpact> SettingsImpactAsync(ProjectId project, ProjectSettings current, ProjectSettings proposed, CancellationToken cancellationToken,
        Action<long>? progress = null) =>
        Store.ReadAsync(project, session => Guardrails.SettingsImpact.Read(session, current, proposed, progress), cancellationToken);

    /// <summary>Whether the project has more than <paramref name="count"/> profiles (reads at most that many ids and one more).</summary>
    public Task<bool> HasMoreProfilesThanAsync(ProjectId project, int count, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, session => session.ListProfiles(new ProfileId(0), count + 1).Count > count, cancellationToken);

    /// <summary>A page of the review queue, newest first.</summary>
    public Task<IReadOnlyList<Guardrails.ReviewEntry>> ListReviewAsync(ProjectId project, Guardrails.ReviewQuery query, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, session => session.ListReviewEntries(query), cancellationToken);

    /// <summary>One review entry with the profiles its sides belong to now; null when there is no such entry.</summary>
    public Task<ReviewView?> GetReviewAsync(ProjectId project, long id, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, session =>
        {
            if (session.GetReviewEntry(id) is not { } entry)
            {
                return null;
            }
            ProfileView? Side(Guardrails.ReviewSide side) =>
                (side.Record is { } record ? session.GetRecord(record)?.Id : side.Identifier is { } identifier ? session.FindIdentifier(identifier)?.Record : null) is { } now
                    ? ProfileReads.Profile(session, now.Value)
                    : null;
            return new ReviewView(entry, Side(entry.A), Side(entry.B));
        }, cancellationToken);

    /// <summary>Applies the operations in one transaction and one commit; each fails or succeeds alone.</summary>
    public Task<IReadOnlyList<WriteOutcome<object>>> ApplyAsync(ProjectId project, IReadOnlyList<GraphOperation> operations, WriteOrigin origin, CancellationToken cancellationToken)
    {
        if (origin.DryRun is not null)
        {
            return DryRunEachAsync(project, operations, origin, cancellationToken);
        }
        var work = operations.Select(op => (Func<IGraphTransaction, object>)(tx => IdentityGraph.Apply(tx, op, origin))).ToList();
        if (work.Count > 1)
        {
            // The first operation reads ahead what all of them will look up (inside its own savepoint, when there is one).
            var first = operations[0];
            work[0] = tx =>
            {
                IdentityGraph.ReadAhead(tx, operations);
                return IdentityGraph.Apply(tx, first, origin);
            };
        }
        return CountedAsync(Store.WriteEachAsync(project, work, cancellationToken));
    }

    private static async Task<IReadOnlyList<WriteOutcome<object>>> CountedAsync(Task<IReadOnlyList<WriteOutcome<object>>> write)
    {
        var outcomes = await write;
        foreach (var outcome in outcomes)
        {
            Telemetry.SelfsameMetrics.CountWrite(outcome.Value, outcome.Error);
        }
        return outcomes;
    }

    /// <summary>A page of the events of a profile (every record; an id merged away names its profile) or of one record.</summary>
    public Task<EventPage?> EventsAsync(ProjectId project, long profileOrRecord, bool recordOnly, EventQuery query, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, session =>
        {
            ProfileId profile;
            RecordId? record = null;
            if (recordOnly)
            {
                var info = session.GetRecord(new RecordId(profileOrRecord));
                if (info is null)
                {
                    return null;
                }
                profile = info.Profile;
                record = info.Id;
            }
            else
            {
                profile = new ProfileId(profileOrRecord);
                if (session.CountProfileRecords(profile) == 0)
                {
                    var merged = session.GetRecord(new RecordId(profileOrRecord));
                    if (merged is null)
                    {
                        return null;
                    }
                    profile = merged.Profile;
                }
            }
            // One more than the page, to know whether another page follows (a full last page has no next).
            var events = session.GetEvents(profile, record, query with { Limit = query.Limit + 1 });
            if (events.Count <= query.Limit)
            {
                return new EventPage(events, null);
            }
            var page = events.Take(query.Limit).ToList();
            return new EventPage(page, new EventCursor(page[^1].Time.ToUnixTimeMilliseconds(), page[^1].EventId));
        }, cancellationToken);

    /// <summary>Distinct users with events in the range: merged (profiles) and raw (records); per UTC day too when asked.</summary>
    public Task<(UniqueUsers Total, IReadOnlyList<UniqueUsersDay> Days)> UniqueUsersAsync(ProjectId project, DateTimeOffset from, DateTimeOffset to, string? name,
        bool perDay, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, session => (session.CountUniqueUsers(from, to, name), perDay ? session.CountUniqueUsersPerDay(from, to, name) : (IReadOnlyList<UniqueUsersDay>)[]),
            cancellationToken);

    public Task<Resolution?> ResolveAsync(ProjectId project, Identifier identifier, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, session => ProfileReads.Resolve(session, identifier), cancellationToken);

    public Task<ProfileView?> GetProfileAsync(ProjectId project, long id, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, session => ProfileReads.Profile(session, id), cancellationToken);

    public Task<Explanation?> ExplainAsync(ProjectId project, IdentifierInput from, IdentifierInput to, CancellationToken cancellationToken) =>
        Store.ReadAsync(project, session => ProfileReads.Explain(session, from, to), cancellationToken);

    /// <summary>Every profile of the project, in profile id order, read page by page.</summary>
    public async IAsyncEnumerable<ProfileView> ExportAsync(ProjectId project, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = new ProfileId(0);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await Store.ReadAsync(project, session => session.ListProfiles(after, 200)
                .Select(p => ProfileReads.Profile(session, p.Value))
                .OfType<ProfileView>()
                .ToList(), cancellationToken);
            if (page.Count == 0)
            {
                yield break;
            }
            foreach (var view in page)
            {
                yield return view;
            }
            after = page[^1].Id;
            await Task.Yield();
        }
    }
}
