using System.Globalization;
using System.Text.Json;
using Selfsame.Graph;
using Selfsame.Server.Hosting.Surfaces;

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
    /// The engine's upsert of the user the payload's identifiers name (the first one some record holds, in precedence
    /// order, else a new record for the first); with update_existing_only, identifiers nobody holds create nothing. Array
    /// edits (and the platforms the payload turns on and off) are edits of the user's array attributes, at most 50 values.
    /// </summary>
    public static GraphOperation Upsert(CustomerUpdate update)
    {
        var edits = new List<PropertyEdit>();
        foreach (var key in update.ArrayAdd.Keys.Concat(update.ArrayRemove.Keys).Distinct(StringComparer.Ordinal))
        {
            edits.Add(new PropertyEdit.ArrayEdit(key, update.ArrayAdd.GetValueOrDefault(key) ?? [], update.ArrayRemove.GetValueOrDefault(key) ?? [], MoEngageAttributes.MaxArrayLength));
        }
        if (update.ActivePlatforms.Count + update.InactivePlatforms.Count > 0)
        {
            var platforms = edits.FirstOrDefault(e => e.Key == "platforms") as PropertyEdit.ArrayEdit;
            edits.Remove(platforms!);
            edits.Add(new PropertyEdit.ArrayEdit("platforms",
                [.. platforms?.Added ?? [], .. update.ActivePlatforms.Select(p => JsonSerializer.SerializeToElement(p))],
                [.. platforms?.Removed ?? [], .. update.InactivePlatforms.Select(p => JsonSerializer.SerializeToElement(p))],
                MoEngageAttributes.MaxArrayLength));
        }
        return new GraphOperation.UpsertOp(new UpsertCommand(update.Identifiers, update.UpdateExistingOnly, update.Set, update.Unset, edits));
    }

    /// <summary>What an upsert did, in MoEngage's words: created, updated or skipped.</summary>
    public static CustomerOutcome Outcome(UpsertResult result) => result.Identified is { } identified
        ? new CustomerOutcome(identified.Created ? "created" : "updated", identified.Profile, identified.Merged, identified.Refused)
        : new CustomerOutcome("skipped", null, [], []);

    /// <summary>
    /// The user a customer_id or a moengage id names. A moengage id must be a profile id as it stands: the id of a user
    /// merged away names nobody here, so that a delete by an old id cannot reach the user it was merged into.
    /// </summary>
    public static UserLookup? Lookup(string identityType, string value, string field)
    {
        if (identityType is "moengage_id" or "id")
        {
            return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? new UserLookup.ByProfileId(id, MergedIdsToo: false, field, $"moengage id '{value}'") : null;
        }
        return new UserLookup.ByIdentifier(new IdentifierInput(new Identifier(IdentifierTypes.UserId, value), value, field), Named: $"customer_id '{value}'");
    }

    /// <summary>A profile as MoEngage exports a user: its attributes, with customer_id, moengage_id and the activated identifiers.</summary>
    public static Dictionary<string, object?> Export(ProfileView view, ProjectSettings settings, IReadOnlyList<string>? fields)
    {
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
        attributes["created_time"] = VendorTime.Format(view.Records.Min(r => r.Record.CreatedAt));
        attributes["last_seen"] = VendorTime.Format(view.Records.Max(r => r.Record.LastSeenAt));
        foreach (var activated in settings.ActiveIdentityAttributes)
        {
            attributes[activated.Attribute] = identifiers.FirstOrDefault(i => i.Identifier.Type == activated.Type)?.Display;
        }
        return fields is null
            ? attributes.Where(a => a.Value is not null).ToDictionary()
            : fields.Distinct(StringComparer.Ordinal).ToDictionary(f => f, f => attributes.GetValueOrDefault(f));
    }
}
