using Selfsame.Graph;

namespace Selfsame.Tests.Graph;

public sealed class IdentifierNormalizerTests
{
    [Theory]
    [InlineData("email", "  Ann.Lee@Acme.COM ", "ann.lee@acme.com")]
    [InlineData("phone", "+1 (415) 555-0100", "+14155550100")]
    [InlineData("phone", "+49 30 1234567", "+49301234567")]
    [InlineData("phone", "not a number", "notanumber")]
    [InlineData("user_id", " Case Kept ", " Case Kept ")]
    public void TryNormalize_Builtins(string type, string sent, string expected)
    {
        var identifier = IdentifierNormalizer.TryNormalize(type, sent, ProjectSettings.Default, out var error);
        Assert.Null(error);
        Assert.Equal(expected, identifier!.Value);
    }

    [Fact]
    public void TryNormalize_PhoneWithoutCountryCode_UsesTheProjectRegion()
    {
        var settings = new ProjectSettings { PhoneRegion = "US" };
        Assert.Equal("+14155550100", IdentifierNormalizer.TryNormalize("phone", "(415) 555-0100", settings, out _)!.Value);
        Assert.Equal("4155550100", IdentifierNormalizer.TryNormalize("phone", "415 555 0100", ProjectSettings.Default, out _)!.Value);
    }

    [Theory]
    [InlineData("email", "no-at-sign", "not an email address")]
    [InlineData("email", "  ", "must not be empty")]
    [InlineData("crm_id", "x", "unknown identifier type 'crm_id'")]
    [InlineData("user_id", "a\0b", "NUL")]
    public void TryNormalize_Refuses_WithAReason(string type, string sent, string reason)
    {
        Assert.Null(IdentifierNormalizer.TryNormalize(type, sent, ProjectSettings.Default, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryNormalize_ProjectDeclaredType_IsAccepted()
    {
        var settings = new ProjectSettings { IdentifierTypes = ["crm_id"] };
        Assert.Equal("C-1", IdentifierNormalizer.TryNormalize("crm_id", "C-1", settings, out _)!.Value);
    }

    [Fact]
    public void Alias_KeepsLabelAndNameApart()
    {
        var alias = IdentifierNormalizer.TryNormalizeAlias("crm", "a/b", out _)!;
        Assert.Equal(("crm", "a/b"), alias.AliasParts);
        Assert.NotEqual(alias, IdentifierNormalizer.TryNormalizeAlias("crm/a", "b", out _));
    }

    [Fact]
    public void TryNormalize_ValueOverTheUtf8ByteLimit_IsRefusedEvenWithinTheCharacterLimit()
    {
        var wide = new string('\u4e2d', 700); // 700 characters, 2,100 bytes in UTF-8
        Assert.Null(IdentifierNormalizer.TryNormalize(IdentifierTypes.UserId, wide, ProjectSettings.Default, out var error));
        Assert.Contains("2048 bytes", error, StringComparison.Ordinal);
        Assert.NotNull(IdentifierNormalizer.TryNormalize(IdentifierTypes.UserId, wide[..682], ProjectSettings.Default, out _));
    }
}
