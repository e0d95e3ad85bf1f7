using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Selfsame.Graph;
using Selfsame.Guardrails;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Native;

/// <summary>
/// The guardrails people steer: the review queue (/v1/review), detaching an identifier (DELETE /v1/identifiers), and
/// lifting a suppression (DELETE /v1/suppressions). Read keys may look at the queue; deciding writes to the graph, so
/// it needs a write key, as any merge or unlink does.
/// </summary>
internal static class ReviewEndpoints
{
    public const int MaxPage = 500;

    public static void MapReviewEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/review", async (HttpContext context, IdentityEngine engine, string? status, string? rule, string? profile_id, string? type, string? value,
                string? label, string? name, string? before, string? limit, CancellationToken ct) =>
            {
                var errors = new List<FieldError>();
                var parsedStatus = status is null ? null : ReviewStatuses.Parse(status);
                if (status is not null && parsedStatus is null)
                {
                    errors.Add(new FieldError("status", "must be held, refused, approved or rejected"));
                }
                var profile = Long(profile_id, "profile_id", errors);
                var beforeId = Long(before, "before", errors);
                var size = Long(limit, "limit", errors) ?? 100;
                if (size is < 1 or > MaxPage)
                {
                    errors.Add(new FieldError("limit", $"must be between 1 and {MaxPage}"));
                }
                var identifier = type is not null || value is not null || label is not null || name is not null
                    ? NativeApi.Try(() => new OperationReader(context.Surface().Settings).ReadIdentifier(type, value, label, name, ""), errors)?.Identifier
                    : null;
                if (errors.Count > 0)
                {
                    return Problems.Invalid(errors);
                }
                var query = new ReviewQuery(parsedStatus, rule, profile is { } p ? new ProfileId(p) : null, identifier, beforeId, (int)size);
                var entries = await engine.ListReviewAsync(context.Caller().Project, query, ct);
                return Results.Ok(new ReviewListResponse(entries.Select(ReviewEntryDto.Of).ToList(), entries.Count == size ? entries[^1].Id : null));
            })
            .Needs(Roles.Read).Produces<ReviewListResponse>()
            .WithSummary("The review queue, newest first: refused, held, approved and rejected merges and dropped identifiers; filter by status, rule, profile_id or identifier; page with before.");

        v1.MapGet("/review/{id:long}", async (HttpContext context, IdentityEngine engine, long id, CancellationToken ct) =>
                await engine.GetReviewAsync(context.Caller().Project, id, ct) is { } view
                    ? Results.Ok(ReviewResponse.Of(view))
                    : Results.Problem(statusCode: 404, title: "Not found", detail: $"id: no review entry {id} in this project"))
            .Needs(Roles.Read).Produces<ReviewResponse>()
            .WithSummary("One review entry, with the profiles of both sides as they are now.");

        v1.MapPost("/review/{id:long}/approve", async (HttpContext context, IdentityEngine engine, long id, CancellationToken ct) =>
                Results.Ok(ReviewDecisionResponse.Of(await engine.ApplyOneAsync<ReviewDecision>(context.Caller().Project, new GraphOperation.ApproveReviewOp(id),
                    context.Surface().Origin, ct))))
            .Needs(Roles.Write).Produces<ReviewDecisionResponse>().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Approve an entry: its two sides, as they are now, are joined by an explicit link of kind review (undone by unlink like any link).");

        v1.MapPost("/review/{id:long}/reject", async (HttpContext context, IdentityEngine engine, long id, CancellationToken ct) =>
                Results.Ok(ReviewDecisionResponse.Of(await engine.ApplyOneAsync<ReviewDecision>(context.Caller().Project, new GraphOperation.RejectReviewOp(id),
                    context.Surface().Origin, ct))))
            .Needs(Roles.Write).Produces<ReviewDecisionResponse>().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Reject an entry: it is closed and nothing is merged; the same refusal coming again counts on it.");

        v1.MapDelete("/identifiers", async (HttpContext context, IdentityEngine engine, string? type, string? value, string? label, string? name, string? suppress,
                CancellationToken ct) =>
            {
                var identifier = new OperationReader(context.Surface().Settings).ReadIdentifier(type, value, label, name, "");
                if (Flag(suppress) is not { } flag)
                {
                    return Problems.Invalid("suppress", "must be true or false");
                }
                var result = await engine.ApplyOneAsync<DetachResult>(context.Caller().Project, new GraphOperation.DetachIdentifierOp(identifier, flag), context.Surface().Origin, ct);
                return Results.Ok(new DetachResponse(IdentifierDto.Of(result.Identifier), result.Record?.Value, result.Profile?.Value, result.Suppressed));
            })
            .Needs(Roles.Write).Produces<DetachResponse>()
            .WithSummary("Remove one identifier from its record (the record, its other identifiers, links and events stay); with suppress=true its value is never attached again.");

        v1.MapDelete("/suppressions", async (HttpContext context, IdentityEngine engine, string? type, string? value, string? label, string? name, CancellationToken ct) =>
            {
                var identifier = new OperationReader(context.Surface().Settings).ReadIdentifier(type, value, label, name, "");
                return await engine.ApplyOneAsync<bool>(context.Caller().Project, new GraphOperation.LiftSuppressionOp(identifier), context.Surface().Origin, ct)
                    ? Results.Ok(new { lifted = true, identifier = IdentifierDto.Of(identifier.Identifier) })
                    : Results.Problem(statusCode: 404, title: "Not found", detail: $"value: {identifier.Identifier} is not suppressed in this project");
            })
            .Needs(Roles.Admin).Produces(200)
            .WithSummary("Lift a suppression: the value may be attached again. Admin keys only.");
    }

    /// <summary>A query flag: absent is false; true or false otherwise; null for anything else.</summary>
    internal static bool? Flag(string? text) => text switch
    {
        null or "false" or "0" => false,
        "true" or "1" => true,
        _ => null,
    };

    private static long? Long(string? text, string field, List<FieldError> errors)
    {
        if (text is null)
        {
            return null;
        }
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }
        errors.Add(new FieldError(field, "must be a whole number"));
        return null;
    }
}

