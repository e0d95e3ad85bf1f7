using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Operations;

namespace Selfsame.Server.Hosting;

/// <summary>Reads a request body as JSON with the native API's limits (content type, size, depth, duplicate keys).</summary>
public static class JsonBody
{
    public static async Task<JsonDocument> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var options = request.HttpContext.RequestServices.GetRequiredService<SelfsameOptions>();
        if (!request.HasJsonContentType())
        {
            throw new RequestValidationException([new FieldError("Content-Type", $"expected application/json, got '{request.ContentType ?? "nothing"}'")]);
        }
        var size = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (size is { IsReadOnly: false })
        {
            size.MaxRequestBodySize = options.MaxRequestBodyBytes;
        }
        if (request.ContentLength > options.MaxRequestBodyBytes)
        {
            throw new BadHttpRequestException($"the body is {request.ContentLength} bytes; at most {options.MaxRequestBodyBytes} are accepted", StatusCodes.Status413PayloadTooLarge);
        }
        try
        {
            return await JsonDocument.ParseAsync(request.Body,
                new JsonDocumentOptions { MaxDepth = options.MaxJsonDepth, AllowDuplicateProperties = false }, cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new BadHttpRequestException($"the body is larger than {options.MaxRequestBodyBytes} bytes", StatusCodes.Status413PayloadTooLarge);
        }
    }
}
