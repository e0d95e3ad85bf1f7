using System.Globalization;
using System.Text.Json;
using Selfsame.Graph;

namespace Selfsame.Server.Braze;

/// <summary>
/// /users/track: attributes, events and purchases. Each object names its user (external_id, user_alias, braze_id, email or
/// phone, in that precedence) and is read whole before anything is written; then each is applied alone, in Braze's order
/// (attributes, events, purchases).
/// </summary>
internal static class BrazeTrack
{
    /// <summary>The event name under which a purchase is stored; exports list these as purchases, by product_id.</summary>
    public const string PurchaseEvent = "$purchase";

    /// <summary>The largest price a purchase may carry, so that revenue sums stay exact.</summary>
    public const decimal MaxPrice = 1_000_000_000_000m;

    private static readonly string[] UserKinds = [UserRef.ExternalId, UserRef.UserAlias, UserRef.BrazeIdKind, UserRef.Email, UserRef.Phone];

    /// <summary>A parsed object: where it stood in the request, and the engine operation it is.</summary>
    public sealed record Item(string Array, int Index, GraphOperation Operation);

    /// <summary>Braze's hint on a user that an object may not create: how to create it, where it can be created (a braze_id cannot).</summary>
    public static string Hint(GraphException refusal) => refusal.Kind != GraphErrorKind.NotFound ? refusal.Message
        : refusal.Field.EndsWith($".{UserRef.UserAlias}", StringComparison.Ordinal)
            ? $"{refusal.Message}; send \"_update_existing_only\": false to create an alias-only user"
        : refusal.Field.EndsWith($".{UserRef.BrazeIdKind}", StringComparison.Ordinal) ? refusal.Message
        : $"{refusal.Message} (_update_existing_only)";

    public static List<Item> Read(JsonElement root, BrazeReader reader, DateTimeOffset now)
    {
        var tooMany = "Max Input Length Exceeded";
        var attributes = BrazeReader.Objects(root, "attributes", BrazeReader.MaxTrackObjects, tooMany) ?? [];
        var events = BrazeReader.Objects(root, "events", BrazeReader.MaxTrackObjects, tooMany) ?? [];
        var purchases = BrazeReader.Objects(root, "purchases", BrazeReader.MaxTrackObjects, tooMany) ?? [];
        if (!root.TryGetProperty("attributes", out _) && !root.TryGetProperty("events", out _) && !root.TryGetProperty("purchases", out _))
        {
            throw BrazeSurface.Invalid("the request needs at least one of 'attributes', 'events' or 'purchases'");
        }
        var items = new List<Item>();
        for (var i = 0; i < attributes.Count; i++)
        {
            items.Add(ReadAttributes(attributes[i], $"attributes[{i}]", i, reader));
        }
        for (var i = 0; i < events.Count; i++)
        {
            items.Add(ReadEvent(events[i], $"events[{i}]", i, reader, now));
        }
        for (var i = 0; i < purchases.Count; i++)
        {
            items.Add(ReadPurchase(purchases[i], $"purchases[{i}]", i, reader, now));
        }
        return items;
    }

    private static (UserRef User, bool MayCreate) ReadUser(JsonElement item, string path, BrazeReader reader)
    {
        var user = reader.User(item, path, UserKinds, readPrioritization: false)
            ?? throw BrazeSurface.Invalid($"{path} needs one of external_id, user_alias, braze_id, email or phone");
        // Braze: with a user_alias the object updates existing users only unless told otherwise; a braze_id names a user that exists.
        var updateExistingOnly = BrazeReader.OptionalBool(item, "_update_existing_only", path) ?? user.Kind == UserRef.UserAlias;
        return (user, !updateExistingOnly && user.Kind != UserRef.BrazeIdKind);
    }

    private static Item ReadAttributes(JsonElement item, string path, int index, BrazeReader reader)
    {
        var (user, mayCreate) = ReadUser(item, path, reader);
        var changes = new List<PropertyEdit>();
        var identifiers = new List<SingleIdentifier>();
        foreach (var property in item.EnumerateObject())
        {
            var key = property.Name;
            if (key == user.Kind || key == "_update_existing_only")
            {
                continue;
            }
            if (key is UserRef.Email or UserRef.Phone)
            {
                var value = property.Value.ValueKind == JsonValueKind.Null ? null : reader.User(item, path, [key], readPrioritization: false)!.Input($"{path}.{key}");
                // Braze lets several users share an email or a phone: a second user keeps it as its attribute.
                identifiers.Add(new SingleIdentifier(key == UserRef.Email ? IdentifierTypes.Email : IdentifierTypes.Phone, value, $"{path}.{key}") { SharedKeptAsAttribute = true });
                continue;
            }
            if (key is UserRef.ExternalId or UserRef.UserAlias or UserRef.BrazeIdKind)
            {
                throw BrazeSurface.Invalid($"{path}.{key}: an object names its user once (here by {user.Kind}); add aliases with /users/alias/new, identify with /users/identify");
            }
            if (key.Length is 0 or > PropertyValue.MaxKeyLength)
            {
                throw BrazeSurface.Invalid($"{path}: attribute names must be 1 to {PropertyValue.MaxKeyLength} characters");
            }
            changes.Add(ReadChange(key, property.Value, $"{path}.{key}"));
        }
        return new Item("attributes", index, new GraphOperation.EditOp(new EditCommand(user.Lookup($"{path}.{user.Kind}"), mayCreate, identifiers, changes)));
    }

