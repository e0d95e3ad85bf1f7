using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Native;

/// <summary>The native API under /v1: identify, link, unlink, resolve, profiles, explain, delete, batch, export.</summary>
public static class NativeApi
{
    /// <summary>The native API's OpenAPI document (served at /openapi/v1.json, committed as docs/openapi.json).</summary>
    public static IServiceCollection AddNativeApi(this IServiceCollection services) =>
        services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Selfsame API";
            doc.Info.Description = "The native API, and each vendor surface under its own prefix and tag (its page in docs/ has the details).";
            doc.Info.Version = "v1";
            doc.Servers?.Clear();
            return Task.CompletedTask;
        }).AddSurfaceDescriptions());

    public static IEndpointRouteBuilder MapNativeApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        var v1 = app.MapSurface("/v1", NativeErrors.Surface).WithTags("Identity");

        v1.MapPost("/identify", async (HttpContext context, IdentityEngine engine, Projects projects, CancellationToken ct) =>
            {
                var caller = context.Caller();
                var body = await context.Surface().JsonAsync();
                var command = new OperationReader(context.Surface().Settings).ReadIdentify(body);
                var result = await engine.IdentifyAsync(caller.Project, command, context.Surface().Origin, ct);
                return Results.Ok(IdentifyResponse.Of(result));
            })
            .Needs(Roles.Write).Accepts<IdentifyRequest>("application/json").Produces<IdentifyResponse>()
            .WithSummary("Upsert the record of user_id (or of the first identifier), attach identifiers, write properties.");

        v1.MapPost("/link", async (HttpContext context, IdentityEngine engine, Projects projects, CancellationToken ct) =>
            {
                var caller = context.Caller();
                var body = await context.Surface().JsonAsync();
                var command = new OperationReader(context.Surface().Settings).ReadLink(body);
                var result = await engine.LinkAsync(caller.Project, command, context.Surface().Origin, ct);
                return Results.Ok(LinkResponse.Of(result));
            })
            .Needs(Roles.Write).Accepts<LinkRequest>("application/json").Produces<LinkResponse>().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Join the record of 'from' into the record of 'into' with an explicit link.");

        v1.MapPost("/unlink", async (HttpContext context, IdentityEngine engine, Projects projects, CancellationToken ct) =>
            {
                var caller = context.Caller();
                var body = await context.Surface().JsonAsync();
                var command = new OperationReader(context.Surface().Settings).ReadUnlink(body);
                var result = await engine.UnlinkAsync(caller.Project, command, context.Surface().Origin, ct);
                return Results.Ok(UnlinkResponse.Of(result));
            })
            .Needs(Roles.Write).Accepts<LinkRequest>("application/json").Produces<UnlinkResponse>()
            .WithSummary("Remove the links between two records; the profile splits where that link was its only bridge.");

        v1.MapGet("/resolve", async (HttpContext context, IdentityEngine engine, Projects projects, string? type, string? value, string? label, string? name, CancellationToken ct) =>
            {
                var caller = context.Caller();
                var identifier = new OperationReader(context.Surface().Settings).ReadIdentifier(type, value, label, name, "");
                var resolution = await engine.ResolveAsync(caller.Project, identifier.Identifier, ct);
                return resolution is null
                    ? Results.Problem(statusCode: 404, title: "Not found", detail: $"value: no record holds the identifier {identifier.Identifier}")
                    : Results.Ok(ResolveResponse.Of(resolution));
            })
            .Needs(Roles.Read).Produces<ResolveResponse>()
            .WithSummary("The profile that an identifier belongs to, with all of its identifiers.");

        v1.MapGet("/profiles/{id:long}", async (HttpContext context, IdentityEngine engine, long id) =>
            {
                var view = await engine.GetProfileAsync(context.Caller().Project, id, context.RequestAborted);
                return view is null
                    ? Results.Problem(statusCode: 404, title: "Not found", detail: $"id: no profile or record {id} in this project")
                    : Results.Ok(ProfileResponse.Of(view));
            })
            .Needs(Roles.Read).Produces<ProfileResponse>()
            .WithSummary("A profile: its records, identifiers, links, and merged properties with the record each came from.");

        v1.MapDelete("/profiles/{id:long}", async (HttpContext context, IdentityEngine engine, long id, string? suppress, CancellationToken ct) =>
                ReviewEndpoints.Flag(suppress) is not { } flag
                    ? Problems.Invalid("suppress", "must be true or false")
                    : Results.Ok(DeleteResponse.Of(await engine.DeleteProfileAsync(context.Caller().Project, new ProfileId(id), context.Surface().Origin, ct, flag))))
            .Needs(Roles.Write).Produces<DeleteResponse>()
            .WithSummary("Delete every record of a profile, with identifiers, properties and links, for good; with suppress=true its identifiers are never attached again.");

        v1.MapDelete("/records/{id:long}", async (HttpContext context, IdentityEngine engine, long id, string? suppress, CancellationToken ct) =>
                ReviewEndpoints.Flag(suppress) is not { } flag
                    ? Problems.Invalid("suppress", "must be true or false")
                    : Results.Ok(DeleteResponse.Of(await engine.DeleteRecordAsync(context.Caller().Project, new RecordId(id), context.Surface().Origin, ct, flag))))
            .Needs(Roles.Write).Produces<DeleteResponse>()
            .WithSummary("Delete one record with its identifiers, properties and links; its profile splits where needed; with suppress=true its identifiers are never attached again.");

        v1.MapGet("/explain", async (HttpContext context, IdentityEngine engine, Projects projects,
                string? from_type, string? from_value, string? from_label, string? from_name,
                string? to_type, string? to_value, string? to_label, string? to_name, CancellationToken ct) =>
            {
                var caller = context.Caller();
                var reader = new OperationReader(context.Surface().Settings);
                var errors = new List<FieldError>();
                var from = Try(() => reader.ReadIdentifier(from_type, from_value, from_label, from_name, "from"), errors);
                var to = Try(() => reader.ReadIdentifier(to_type, to_value, to_label, to_name, "to"), errors);
                if (from is null || to is null)
                {
                    return Problems.Invalid(errors);
                }
                return Results.Ok(ExplainResponse.Of((await engine.ExplainAsync(caller.Project, from, to, ct))!));
            })
            .Needs(Roles.Read).Produces<ExplainResponse>()
            .WithSummary("Why two identifiers are (or are not) the same person: the chain of links between their records.");

        v1.MapPost("/batch", async (HttpContext context, IdentityEngine engine, Projects projects, SelfsameOptions options, CancellationToken ct) =>
            {
                var caller = context.Caller();
                var body = await context.Surface().JsonAsync();
                if (RequireList(body, "operations", options.MaxBatchOperations, "operations, each {\"op\":\"identify\"|\"link\"|\"unlink\", ...}", out var list) is { } invalid)
                {
                    return invalid;
                }
                var reader = new OperationReader(context.Surface().Settings);
                var results = new BatchResult?[list.GetArrayLength()];
                var parsed = new List<(int Index, GraphOperation Operation)>();
                var index = 0;
                foreach (var item in list.EnumerateArray())
                {
                    try
                    {
                        parsed.Add((index, reader.ReadOperation(item, $"operations[{index}]", null)));
                    }
                    catch (RequestValidationException e)
                    {
                        results[index] = new BatchResult(index, OpName(item), false, null, Problems.ForBatch(e));
                    }
                    index++;
                }
                var outcomes = await engine.ApplyAsync(caller.Project, parsed.Select(p => p.Operation).ToList(), context.Surface().Origin, ct);
                for (var i = 0; i < parsed.Count; i++)
                {
                    var (at, operation) = parsed[i];
                    var outcome = outcomes[i];
                    results[at] = outcome.Succeeded
                        ? new BatchResult(at, OpName(operation), true, ToResponse(outcome.Value!), null)
                        : new BatchResult(at, OpName(operation), false, null, Problems.ForBatch(outcome.Error!));
                }
                var all = results.Select(r => r!).ToList();
                return Results.Ok(new BatchResponse(all.Count(r => r.Ok), all.Count(r => !r.Ok), all));
            })
            .Needs(Roles.Write).Accepts<BatchRequest>("application/json").Produces<BatchResponse>()
            .WithSummary("Many identify, link and unlink operations in one commit, with a result for each; a failing one is skipped alone.");

        v1.MapGet("/export", (HttpContext context, IdentityEngine engine, CancellationToken ct) =>
                Results.Stream(async stream =>
                {
                    await foreach (var view in engine.ExportAsync(context.Caller().Project, ct))
                    {
                        await JsonSerializer.SerializeAsync(stream, ProfileResponse.Of(view), JsonDefaults.Options, ct);
                        await stream.WriteAsync(NewLine, ct);
                    }
                }, "application/x-ndjson"))
            .Needs(Roles.Read)
            .WithSummary("Every profile of the project as NDJSON, one profile a line.");

        v1.MapEventEndpoints();
        v1.MapReviewEndpoints();
        v1.MapJobEndpoints();
        v1.MapChangeEndpoints();
        return app;
    }

    private static readonly ReadOnlyMemory<byte> NewLine = "\n"u8.ToArray();

    /// <summary>The array under <paramref name="field"/> of a request body, or the problem when it is missing or holds more than <paramref name="max"/> items.</summary>
    internal static IResult? RequireList(JsonElement root, string field, int max, string what, out JsonElement list)
    {
        list = default;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(field, out list) || list.ValueKind != JsonValueKind.Array)
        {
            return Problems.Invalid(field, $"is required: an array of {what}");
        }
        return list.GetArrayLength() > max
            ? Problems.Invalid(field, $"holds {list.GetArrayLength()} items; at most {max} are allowed", StatusCodes.Status413PayloadTooLarge)
            : null;
    }

    /// <summary>Runs a read of request input; its field errors go to <paramref name="errors"/> and the answer is null.</summary>
    internal static T? Try<T>(Func<T> read, List<FieldError> errors) where T : class
    {
        try
        {
            return read();
        }
        catch (RequestValidationException e)
        {
            errors.AddRange(e.Errors);
            return null;
        }
    }

    private static string OpName(JsonElement item) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty("op", out var op) && op.ValueKind == JsonValueKind.String ? op.GetString()! : "?";

    private static string OpName(GraphOperation operation) => operation switch
    {
        GraphOperation.IdentifyOp => "identify",
        GraphOperation.LinkOp => "link",
        GraphOperation.TrackOp => "track",
        _ => "unlink",
    };

    private static object ToResponse(object result) => result switch
    {
        IdentifyResult r => IdentifyResponse.Of(r),
        LinkResult r => LinkResponse.Of(r),
        UnlinkResult r => UnlinkResponse.Of(r),
        Events.TrackResult r => new { event_id = r.EventId, record_id = r.Record.Value, profile_id = r.Profile.Value, duplicate = r.Duplicate },
        _ => result,
    };
}