public sealed record ReviewSideDto(IdentifierDto? Identifier, long? RecordId, long? ProfileId)
{
    public static ReviewSideDto Of(ReviewSide side) => new(side.Identifier is { } i ? IdentifierDto.Of(i) with { Display = side.Display } : null, side.Record?.Value, side.Profile?.Value);
}

public sealed record ReviewEntryDto(
    long Id,
    string Rule,
    string Status,
    string Reason,
    string Field,
    ReviewSideDto A,
    ReviewSideDto B,
    string Surface,
    string? KeyId,
    string? RequestId,
    DateTimeOffset FirstSeenAt,
    DateTimeOffset LastSeenAt,
    long Count,
    DateTimeOffset? DecidedAt,
    string? DecidedByKey,
    string? DecisionRequestId,
    long? LinkId)
{
    public static ReviewEntryDto Of(ReviewEntry e) => new(e.Id, e.Rule, ReviewStatuses.Name(e.Status), e.Reason, e.Field, ReviewSideDto.Of(e.A), ReviewSideDto.Of(e.B),
        e.Surface, e.KeyId, e.RequestId, e.FirstAt, e.LastAt, e.Count, e.DecidedAt, e.DecidedByKey, e.DecisionRequestId, e.Link?.Value);
}

public sealed record ReviewListResponse(IReadOnlyList<ReviewEntryDto> Entries, long? NextBefore);

public sealed record ReviewResponse(ReviewEntryDto Entry, ProfileResponse? AProfile, ProfileResponse? BProfile)
{
    public static ReviewResponse Of(ReviewView view) =>
        new(ReviewEntryDto.Of(view.Entry), view.A is null ? null : ProfileResponse.Of(view.A), view.B is null ? null : ProfileResponse.Of(view.B));
}

public sealed record ReviewDecisionResponse(ReviewEntryDto Entry, string Outcome, LinkResponse? Link)
{
    public static ReviewDecisionResponse Of(ReviewDecision d) => new(ReviewEntryDto.Of(d.Entry), d.Outcome switch
    {
        ReviewOutcome.Merged => "merged",
        ReviewOutcome.AlreadyJoined => "already_joined",
        _ => "rejected",
    }, d.Link is null ? null : LinkResponse.Of(d.Link));
}

public sealed record DetachResponse(IdentifierDto Identifier, long? RecordId, long? ProfileId, bool Suppressed);
