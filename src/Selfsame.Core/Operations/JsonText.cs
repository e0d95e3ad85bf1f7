using System.Text.Json;

namespace Selfsame.Operations;

public static class JsonText
{
    private const string NotUnicode = "holds a string that is not valid Unicode (an unpaired surrogate escape such as \\ud800)";

    /// <summary>
    /// Parses JSON text that a client sent: no duplicate property names, at most <paramref name="maxDepth"/> levels, and
    /// every string readable (see <see cref="EnsureReadable"/>). Throws <see cref="JsonException"/> for malformed JSON and
    /// <see cref="RequestValidationException"/> for the rest.
    /// </summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, int maxDepth)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = maxDepth, AllowDuplicateProperties = false });
        }
        catch (InvalidOperationException)
        {
            // The duplicate-name check reads names while parsing, and an unpaired surrogate in a name fails it there.
            // Parse again without that check only to say where the bad string is.
            using var lenient = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = maxDepth });
            EnsureReadable(lenient.RootElement);
            throw new RequestValidationException([new FieldError("(body)", NotUnicode)]);
        }
        try
        {
            if (!IsReadable(document.RootElement))
            {
                EnsureReadable(document.RootElement);
            }
            return document;
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    public static JsonDocument Parse(string text, int maxDepth) => Parse(System.Text.Encoding.UTF8.GetBytes(text), maxDepth);

    /// <summary>
    /// Checks that every string and property name in <paramref name="element"/> can be read as text. Valid UTF-8 can
    /// still carry an escaped lone surrogate ("\ud800"), which System.Text.Json refuses only when the string is read;
    /// this finds it up front and names where it is.
    /// </summary>
    public static void EnsureReadable(JsonElement element, string path = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                Read(() => element.GetString(), path);
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    EnsureReadable(item, $"{path}[{i++}]");
                }
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    var name = Read(() => property.Name, path.Length == 0 ? "(body)" : path);
                    EnsureReadable(property.Value, path.Length == 0 ? name : $"{path}.{name}");
                }
                break;
        }
    }

    /// <summary>
    /// Whether every string and property name in <paramref name="element"/> can be read as text, without building a path
    /// or a string for any of them: a string is unreadable only with invalid UTF-8 or an escaped lone surrogate, so only
    /// strings that are not valid UTF-8 or hold an escape are read. Requests and job rows go through this;
    /// <see cref="EnsureReadable"/> then says where the bad string is.
    /// </summary>
    private static bool IsReadable(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Plain(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element)) || CanRead(() => element.GetString());
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (!IsReadable(item))
                    {
                        return false;
                    }
                }
                return true;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if ((!Plain(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(property)) && !CanRead(() => property.Name)) ||
                        !IsReadable(property.Value))
                    {
                        return false;
                    }
                }
                return true;
            default:
                return true;
        }
    }

    /// <summary>Valid UTF-8 without an escape: readable as it stands. Anything else is read to find out.</summary>
    private static bool Plain(ReadOnlySpan<byte> raw) => !raw.Contains((byte)'\\') && System.Text.Unicode.Utf8.IsValid(raw);

    private static bool CanRead(Func<string?> read)
    {
        try
        {
            read();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string Read(Func<string?> read, string path)
    {
        try
        {
            return read() ?? "";
        }
        catch (InvalidOperationException)
        {
            throw new RequestValidationException([new FieldError(path.Length == 0 ? "(body)" : path, NotUnicode)]);
        }
    }

    /// <summary>What a JSON value is, for messages: "a string", "a number", "null"...</summary>
    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
