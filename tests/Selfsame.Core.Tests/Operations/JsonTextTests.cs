using System.Text;
using Selfsame.Operations;

namespace Selfsame.Tests.Operations;

/// <summary>
/// JsonText reads what clients send: a string that cannot be read as text (invalid UTF-8, an escaped lone surrogate) is
/// a 400 naming where it is, found before any write; escapes that are fine stay fine.
/// </summary>
public sealed class JsonTextTests
{
    [Theory]
    [InlineData("""{"a":"ok","b":{"c":["x","bad\ud800"]}}""", "b.c[1]")]
    [InlineData("""{"a":"ok","b":{"bad\udc00":1}}""", "b")]
    [InlineData("""[{"v":"\ud83d"}]""", "[0].v")]
    public void EscapedLoneSurrogate_IsRefused_WithItsPath(string json, string field)
    {
        var error = Assert.Throws<RequestValidationException>(() => JsonText.Parse(json, maxDepth: 32).Dispose());

        Assert.Equal(field, Assert.Single(error.Errors).Field);
    }

    [Fact]
    public void InvalidUtf8InAString_IsRefused_WithItsPath()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"events":[{"device_id":"dev#ce"}]}""");
        bytes[Array.IndexOf(bytes, (byte)'#')] = 0xC3; // a lead byte without its continuation

        var error = Assert.Throws<RequestValidationException>(() => JsonText.Parse(bytes, maxDepth: 32).Dispose());

        Assert.Equal("events[0].device_id", Assert.Single(error.Errors).Field);
    }

    [Fact]
    public void ValidEscapesAndText_AreRead()
    {
        using var document = JsonText.Parse("""{"n\u00e9":"line\nbreak \ud83d\ude00 \"q\" é"}""", maxDepth: 32);

        Assert.Equal("line\nbreak \U0001F600 \"q\" é", document.RootElement.GetProperty("né").GetString());
    }
}
