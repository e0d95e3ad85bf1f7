using System.Text.Json;
using System.Text.Json.Nodes;
using Selfsame.Events;
using Selfsame.Graph;
using static Selfsame.Server.Hosting.Surfaces.TrackingJson;

namespace Selfsame.Server.PostHog;

/// <summary>
/// Reads PostHog's capture events into the engine's operations. A distinct id is a user id once a record holds it as
/// one (after an <c>$identify</c>, <c>$create_alias</c> or a vendor's identify), else an anonymous id: PostHog's persons
/// are identified by those same calls, and its merge protection refuses to merge two identified persons, as
/// Selfsame's refuses a profile two user ids. An event that is not valid throws a field error naming the field
/// (<c>batch[2].distinct_id</c>) before anything is written.
/// </summary>
internal sealed class PostHogEvents(ProjectSettings settings, DateTimeOffset receivedAt)
{
    public const string Identify = "$identify";
    public const string CreateAlias = "$create_alias";
    public const string MergeDangerously = "$merge_dangerously";
    public const string GroupIdentify = "$groupidentify";
    public const string Set = "$set";

    /// <summary>PostHog's cap on one event, in bytes of its JSON.</summary>
    public const int MaxEventBytes = 1024 * 1024;

    /// <summary>The properties that carry the project's key: never stored with an event.</summary>
    private static readonly string[] KeyProperties = ["token", "$token", "api_key"];

