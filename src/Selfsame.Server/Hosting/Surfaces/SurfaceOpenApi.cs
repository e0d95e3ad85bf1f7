using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>
/// The OpenAPI document's view of the shared pipeline: each operation gets the security scheme of its surface's
/// credentials (so that Swagger UI or Postman send the key where the surface reads it) and the failures the pipeline can
/// answer, in the surface's own shape: problem details on the native API, the vendor's envelope (its page in docs/ says
/// which) on a vendor surface.
/// </summary>
internal static class SurfaceOpenApi
{
    /// <summary>The native API's problem details (RFC 9457), as it writes them: the schema of its error answers.</summary>
    internal sealed record Problem(string Type, string Title, int Status, string? Detail, IReadOnlyList<ProblemField>? Errors, string RequestId);

    internal sealed record ProblemField(string Field, string Message);

    public static OpenApiOptions AddSurfaceDescriptions(this OpenApiOptions options) =>
        options.AddOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            if (metadata.OfType<SurfaceDescription>().LastOrDefault() is not { } surface)
            {
                return;
            }
            var needs = metadata.OfType<EndpointNeeds>().LastOrDefault();
            var document = context.Document!;
            if (Scheme(surface.Credentials) is { } scheme)
            {
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes.TryAdd(scheme.Id, scheme.Scheme);
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme.Id, document)] = [] }];
            }
            operation.Responses ??= new OpenApiResponses();
            if (surface.Errors is not NativeErrors)
            {
                // Each vendor answers its failures with statuses and bodies of its own: its page lists them.
                operation.Responses.TryAdd("default", new OpenApiResponse
                {
                    Description = $"a failure (a field that is not valid, a key that will not do, the rate limit, the store out of reach), " +
                                  $"in {surface.Name}'s own error shape; docs/{surface.Name}.md lists each status",
                });
                return;
            }
            var problem = await context.GetOrCreateSchemaAsync(typeof(Problem), null, cancellationToken);
            OpenApiResponse ProblemAnswer(string what) => new()
            {
                Description = what,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = problem } },
            };
            foreach (var (status, what) in Failures(surface, needs, context.Description.RelativePath ?? "", operation.RequestBody is not null))
            {
                operation.Responses[status] = ProblemAnswer(what);
            }
            // An endpoint that declares a refusal of its own (ProducesProblem(409)) gets its description and schema.
            if (operation.Responses.ContainsKey("409"))
            {
                operation.Responses["409"] = ProblemAnswer("refused by the graph's rules (the record cap of merge protection, a decision that cannot be taken); nothing was written");
            }
        });

    /// <summary>What every endpoint of the surface can answer: the pipeline's failures, and those of the endpoint's kind.</summary>
    private static IEnumerable<(string Status, string What)> Failures(SurfaceDescription surface, EndpointNeeds? needs, string path, bool readsBody)
    {
        yield return ("400", "the request is not valid; the answer names the field");
        if (needs is not null)
        {
            yield return ("401", "no key, or not a live key of the project");
            yield return ("403", $"the key's role will not do (this needs {needs.Role}{(needs.Permission is { } p ? $" and the permission {p}" : "")})");
        }
        if (path.Contains('{', StringComparison.Ordinal) || NamesSomething.Any(n => path.EndsWith(n, StringComparison.Ordinal)))
        {
            yield return ("404", "what the request names does not exist (an identifier, profile, record, job or review entry)");
        }
        if (readsBody)
        {
            yield return ("413", "the body is larger than this endpoint reads");
            yield return ("415", "the body is not JSON (Content-Type)");
        }
        if (needs?.Limit is not null || surface.ConfiguredLimitFamily is not null)
        {
            yield return ("429", needs?.Limit is null
                ? "over the rate limit, when the server is configured with one; Retry-After says when to try again"
                : "over the rate limit; Retry-After says when to try again");
        }
        yield return ("503", "the store cannot be reached; nothing was written, retry shortly");
    }

    /// <summary>Endpoints without a route value that answer 404 for an identifier nobody holds.</summary>
    private static readonly string[] NamesSomething = ["resolve", "explain", "unlink", "identifiers", "suppressions"];

    private static (string Id, OpenApiSecurityScheme Scheme)? Scheme(Credentials credentials) => credentials switch
    {
        Credentials.Header { Scheme: "Bearer" } => ("bearer", new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "A Selfsame API key of the project: Authorization: Bearer KEY.",
        }),
        Credentials.Header header => (header.Scheme.ToLowerInvariant(), new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "Authorization",
            Description = $"The value '{header.Scheme} KEY', with a Selfsame API key of the project.",
        }),
        Credentials.BasicWorkspace => ("basic_workspace", new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "basic",
            Description = "HTTP Basic: the user name is the project id (MoEngage's workspace id), the password a Selfsame API key of it.",
        }),
        Credentials.BasicKeyPair => ("basic_key_pair", new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "basic",
            Description = "HTTP Basic of API_KEY:SECRET_KEY (Amplitude's lookup): any live key of the project, then a key with the endpoint's role; " +
                          "or the parameters api_key and secret_key.",
        }),
        Credentials.BasicUserName => ("basic_user_name", new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "basic",
            Description = "HTTP Basic with a Selfsame API key of the project as the user name and no password (Segment's write key), or writeKey in the body.",
        }),
        // A parameter OpenAPI can place: the query string (a form body takes it too, as the description says).
        Credentials.Parameter { InQuery: true } parameter => (parameter.Name, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Query, Name = parameter.Name,
            Description = $"A Selfsame API key of the project as the parameter {parameter.Name} (or {parameter.OtherSpelling ?? parameter.Name}), " +
                          (parameter.InForm ? "in the query string or a form body." : "in the query string."),
        }),
        // The key is a segment of the path (Journey Analytics' tracker) or a field of the JSON body (Amplitude's ingestion),
        // places no OpenAPI security scheme names: the surface's page describes them.
        _ => null,
    };
}
