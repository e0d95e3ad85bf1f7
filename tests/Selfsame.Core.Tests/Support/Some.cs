using Selfsame.Graph;

namespace Selfsame.Tests.Support;

/// <summary>Builders for commands, so that tests read as the operation they perform.</summary>
public static class Some
{
    public static IdentifierInput Id(string type, string value) =>
        new(IdentifierNormalizer.TryNormalize(type, value, ProjectSettings.Default, out var error) ?? throw new ArgumentException(error), value, type);

    public static IdentifierInput User(string value) => Id(IdentifierTypes.UserId, value);
    public static IdentifierInput Email(string value) => Id(IdentifierTypes.Email, value);
    public static IdentifierInput Device(string value) => Id(IdentifierTypes.DeviceId, value);
    public static IdentifierInput Anonymous(string value) => Id(IdentifierTypes.AnonymousId, value);

    public static IdentifyCommand Identify(IdentifierInput primary, params IdentifierInput[] others) =>
        new(primary, others, new Dictionary<string, PropertyValue>(), new Dictionary<string, PropertyValue>(), []);

    public static IdentifyCommand WithProperties(this IdentifyCommand command, params (string Key, object? Value)[] properties) =>
        command with { Set = properties.ToDictionary(p => p.Key, p => Value(p.Value)) };

    public static IdentifyCommand WithSetOnce(this IdentifyCommand command, params (string Key, object? Value)[] properties) =>
        command with { SetOnce = properties.ToDictionary(p => p.Key, p => Value(p.Value)) };

    public static PropertyValue Value(object? value)
    {
        using var document = System.Text.Json.JsonDocument.Parse(System.Text.Json.JsonSerializer.Serialize(value));
        return PropertyValue.TryFrom(document.RootElement, out var error) ?? throw new ArgumentException(error);
    }

    public static Events.TrackCommand Event(string name, IdentifyCommand sender, DateTimeOffset? time = null, string? insertId = null, string properties = "{}") =>
        new(sender, name, time, properties, insertId);

    public static LinkCommand Link(IdentifierInput from, IdentifierInput into) => new(from, into);
    public static UnlinkCommand Unlink(IdentifierInput from, IdentifierInput into) => new(from, into);

    public static WriteOrigin Origin { get; } = new("test", "req-1");
}