    /// <summary>The operation of one event at <paramref name="path"/>; <paramref name="sentAt"/> is the batch's.</summary>
    public GraphOperation Read(JsonElement message, string path, DateTimeOffset? sentAt)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path.Length == 0 ? "(body)" : path, "expected a JSON object (an event of PostHog's capture API)");
        }
        if (System.Text.Encoding.UTF8.GetByteCount(message.GetRawText()) > MaxEventBytes)
        {
            throw Invalid(path.Length == 0 ? "(body)" : path, $"an event is at most {MaxEventBytes / (1024 * 1024)} MB");
        }
        var name = RequiredId(message, "event", path);
        CheckName(name, Join(path, "event"));
        var properties = message.TryGetProperty("properties", out var given) && given.ValueKind != JsonValueKind.Null
            ? given.ValueKind == JsonValueKind.Object ? given : throw Invalid(Join(path, "properties"), "expected an object")
            : default;
        var propertiesPath = Join(path, "properties");
        if (name == GroupIdentify)
        {
            return GroupOf(properties, propertiesPath);
        }
        // posthog-node puts distinct_id at the top; PostHog's HTTP API takes it among the properties too.
        var (distinctId, distinctField) = OptionalId(message, "distinct_id", path) is { } top
            ? (top, Join(path, "distinct_id"))
            : (OptionalId(properties, "distinct_id", propertiesPath) ?? throw Invalid(Join(path, "distinct_id"), "is required: the id of the person who sent the event"),
                Join(propertiesPath, "distinct_id"));
        var (set, setOnce, unset) = PersonProperties(message, properties, path);
        switch (name)
        {
            case Identify:
            {
                var anonymous = OptionalId(properties, "$anon_distinct_id", propertiesPath);
                return new GraphOperation.IdentifyOp(Identified(distinctId, distinctField, anonymous, Join(propertiesPath, "$anon_distinct_id"), set, setOnce, unset));
            }
            case CreateAlias:
            {
                // The alias joins the distinct id's person, as PostHog adds it to that person; neither becomes a user id by
                // it. An alias that is already another identified user's is refused by merge protection, as PostHog refuses
                // an alias whose own person is identified.
                var alias = RequiredId(properties, "alias", propertiesPath);
                return new GraphOperation.IdentifyOp(new IdentifyCommand(Who(distinctId, distinctField), [Who(alias, Join(propertiesPath, "alias"))], set, setOnce, unset));
            }
            case MergeDangerously:
            {
                // An explicit link, past merge protection as PostHog's is; here it is undone by an unlink like any other.
                var alias = RequiredId(properties, "alias", propertiesPath);
                return new GraphOperation.LinkOp(new LinkCommand(Who(alias, Join(propertiesPath, "alias")), Who(distinctId, distinctField), LinkKinds.Merge));
            }
            case Set:
                return new GraphOperation.IdentifyOp(new IdentifyCommand(Who(distinctId, distinctField), [], set, setOnce, unset));
        }
        var personless = properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty("$process_person_profile", out var process)
                         && process.ValueKind == JsonValueKind.False;
        var uuid = OptionalId(message, "uuid", path);
        if (uuid is not null)
        {
            CheckName(uuid, Join(path, "uuid"));
        }
        var sender = Who(distinctId, distinctField);
        var identity = personless ? new IdentifyCommand(sender, [], Empty, Empty, []) : new IdentifyCommand(sender, [], set, setOnce, unset);
        var track = new GraphOperation.TrackOp(new TrackCommand(identity, name, Time(message, properties, path, sentAt), StoredProperties(properties), uuid) { Personless = personless });
        var groups = personless ? [] : Groups(properties, propertiesPath, sender);
        return groups.Count == 0 ? track : new GraphOperation.Sequence([track, .. groups]);
    }

    /// <summary>
    /// The distinct id as an identifier: the user id when a record holds it as one, else the anonymous id. An id seen
    /// first on an ordinary event is anonymous until an identify names it, as PostHog's person is until then.
    /// </summary>
    private IdentifierInput Who(string distinctId, string field) =>
        Input(IdentifierTypes.AnonymousId, distinctId, field) with { IfHeld = Input(IdentifierTypes.UserId, distinctId, field) };

    /// <summary>
    /// <c>$identify</c>: <paramref name="identified"/> becomes a user id (attached to the record that holds it as an
    /// anonymous id, when one does), and <c>$anon_distinct_id</c> joins it under merge protection: when that id is already
    /// another user's, the join is refused and listed, as PostHog refuses to merge an identified person.
    /// </summary>
    private IdentifyCommand Identified(string identified, string field, string? other, string otherField,
        Dictionary<string, PropertyValue> set, Dictionary<string, PropertyValue> setOnce, List<string> unset)
    {
        var user = Input(IdentifierTypes.UserId, identified, field);
        var primary = user with { IfHeld = Input(IdentifierTypes.AnonymousId, identified, field) };
        List<IdentifierInput> others = other is null || other == identified ? [user] : [user, Who(other, otherField)];
        return new IdentifyCommand(primary, others, set, setOnce, unset);
    }

    /// <summary><c>$groupidentify</c>: the group as a company, named <c>type:key</c> (a project may have several types of group), with its <c>$group_set</c>.</summary>
    private static GraphOperation GroupOf(JsonElement properties, string path)
    {
        var type = RequiredId(properties, "$group_type", path);
        var key = RequiredId(properties, "$group_key", path);
        var traits = properties.ValueKind == JsonValueKind.Object ? Properties(properties, "$group_set", path) : [];
        return new GraphOperation.CompanyOp(new CompanyCommand(CompanyId(type, key, Join(path, "$group_key")), traits));
    }

    /// <summary>An event's <c>$groups</c> (type to key): the sender joins each group's company, as PostHog relates a person to the groups of its events.</summary>
    private static List<GraphOperation> Groups(JsonElement properties, string path, IdentifierInput sender)
    {
        if (properties.ValueKind != JsonValueKind.Object || !properties.TryGetProperty("$groups", out var groups) || groups.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        if (groups.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(Join(path, "$groups"), "expected an object of group type to group key");
        }
        return groups.EnumerateObject()
            .Select(g => (GraphOperation)new GraphOperation.JoinCompanyOp(new JoinCompanyCommand(
                CompanyId(g.Name, RequiredId(groups, g.Name, Join(path, "$groups")), Join(path, $"$groups.{g.Name}")), sender)))
            .ToList();
    }

    private static string CompanyId(string type, string key, string field)
    {
        var id = $"{type}:{key}";
        return id.Length <= Selfsame.Companies.CompanyLimits.MaxIdLength && !id.Contains('\0', StringComparison.Ordinal) && key.Trim().Length > 0
            ? id
            : throw Invalid(field, $"a group's type and key together are at most {Selfsame.Companies.CompanyLimits.MaxIdLength} characters, not blank, without NUL");
    }

    /// <summary>
    /// The person properties an event carries: <c>$set</c> and <c>$set_once</c> (among its properties, and at the top of the
    /// event, where posthog-js puts an identify's), and the keys of <c>$unset</c>.
    /// </summary>
    private static (Dictionary<string, PropertyValue> Set, Dictionary<string, PropertyValue> SetOnce, List<string> Unset) PersonProperties(
        JsonElement message, JsonElement properties, string path)
    {
        var set = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        var setOnce = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        var unset = new List<string>();
        if (properties.ValueKind == JsonValueKind.Object)
        {
            var propertiesPath = Join(path, "properties");
            set = Properties(properties, "$set", propertiesPath);
            setOnce = Properties(properties, "$set_once", propertiesPath);
            if (properties.TryGetProperty("$unset", out var keys) && keys.ValueKind != JsonValueKind.Null)
            {
                if (keys.ValueKind != JsonValueKind.Array || keys.EnumerateArray().Any(k => k.ValueKind != JsonValueKind.String || k.GetString() is not { Length: > 0 and <= PropertyValue.MaxKeyLength }))
                {
                    throw Invalid(Join(propertiesPath, "$unset"), $"expected an array of property names (1 to {PropertyValue.MaxKeyLength} characters)");
                }
                unset.AddRange(keys.EnumerateArray().Select(k => k.GetString()!));
            }
        }
        // The event's own $set and $set_once win over those among its properties, as PostHog merges them.
        foreach (var (key, value) in Properties(message, "$set", path))
        {
            set[key] = value;
        }
        foreach (var (key, value) in Properties(message, "$set_once", path))
        {
            setOnce[key] = value;
        }
        return (set, setOnce, unset);
    }

    /// <summary>
    /// The event's time as PostHog computes it: its <c>timestamp</c> corrected for the sender's clock by <c>sent_at</c>
    /// (the event's, else the batch's, else posthog-js's <c>?_=</c>; not with <c>$ignore_sent_at</c>); else the time of receipt less the event's <c>offset</c> in milliseconds; else the
    /// timestamp as sent; else the time of receipt.
    /// </summary>
    private DateTimeOffset Time(JsonElement message, JsonElement properties, string path, DateTimeOffset? batchSentAt)
    {
        // $ignore_sent_at: the sender's clock is to be trusted (an import of past events).
        var ignoreSentAt = properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty("$ignore_sent_at", out var ignore) && ignore.ValueKind == JsonValueKind.True;
        var sent = ignoreSentAt ? null : OptionalTime(message, "sent_at", path) ?? batchSentAt;
        if (OptionalTime(message, "timestamp", path) is { } timestamp)
        {
            return Corrected(receivedAt, timestamp, sent, Join(path, "sent_at"));
        }
        if (message.TryGetProperty("offset", out var offset) && offset.ValueKind != JsonValueKind.Null)
        {
            return offset.TryGetInt64(out var milliseconds) && milliseconds is >= 0 and <= 100L * 365 * 24 * 3600 * 1000
                ? receivedAt.AddMilliseconds(-milliseconds)
                : throw Invalid(Join(path, "offset"), "expected a number of milliseconds, 0 or more");
        }
        return receivedAt;
    }

    /// <summary>The event's properties as stored: as sent, without the project's key that posthog-js puts among them.</summary>
    private static string StoredProperties(JsonElement properties)
    {
        if (properties.ValueKind != JsonValueKind.Object)
        {
            return "{}";
        }
        if (!KeyProperties.Any(k => properties.TryGetProperty(k, out _)))
        {
            return properties.GetRawText();
        }
        var copy = JsonNode.Parse(properties.GetRawText())!.AsObject();
        foreach (var key in KeyProperties)
        {
            copy.Remove(key);
        }
        return copy.ToJsonString();
    }

    private static readonly Dictionary<string, PropertyValue> Empty = [];

    private IdentifierInput Input(string type, string value, string field) => Hosting.Surfaces.TrackingJson.Input(type, value, field, settings);
}
