using System.Text.Json;

namespace Selfsame.Cli;

/// <summary>
/// Where a setting comes from when its flag is not given: the environment variable <c>SELFSAME_NAME</c>, else the key
/// <c>name</c> (lower case) of the config file, else the default. The config file is the JSON object in the file that
/// <c>SELFSAME_CONFIG</c> names, or <c>selfsame.json</c> in the working folder when there is one.
/// </summary>
public static class Settings
{
    private static readonly Lazy<Dictionary<string, string>> File = new(Load);

    public static string? Get(string name) =>
        Environment.GetEnvironmentVariable($"SELFSAME_{name}") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : File.Value.GetValueOrDefault(name.ToLowerInvariant());

    private static Dictionary<string, string> Load()
    {
        var path = Environment.GetEnvironmentVariable("SELFSAME_CONFIG") is { Length: > 0 } named ? named : "selfsame.json";
        if (!System.IO.File.Exists(path))
        {
            return Environment.GetEnvironmentVariable("SELFSAME_CONFIG") is { Length: > 0 }
                ? throw new ConfigurationException($"SELFSAME_CONFIG names {path}, which does not exist")
                : [];
        }
        try
        {
            using var document = JsonDocument.Parse(System.IO.File.ReadAllText(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigurationException($"{path}: expected a JSON object of settings, such as {{\"store\": \"postgres\", \"connection\": \"Host=...\"}}");
            }
            return document.RootElement.EnumerateObject().ToDictionary(
                p => p.Name,
                p => p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.Number => p.Value.GetRawText(),
                    JsonValueKind.Array => string.Join(',', p.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText())),
                    _ => throw new ConfigurationException($"{path}: '{p.Name}' must be a string, a number or an array"),
                },
                StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new ConfigurationException($"{path} is not valid JSON: {e.Message}");
        }
    }
}
