using System.Globalization;
using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Storage;

namespace Selfsame.Server.MoEngage;

/// <summary>What a customer write did: created, updated or skipped, the profile, and the merges it made or was refused.</summary>
internal sealed record CustomerOutcome(string Action, ProfileId? Profile, IReadOnlyList<MergeNote> Merged, IReadOnlyList<Refusal> Refused);

/// <summary>
/// MoEngage's customer rules on the identity graph. A MoEngage user is a Selfsame profile; customer_id is the user_id
/// identifier; the moengage id is the profile id; an activated identity attribute is an identifier of its declared type.
/// </summary>
internal static class MoEngageCustomers
{
    public const string Surface = MoEngageSurface.Name;

    /// <summary>
    /// Creates or updates the user the payload's identifiers name. The record written to is the one holding the first
    /// identifier (in precedence order) that some record holds already, else a new record holding the first one. Every other
    /// identifier is attached, or, where it belongs to another profile, merges that profile in under merge protection.
    /// With update_existing_only, a payload whose identifiers nobody holds creates nothing.
    /// </summary>
    public static CustomerOutcome Upsert(IGraphTransaction tx, CustomerUpdate update, WriteOrigin origin)
    {
        var held = update.Identifiers.FirstOrDefault(i => tx.FindIdentifier(i.Identifier) is not null);
        if (held is null && update.UpdateExistingOnly)
        {
            return new CustomerOutcome("skipped", null, [], []);
        }
        var primary = held ?? update.Identifiers[0];
        var others = update.Identifiers.Where(i => i != primary).ToList();
        var result = IdentityGraph.Identify(tx, new IdentifyCommand(primary, others, update.Set, Empty, update.Unset), origin);
        ApplyArrayEdits(tx, result.Record, result.Profile, update);
        return new CustomerOutcome(result.Created ? "created" : "updated", result.Profile, result.Merged, result.Refused);
    }

    private static void ApplyArrayEdits(IGraphTransaction tx, RecordId record, ProfileId profile, CustomerUpdate update)
    {
        var edits = update.ArrayAdd.Keys.Concat(update.ArrayRemove.Keys).ToList();
        if (update.ActivePlatforms.Count + update.InactivePlatforms.Count > 0)
        {
            edits.Add("platforms");
        }
        if (edits.Count == 0)
        {
            return;
        }
        var current = ProfileReads.MergeProperties(tx.GetProfileProperties(profile), tx.GetProfileLinks(profile));
        foreach (var key in edits.Distinct())
        {
            var held = current.FirstOrDefault(p => p.Key == key)?.Value;
            if (held is null && !update.ArrayAdd.ContainsKey(key) && (key != "platforms" || update.ActivePlatforms.Count == 0))
            {
                continue; // removing from an attribute the user does not have changes nothing
            }
            var values = held is { Type: PropertyType.Array } array
                ? JsonSerializer.Deserialize<List<JsonElement>>(array.Json)!
                : [];
            IEnumerable<JsonElement> add = update.ArrayAdd.GetValueOrDefault(key) ?? [];
            IEnumerable<JsonElement> remove = update.ArrayRemove.GetValueOrDefault(key) ?? [];
            if (key == "platforms")
            {
                add = add.Concat(update.ActivePlatforms.Select(p => JsonSerializer.SerializeToElement(p)));
                remove = remove.Concat(update.InactivePlatforms.Select(p => JsonSerializer.SerializeToElement(p)));
            }
            var removed = remove.Select(r => r.GetRawText()).ToHashSet(StringComparer.Ordinal);
            var next = values.Concat(add).Where(v => !removed.Contains(v.GetRawText())).DistinctBy(v => v.GetRawText())
                .Take(MoEngageAttributes.MaxArrayLength).ToList();
            tx.SetProperty(record, key, new PropertyValue(PropertyType.Array, JsonSerializer.Serialize(next)));
        }
    }

    /// <summary>
    /// One pair of /customer/merge: the merged user joins the retained user with an explicit link of kind merge (undone
    /// with /v1/unlink); the retained user's values win. A pair naming an unknown user, or one user twice, is refused alone.
    /// </summary>
    public static string Merge(IGraphTransaction tx, IdentifierInput merged, IdentifierInput retained, WriteOrigin origin)
    {
        var from = tx.FindIdentifier(merged.Identifier) ?? throw new GraphException(GraphErrorKind.NotFound, merged.Field, $"no user has customer_id '{merged.Display}'");
        var into = tx.FindIdentifier(retained.Identifier) ?? throw new GraphException(GraphErrorKind.NotFound, retained.Field, $"no user has customer_id '{retained.Display}'");
        var (fromProfile, intoProfile) = (tx.GetRecord(from.Record)!.Profile, tx.GetRecord(into.Record)!.Profile);
        if (fromProfile == intoProfile)
        {
            throw new GraphException(GraphErrorKind.Conflict, merged.Field, $"'{merged.Display}' and '{retained.Display}' are one user already");
        }
        IdentityGraph.JoinProfiles(tx, fromProfile, intoProfile, LinkKinds.Merge, merged.Field, retained.Field, origin);
        return "merged";
    }

    /// <summary>
    /// The profile a customer_id or a moengage id names, or null. A moengage id must be a profile id as it stands: the id of
    /// a user merged away names nobody here, so that a delete by an old id cannot reach the user it was merged into.
    /// </summary>
    public static ProfileId? Find(IGraphReadSession session, string identityType, string value)
    {
        if (identityType is "moengage_id" or "id")
        {
            return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && session.GetRecord(new RecordId(id)) is { } record
                && record.Profile.Value == id
                ? record.Profile
                : null;
        }
        return session.FindIdentifier(new Identifier(IdentifierTypes.UserId, value)) is { } owner ? session.GetRecord(owner.Record)!.Profile : null;
    }

    /// <summary>A profile as MoEngage exports a user: its attributes, with customer_id, moengage_id and the activated identifiers.</summary>
    public static Dictionary<string, object?> Export(IGraphReadSession session, ProfileId profile, IReadOnlyList<string>? fields)
    {
        var view = ProfileReads.Profile(session, profile.Value)!;
        var identifiers = view.Records.SelectMany(r => r.Identifiers).ToList();
        var root = view.Records.FirstOrDefault(r => r.Record.Id.Value == view.Id.Value);
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in view.Properties)
        {
            attributes[property.Key] = JsonElement.Parse(property.Value.Json);
        }
        // The user's own fields come last: an attribute stored under one of these names never shows in their place.
        attributes["customer_id"] = (root?.Identifiers.FirstOrDefault(i => i.Identifier.Type == IdentifierTypes.UserId)
                                     ?? identifiers.FirstOrDefault(i => i.Identifier.Type == IdentifierTypes.UserId))?.Display;
        attributes["moengage_id"] = view.Id.Value.ToString(CultureInfo.InvariantCulture);
        attributes["created_time"] = view.Records.Min(r => r.Record.CreatedAt);
        attributes["last_seen"] = view.Records.Max(r => r.Record.LastSeenAt);
        foreach (var activated in session.Settings.IdentityAttributes)
        {
            attributes[activated.Attribute] = identifiers.FirstOrDefault(i => i.Identifier.Type == activated.Type)?.Display;
        }
        return fields is null
            ? attributes.Where(a => a.Value is not null).ToDictionary()
            : fields.Distinct(StringComparer.Ordinal).ToDictionary(f => f, f => attributes.GetValueOrDefault(f));
    }

    private static readonly IReadOnlyDictionary<string, PropertyValue> Empty = new Dictionary<string, PropertyValue>();
}
