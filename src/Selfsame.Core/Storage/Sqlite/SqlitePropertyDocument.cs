using System.Text.Json;
using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

/// <summary>
/// The properties of one record as the SQLite store keeps them: one JSON object per record (record_properties.document),
/// key -> [type, value as JSON text, updated_at, seq]. The value stays the text that was stored, so numbers keep their digits.
/// </summary>
internal sealed class SqlitePropertyDocument
{
    private readonly Dictionary<string, (PropertyValue Value, long UpdatedAt, long Sequence)> _entries;

    private SqlitePropertyDocument(Dictionary<string, (PropertyValue, long, long)> entries, bool stored)
    {
        _entries = entries;
        Stored = stored;
    }

    /// <summary>Whether the database holds a row for this record (the document is updated or deleted, not inserted).</summary>
    public bool Stored { get; }

    /// <summary>Changed since it was read or made: written out with the transaction's held-back rows.</summary>
    public bool Dirty { get; private set; }

    public int Count => _entries.Count;

    public static SqlitePropertyDocument Empty() => new(new Dictionary<string, (PropertyValue, long, long)>(StringComparer.Ordinal), stored: false);

    public static SqlitePropertyDocument Parse(string json)
    {
        var entries = new Dictionary<string, (PropertyValue, long, long)>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(json);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            var entry = property.Value;
            entries[property.Name] = (new PropertyValue(PropertyValue.ParseTypeName(entry[0].GetString()!), entry[1].GetString()!),
                entry[2].GetInt64(), entry[3].GetInt64());
        }
        return new SqlitePropertyDocument(entries, stored: true);
    }

    public bool Has(string key) => _entries.ContainsKey(key);

    public void Set(string key, PropertyValue value, long updatedAt, long sequence)
    {
        _entries[key] = (value, updatedAt, sequence);
        Dirty = true;
    }

    public bool Remove(string key)
    {
        var removed = _entries.Remove(key);
        Dirty |= removed;
        return removed;
    }

    public IEnumerable<StoredProperty> Properties(RecordId record) =>
        _entries.Select(e => new StoredProperty(record, e.Key, e.Value.Value, DateTimeOffset.FromUnixTimeMilliseconds(e.Value.UpdatedAt), e.Value.Sequence));

    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (key, (value, updatedAt, sequence)) in _entries)
        {
            writer.WriteStartArray(key);
            writer.WriteStringValue(PropertyValue.TypeName(value.Type));
            writer.WriteStringValue(value.Json);
            writer.WriteNumberValue(updatedAt);
            writer.WriteNumberValue(sequence);
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }
}
