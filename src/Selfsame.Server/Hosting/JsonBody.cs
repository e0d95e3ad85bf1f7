using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Operations;

namespace Selfsame.Server.Hosting;

/// <summary>
/// Reads a request body as JSON with the native API's limits: content type, size, valid UTF-8, depth, no duplicate keys.
/// The body is read whole (it is bounded by the size limit) so that it can be checked before anything parses it.
/// </summary>
public static class JsonBody
{
    public static async Task<JsonDocument> ReadAsync(HttpRequest request, CancellationToken cancellationToken, long? maxBytes = null)
    {
        var options = request.HttpContext.RequestServices.GetRequiredService<SelfsameOptions>();
        if (maxBytes is { } limit)
        {
            options = options with { MaxRequestBodyBytes = limit };
        }
        if (!request.HasJsonContentType())
        {
            throw new BadHttpRequestException($"Content-Type: expected application/json, got '{request.ContentType ?? "nothing"}'", StatusCodes.Status415UnsupportedMediaType);
        }
        var size = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (size is { IsReadOnly: false })
        {
            size.MaxRequestBodySize = options.MaxRequestBodyBytes;
        }
        if (request.ContentLength > options.MaxRequestBodyBytes)
        {
            throw TooLarge(options);
        }
        var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(options);
        }
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (!Utf8.IsValid(bytes.Span))
        {
            throw new RequestValidationException([new FieldError("(body)", "is not valid UTF-8")]);
        }
        return JsonText.Parse(bytes, options.MaxJsonDepth);
    }

    private static BadHttpRequestException TooLarge(SelfsameOptions options) =>
        new($"(body): larger than {options.MaxRequestBodyBytes} bytes, the most this server accepts", StatusCodes.Status413PayloadTooLarge);
}
