using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;

namespace Selfsame.Server.Cooladata;

/// <summary>
/// Journey Analytics' (Cooladata's) User Identities Matching API under /cooladata: match a customer_user_id with an
/// alternative_user_id. Errors are 400 with the vendor's plain-text messages; success is 200 with the number of users updated.
/// </summary>
public static class CooladataApi
{
    public const string Surface = "cooladata";

    /// <summary>The alias label under which alternative user ids are kept in the graph.</summary>
    public const string AlternativeIdLabel = "alternative_user_id";

    public static IEndpointRouteBuilder MapCooladataApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/cooladata/api/v2/projects/{projectId}/users/identities", MatchAsync).WithTags("Cooladata").ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> MatchAsync(HttpContext context, string projectId, KeyAuthentication keys, IdentityEngine engine, SelfsameOptions options, CancellationToken ct)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Token ", StringComparison.OrdinalIgnoreCase) ? header[6..] : null;
        var check = await keys.CheckAsync(token, Roles.Read, ct);
        if (check.Result is KeyCheckResult.Missing or KeyCheckResult.Invalid)
        {
            context.Response.Headers.WWWAuthenticate = "Token";
            return Results.Text("Authorization: send 'Authorization: Token <API token>' with a valid token", statusCode: 401);
        }
        // A key of another project, or one without the admin role, has no admin permission on this project; the answer
        // is the same in both cases, so it says nothing about whether the project exists.
        if (check.Caller!.Project.Value != projectId || check.Caller.Role != Roles.Admin)
        {
            return Fail($"Operation requires admin permissions on project {projectId}");
        }
        if (context.Request.ContentLength > options.MaxRequestBodyBytes)
        {
            return Results.Text($"Payload too large: at most {options.MaxRequestBodyBytes} bytes", statusCode: 413);
        }
        string customerUserId, alternativeUserId;
        try
        {
            using var body = await JsonBody.ReadAsync(context.Request, ct);
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Fail("The payload must be a JSON object {\"customer_user_id\": ..., \"alternative_user_id\": ...}");
            }
            customerUserId = RequiredId(body.RootElement, "customer_user_id");
            alternativeUserId = RequiredId(body.RootElement, "alternative_user_id");
        }
        catch (RequestValidationException e)
        {
            return Fail(e.Message);
        }
        catch (JsonException e)
        {
            return Fail($"Invalid JSON payload: {e.Message}");
        }
        catch (BadHttpRequestException e)
        {
            return Results.Text(e.Message, statusCode: e.StatusCode);
        }

        var customer = new IdentifierInput(new Identifier(IdentifierTypes.UserId, customerUserId), customerUserId, "customer_user_id");
        var alternative = new IdentifierInput(Identifier.Alias(AlternativeIdLabel, alternativeUserId), alternativeUserId, "alternative_user_id");
        try
        {
            var updated = await engine.WriteAsync(check.Caller.Project, tx =>
            {
                // Only users that exist (on any surface) can be matched.
                if (tx.FindIdentifier(customer.Identifier) is null)
                {
                    throw new GraphException(GraphErrorKind.NotFound, "customer_user_id", $"No customer user id {customerUserId} for project {projectId}");
                }
                var result = IdentityGraph.Link(tx, new LinkCommand(alternative, customer, LinkKinds.Match), new WriteOrigin(Surface, context.RequestId()));
                return result.AlreadyJoined ? 0 : 1;
            }, ct);
            return Results.Json(updated);
        }
        catch (GraphException e)
        {
            return Fail(e.Message);
        }
    }

    private static string RequiredId(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            throw new RequestValidationException([new FieldError(name, $"{name} is required: a string")]);
        }
        var value = element.GetString()!;
        if (value.Length is 0 or > IdentifierNormalizer.MaxValueLength || value.Contains('\0', StringComparison.Ordinal))
        {
            throw new RequestValidationException([new FieldError(name, $"{name} must be 1 to {IdentifierNormalizer.MaxValueLength} characters")]);
        }
        return value;
    }

    private static IResult Fail(string message) => Results.Text(message, statusCode: 400);
}