    private static PropertyEdit ReadChange(string key, JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return new PropertyEdit.Remove(key);
        }
        if (value.ValueKind == JsonValueKind.Object)
        {
            var fields = value.EnumerateObject().ToList();
            if (fields is [{ Name: "inc" } inc])
            {
                return inc.Value.ValueKind == JsonValueKind.Number && inc.Value.TryGetDecimal(out var by)
                    ? new PropertyEdit.Increment(key, by)
                    : throw BrazeSurface.Invalid($"{path}.inc must be a number");
            }
            if (fields.Count > 0 && fields.All(f => f.Name is "add" or "remove"))
            {
                var add = fields.Where(f => f.Name == "add").SelectMany(f => ArrayValues(f.Value, $"{path}.add")).ToList();
                var remove = fields.Where(f => f.Name == "remove").SelectMany(f => ArrayValues(f.Value, $"{path}.remove")).ToList();
                return new PropertyEdit.ArrayEdit(key, add, remove, PropertyValue.MaxArrayLength);
            }
            throw BrazeSurface.Invalid($"{path}: nested attributes are not supported; an object value must be {{\"inc\": n}}, {{\"add\": [...]}} or {{\"remove\": [...]}}");
        }
        var property = PropertyValue.TryFrom(value, allowArrays: true, out var error)
            ?? throw BrazeSurface.Invalid($"{path}: {error}");
        return new PropertyEdit.Set(key, property.Type == PropertyType.Array ? Unique(value) : property);
    }

    private static IEnumerable<JsonElement> ArrayValues(JsonElement array, string path)
    {
        if (array.ValueKind != JsonValueKind.Array || PropertyValue.TryFrom(array, allowArrays: true, out var error) is null)
        {
            throw BrazeSurface.Invalid($"{path} must be an array of strings, numbers or booleans");
        }
        return array.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>Braze keeps the unique values of an array attribute, in the order first sent.</summary>
    private static PropertyValue Unique(JsonElement array) =>
        new(PropertyType.Array, JsonSerializer.Serialize(array.EnumerateArray().DistinctBy(e => e.GetRawText()).ToList()));

    private static Item ReadEvent(JsonElement item, string path, int index, BrazeReader reader, DateTimeOffset now)
    {
        var (user, mayCreate) = ReadUser(item, path, reader);
        var name = BrazeReader.RequiredString(item, "name", path, 255);
        var time = Clamp(BrazeReader.Time(item, path), now);
        var properties = BrazeReader.Properties(item, path);
        return new Item("events", index, new GraphOperation.TrackUserOp(new TrackUserCommand(user.Lookup($"{path}.{user.Kind}"), mayCreate, name, time, properties)));
    }

    private static Item ReadPurchase(JsonElement item, string path, int index, BrazeReader reader, DateTimeOffset now)
    {
        var (user, mayCreate) = ReadUser(item, path, reader);
        var product = BrazeReader.RequiredString(item, "product_id", path, 255);
        var currency = BrazeReader.RequiredString(item, "currency", path, 3);
        if (currency.Length != 3 || !currency.All(char.IsAsciiLetter))
        {
            throw BrazeSurface.Invalid($"{path}.currency must be a three-letter ISO 4217 code such as USD");
        }
        if (!item.TryGetProperty("price", out var price) || price.ValueKind != JsonValueKind.Number || !price.TryGetDecimal(out var amount)
            || Math.Abs(amount) > MaxPrice)
        {
            throw BrazeSurface.Invalid($"{path}.price is required: a number from -{MaxPrice} to {MaxPrice}");
        }
        var quantity = 1;
        if (item.TryGetProperty("quantity", out var q) && q.ValueKind != JsonValueKind.Null
            && (q.ValueKind != JsonValueKind.Number || !q.TryGetInt32(out quantity) || quantity is < 1 or > 100))
        {
            throw BrazeSurface.Invalid($"{path}.quantity must be a whole number from 1 to 100");
        }
        var time = Clamp(BrazeReader.Time(item, path), now);
        using var properties = JsonDocument.Parse(BrazeReader.Properties(item, path));
        var json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["product_id"] = product,
            ["currency"] = currency.ToUpperInvariant(),
            ["price"] = price.Clone(),
            ["quantity"] = quantity,
            ["properties"] = properties.RootElement.Clone(),
        });
        return new Item("purchases", index, new GraphOperation.TrackUserOp(new TrackUserCommand(user.Lookup($"{path}.{user.Kind}"), mayCreate, PurchaseEvent, time, json)));
    }

    /// <summary>Braze stores an event time in the future as now.</summary>
    private static DateTimeOffset Clamp(DateTimeOffset time, DateTimeOffset now) => time > now ? now : time;
}
