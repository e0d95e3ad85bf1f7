using System.Globalization;
using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Storage;

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

    private abstract record AttributeChange(string Key);
    private sealed record SetValue(string Key, PropertyValue Value) : AttributeChange(Key);
    private sealed record RemoveValue(string Key) : AttributeChange(Key);
    private sealed record Increment(string Key, decimal By) : AttributeChange(Key);
    private sealed record ArrayChange(string Key, IReadOnlyList<JsonElement> Add, IReadOnlyList<JsonElement> Remove) : AttributeChange(Key);

    /// <summary>A parsed object: the user it names, whether it may create that user, and the write.</summary>
    public sealed record Item(string Array, int Index, Func<IGraphTransaction, WriteOrigin, string> Apply);

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
        var changes = new List<AttributeChange>();
        var identifiers = new List<(string Kind, UserRef? Value)>();
        foreach (var property in item.EnumerateObject())
        {
            var key = property.Name;
            if (key == user.Kind || key == "_update_existing_only")
            {
                continue;
            }
            if (key is UserRef.Email or UserRef.Phone)
            {
                identifiers.Add((key, property.Value.ValueKind == JsonValueKind.Null ? null : reader.User(item, path, [key], readPrioritization: false)!));
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
        return new Item("attributes", index, (tx, origin) =>
        {
            var record = FindOrCreate(tx, user, mayCreate, path, origin);
            foreach (var (kind, value) in identifiers)
            {
                SetContact(tx, record, kind, value, $"{path}.{kind}");
            }
            Apply(tx, record, changes);
            return "processed";
        });
    }

    private static AttributeChange ReadChange(string key, JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return new RemoveValue(key);
        }
        if (value.ValueKind == JsonValueKind.Object)
        {
            var fields = value.EnumerateObject().ToList();
            if (fields is [{ Name: "inc" } inc])
            {
                return inc.Value.ValueKind == JsonValueKind.Number && inc.Value.TryGetDecimal(out var by)
                    ? new Increment(key, by)
                    : throw BrazeSurface.Invalid($"{path}.inc must be a number");
            }
            if (fields.Count > 0 && fields.All(f => f.Name is "add" or "remove"))
            {
                var add = fields.Where(f => f.Name == "add").SelectMany(f => ArrayValues(f.Value, $"{path}.add")).ToList();
                var remove = fields.Where(f => f.Name == "remove").SelectMany(f => ArrayValues(f.Value, $"{path}.remove")).ToList();
                return new ArrayChange(key, add, remove);
            }
            throw BrazeSurface.Invalid($"{path}: nested attributes are not supported; an object value must be {{\"inc\": n}}, {{\"add\": [...]}} or {{\"remove\": [...]}}");
        }
        var property = PropertyValue.TryFrom(value, allowArrays: true, out var error)
            ?? throw BrazeSurface.Invalid($"{path}: {error}");
        return new SetValue(key, property.Type == PropertyType.Array ? Unique(value) : property);
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

    private static void Apply(IGraphTransaction tx, RecordId record, List<AttributeChange> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }
        // Attributes are written on the profile's root record: the kept side of every explicit link, so its values win.
        var profile = BrazeUsers.ProfileOf(tx, record);
        var root = new RecordId(profile.Value);
        IReadOnlyList<ProfileProperty>? current = null;
        PropertyValue? Current(string key)
        {
            current ??= ProfileReads.MergeProperties(tx.GetProfileProperties(profile), tx.GetProfileLinks(profile));
            return current.FirstOrDefault(p => p.Key == key)?.Value;
        }
        foreach (var change in changes)
        {
            switch (change)
            {
                case SetValue set:
                    tx.SetProperty(root, set.Key, set.Value);
                    break;
                case RemoveValue remove:
                    foreach (var member in tx.GetProfileRecords(profile))
                    {
                        tx.RemoveProperty(member.Id, remove.Key);
                    }
                    break;
                case Increment inc:
                    var before = 0m;
                    if (Current(inc.Key) is { Type: PropertyType.Number } number
                        && !decimal.TryParse(number.Json, NumberStyles.Float, CultureInfo.InvariantCulture, out before))
                    {
                        throw new GraphException(GraphErrorKind.Conflict, inc.Key, $"'{inc.Key}' is {number.Json}, too large to increment");
                    }
                    decimal after;
                    try
                    {
                        after = checked(before + inc.By);
                    }
                    catch (OverflowException)
                    {
                        throw new GraphException(GraphErrorKind.Conflict, inc.Key, $"incrementing '{inc.Key}' by {inc.By} goes beyond the largest number kept");
                    }
                    tx.SetProperty(root, inc.Key, new PropertyValue(PropertyType.Number, after.ToString(CultureInfo.InvariantCulture)));
                    break;
                case ArrayChange array:
                    var values = Current(array.Key) is { Type: PropertyType.Array } held
                        ? JsonSerializer.Deserialize<List<JsonElement>>(held.Json)!
                        : [];
                    values = values.Concat(array.Add).Where(v => !array.Remove.Any(r => r.GetRawText() == v.GetRawText()))
                        .DistinctBy(v => v.GetRawText()).Take(PropertyValue.MaxArrayLength).ToList();
                    tx.SetProperty(root, array.Key, new PropertyValue(PropertyType.Array, JsonSerializer.Serialize(values)));
                    break;
            }
            current = null;
        }
    }

    private static Item ReadEvent(JsonElement item, string path, int index, BrazeReader reader, DateTimeOffset now)
    {
        var (user, mayCreate) = ReadUser(item, path, reader);
        var name = BrazeReader.RequiredString(item, "name", path, 255);
        var time = Clamp(BrazeReader.Time(item, path), now);
        var properties = BrazeReader.Properties(item, path);
        return new Item("events", index, (tx, origin) =>
        {
            var record = FindOrCreate(tx, user, mayCreate, path, origin);
            tx.TouchRecord(record);
            tx.AddEvent(record, name, time, properties, null, origin.Surface);
            return "processed";
        });
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
        return new Item("purchases", index, (tx, origin) =>
        {
            var record = FindOrCreate(tx, user, mayCreate, path, origin);
            tx.TouchRecord(record);
            tx.AddEvent(record, PurchaseEvent, time, json, null, origin.Surface);
            return "processed";
        });
    }

    /// <summary>Braze stores an event time in the future as now.</summary>
    private static DateTimeOffset Clamp(DateTimeOffset time, DateTimeOffset now) => time > now ? now : time;

    private static RecordId FindOrCreate(IGraphTransaction tx, UserRef user, bool mayCreate, string path, WriteOrigin origin)
    {
        if (BrazeUsers.Find(tx, user) is { } record)
        {
            return record;
        }
        if (!mayCreate || tx.FindIdentifier(user.Identifier!) is not null)
        {
            throw new GraphException(GraphErrorKind.NotFound, $"{path}.{user.Kind}", user.Kind == UserRef.UserAlias
                ? $"no user matches {user}; send \"_update_existing_only\": false to create an alias-only user"
                : $"no user matches {user} and this object may not create one (_update_existing_only)");
        }
        return IdentityGraph.Identify(tx, new IdentifyCommand(user.Input($"{path}.{user.Kind}"), [], Empty, Empty, []), origin).Record;
    }

    /// <summary>
    /// The user's email (or phone) attribute: a user has one, so a new value replaces the one the profile held, and null
    /// removes it. A value that belongs to another user fails the object.
    /// </summary>
    private static void SetContact(IGraphTransaction tx, RecordId record, string kind, UserRef? value, string field)
    {
        var type = kind == UserRef.Email ? IdentifierTypes.Email : IdentifierTypes.Phone;
        var profile = BrazeUsers.ProfileOf(tx, record);
        var held = tx.GetProfileIdentifiers(profile).Where(i => i.Identifier.Type == type).ToList();
        if (value is not null && tx.FindIdentifier(value.Identifier!) is { } owner)
        {
            if (BrazeUsers.ProfileOf(tx, owner.Record) != profile)
            {
                throw new GraphException(GraphErrorKind.Conflict, field, $"{value} belongs to another user; Selfsame keeps an email or phone on one user");
            }
            held.RemoveAll(i => i.Identifier == value.Identifier);
        }
        else if (value is not null)
        {
            tx.AttachIdentifier(record, value.Identifier!, value.Display);
        }
        foreach (var old in held)
        {
            tx.DetachIdentifier(old.Identifier);
        }
    }

    private static readonly IReadOnlyDictionary<string, PropertyValue> Empty = new Dictionary<string, PropertyValue>();
}
