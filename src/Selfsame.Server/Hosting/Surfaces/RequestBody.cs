using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Selfsame.Operations;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>What is wrong with a request body as a whole; the pipeline answers it in the surface's envelope.</summary>
public enum BodyFault
{
    /// <summary>No body where the endpoint needs one.</summary>
    Missing,
    TooLarge,
    UnsupportedMediaType,
    Malformed,
}

/// <summary>A body that cannot be read as the endpoint needs it; nothing of the request was written.</summary>
public sealed class RequestBodyException(BodyFault fault, FieldError error) : Exception(error.ToString())
{
    public BodyFault Fault { get; } = fault;

    /// <summary>What is wrong, naming the header or field at fault: <c>(body)</c> for the body as a whole, <c>Content-Type</c>...</summary>
    public FieldError Error { get; } = error;
}

/// <summary>
/// The one reader of request bodies, for every surface: the body streamed into a buffer from the shared pool (returned
/// when the response is done), stopped as soon as it passes its limit; JSON parsed from that buffer with the depth and
/// text checks every surface shares; forms through ASP.NET Core's form reader with the same limit.
/// </summary>
public static class RequestBody
{
    private const int FirstBuffer = 4096;

    /// <summary>The whole body, at most <paramref name="maxBytes"/>; valid until the response completes.</summary>
    public static async Task<ReadOnlyMemory<byte>> ReadBytesAsync(HttpContext context, long maxBytes, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = maxBytes;
        }
        var rented = new RentedBuffer((int)Math.Min(request.ContentLength + 1 ?? FirstBuffer, maxBytes + 1));
        context.Response.RegisterForDispose(rented);
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled > maxBytes)
                {
                    throw TooLarge(maxBytes);
                }
                if (filled == rented.Array.Length)
                {
                    rented.Grow((int)Math.Min((long)filled * 2, maxBytes + 1));
                }
                // Never more than one byte past the limit: that byte is enough to know the body is too large.
                var room = (int)Math.Min(rented.Array.Length - filled, maxBytes + 1 - filled);
                var read = await request.Body.ReadAsync(rented.Array.AsMemory(filled, room), cancellationToken);
                if (read == 0)
                {
                    break;
                }
                filled += read;
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxBytes);
        }
        catch (Exception e) when (e is InvalidDataException || (e is InvalidOperationException && request.Headers.ContentEncoding.Count > 0))
        {
            // A body sent compressed (Content-Encoding) that does not decompress (Brotli's decoder throws the second kind).
            throw new RequestBodyException(BodyFault.Malformed, new FieldError("Content-Encoding", $"the body does not decompress as the header says: {e.Message}"));
        }
        if (filled > maxBytes)
        {
            throw TooLarge(maxBytes);
        }
        return rented.Array.AsMemory(0, filled);
    }

    /// <summary>Refuses a body whose Content-Type is not JSON.</summary>
    public static void RequireJsonContentType(HttpContext context)
    {
        if (!context.Request.HasJsonContentType())
        {
            throw new RequestBodyException(BodyFault.UnsupportedMediaType,
                new FieldError("Content-Type", $"expected application/json, got '{context.Request.ContentType ?? "nothing"}'"));
        }
    }

    /// <summary>
    /// Parses a body (or text a surface took from a form field) as JSON: valid UTF-8, at most <paramref name="maxDepth"/>
    /// deep, no duplicate keys, no unreadable strings. The document lives until the response completes.
    /// </summary>
    public static JsonDocument ParseJson(HttpContext context, ReadOnlyMemory<byte> bytes, int maxDepth)
    {
        if (bytes.Length == 0)
        {
            throw new RequestBodyException(BodyFault.Missing, new FieldError("(body)", "is required: the request has no body"));
        }
        if (!Utf8.IsValid(bytes.Span))
        {
            throw new RequestValidationException([new FieldError("(body)", "is not valid UTF-8")]);
        }
        var document = JsonText.Parse(bytes, maxDepth);
        context.Response.RegisterForDispose(document);
        return document;
    }

    /// <summary>A url-encoded or multipart form, at most <paramref name="maxBytes"/> (a multipart file too); an empty form when the body is none.</summary>
    public static async Task<IFormCollection> ReadFormAsync(HttpContext context, long maxBytes, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (!request.HasFormContentType)
        {
            return FormCollection.Empty;
        }
        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = maxBytes;
        }
        var limit = (int)Math.Min(maxBytes, int.MaxValue);
        try
        {
            return await request.ReadFormAsync(new FormOptions
            {
                ValueLengthLimit = limit,
                MultipartBodyLengthLimit = maxBytes,
                BufferBodyLengthLimit = maxBytes,
            }, cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxBytes);
        }
        catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            throw TooLarge(maxBytes);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
        {
            throw new RequestBodyException(BodyFault.Malformed, new FieldError("(body)", $"not a readable form body ({e.Message})"));
        }
    }

    private static RequestBodyException TooLarge(long maxBytes) =>
        new(BodyFault.TooLarge, new FieldError("(body)", $"larger than {maxBytes} bytes, the most this endpoint accepts"));

    /// <summary>
    /// A buffer from the shared pool, returned to it when the response is disposed; a body of more than a mebibyte (an
    /// import, a bulk file) gets an array of its own instead, so that the pool does not keep arrays that large.
    /// </summary>
    private sealed class RentedBuffer(int length) : IDisposable
    {
        private const int PooledUpTo = 1024 * 1024;

        public byte[] Array { get; private set; } = Take(Math.Max(length, 16));

        public void Grow(int length)
        {
            var larger = Take(length);
            Array.AsSpan().CopyTo(larger);
            Give(Array);
            Array = larger;
        }

        public void Dispose() => Give(Array);

        private static byte[] Take(int length) => length <= PooledUpTo ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);

        private static void Give(byte[] array)
        {
            if (array.Length <= PooledUpTo)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }
}
