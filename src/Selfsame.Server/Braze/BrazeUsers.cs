using Selfsame.Graph;
using Selfsame.Storage;

namespace Selfsame.Server.Braze;

/// <summary>
/// Braze's user rules on the identity graph. A Braze user is a Selfsame profile; external_id is the user_id identifier,
/// an alias is an alias identifier, email and phone are identifiers of those types, and braze_id is the profile id.
/// Each rule runs in one store transaction and refuses with <see cref="GraphException"/>, which rolls back that item alone.
/// </summary>
internal static class BrazeUsers
{
    /// <summary>
    /// The record that stands for the user a reference names: the record holding the identifier (if the prioritization
    /// admits its profile), or for a braze_id the root record of that profile (a merged-away id finds the profile that holds it).
    /// </summary>
    public static RecordId? Find(IGraphReadSession session, UserRef user)
    {
        if (user.BrazeId is { } id)
        {
            var record = session.GetRecord(new RecordId(id));
            return record is null ? null : new RecordId(record.Profile.Value);
        }
        var owner = session.FindIdentifier(user.Identifier!);
        if (owner is null)
        {
            return null;
        }
        var identified = Identified(session, session.GetRecord(owner.Record)!.Profile);
        if ((user.Prioritization.Contains("identified") && !identified) || (user.Prioritization.Contains("unidentified") && identified))
        {
            return null;
        }
        return owner.Record;
    }

    public static ProfileId ProfileOf(IGraphReadSession session, RecordId record) => session.GetRecord(record)!.Profile;

    private static bool Identified(IGraphReadSession session, ProfileId profile) => session.CountProfileIdentifiers(profile, IdentifierTypes.UserId) > 0;

    private static GraphException Refuse(string field, string message) => new(GraphErrorKind.Conflict, field, message);

    /// <summary>/users/alias/new, one alias: "exists" (a pair already in use changes nothing), "added" or "created".</summary>
    public static string NewAlias(IGraphTransaction tx, UserRef? user, UserRef alias, string field, WriteOrigin origin)
    {
        if (tx.FindIdentifier(alias.Identifier!) is not null)
        {
            return "exists";
        }
        if (user is null)
        {
            IdentityGraph.Identify(tx, new IdentifyCommand(alias.Input(field), [], Empty, Empty, []), origin);
            return "created";
        }
        var owner = tx.FindIdentifier(user.Identifier!)
            ?? throw Refuse($"{field}.external_id", $"no user has external_id '{user.Display}'; the alias was not added");
        EnsureOneAliasPerLabel(tx, ProfileOf(tx, owner.Record), [alias.Identifier!], user);
        Attach(tx, user, alias, field, origin);
        return "added";
    }

    /// <summary>
    /// /users/identify, one object: folds the profile of an alias (or email, phone) into the profile of the external_id, or
    /// gives the external_id to that profile when no user has it. An identifier that no user holds yet joins the user.
    /// </summary>
    public static string Identify(IGraphTransaction tx, UserRef user, UserRef anonymous, string field, WriteOrigin origin)
    {
        var anonymousRecord = Find(tx, anonymous);
        var userOwner = tx.FindIdentifier(user.Identifier!);
        if (anonymousRecord is null)
        {
            if (tx.FindIdentifier(anonymous.Identifier!) is not null)
            {
                throw Refuse(field, $"the user holding {anonymous} does not match the prioritization [{string.Join(", ", anonymous.Prioritization)}]");
            }
            if (userOwner is not null && anonymous.Identifier!.IsAlias)
            {
                EnsureOneAliasPerLabel(tx, ProfileOf(tx, userOwner.Record), [anonymous.Identifier], user);
            }
            Attach(tx, user, anonymous, field, origin);
            return "attached";
        }
        var anonymousProfile = ProfileOf(tx, anonymousRecord.Value);
        if (userOwner is not null && ProfileOf(tx, userOwner.Record) == anonymousProfile)
        {
            return "already";
        }
        if (Identified(tx, anonymousProfile))
        {
            throw Refuse(field, $"{anonymous} belongs to an identified user; combine identified users with /users/merge");
        }
        if (userOwner is null)
        {
            IdentityGraph.Identify(tx, new IdentifyCommand(anonymous.Input(field), [user.Input($"{field}.external_id")], Empty, Empty, []), origin);
            return "identified";
        }
        var userProfile = ProfileOf(tx, userOwner.Record);
        var aliases = tx.GetProfileIdentifiers(anonymousProfile).Where(i => i.Identifier.IsAlias).Select(i => i.Identifier).ToList();
        EnsureOneAliasPerLabel(tx, userProfile, aliases, user);
        IdentityGraph.JoinProfiles(tx, anonymousProfile, userProfile, LinkKinds.Alias, field, $"{field}.external_id", origin);
        return "merged";
    }

    /// <summary>/users/merge, one update: the user to merge joins the user to keep with an explicit link (undone with /v1/unlink).</summary>
    public static string Merge(IGraphTransaction tx, UserRef merge, UserRef keep, string field, WriteOrigin origin)
    {
        var from = Find(tx, merge) ?? throw Refuse($"{field}.identifier_to_merge", $"no user matches {merge}");
        var into = Find(tx, keep) ?? throw Refuse($"{field}.identifier_to_keep", $"no user matches {keep}");
        var (fromProfile, intoProfile) = (ProfileOf(tx, from), ProfileOf(tx, into));
        if (fromProfile == intoProfile)
        {
            return "already";
        }
        IdentityGraph.JoinProfiles(tx, fromProfile, intoProfile, LinkKinds.Merge, $"{field}.identifier_to_merge", $"{field}.identifier_to_keep", origin);
        return "merged";
    }

    /// <summary>/users/delete, one user: its whole profile; false when no user matches.</summary>
    public static bool Delete(IGraphTransaction tx, UserRef user, WriteOrigin origin)
    {
        if (Find(tx, user) is not { } record)
        {
            return false;
        }
        IdentityGraph.DeleteProfile(tx, ProfileOf(tx, record), origin);
        return true;
    }

    /// <summary>Attaches <paramref name="identifier"/> to the user's record, creating the user when it is new; merge protection applies.</summary>
    private static void Attach(IGraphTransaction tx, UserRef user, UserRef identifier, string field, WriteOrigin origin)
    {
        var result = IdentityGraph.Identify(tx, new IdentifyCommand(user.Input($"{field}.external_id"), [identifier.Input(field)], Empty, Empty, []), origin);
        if (result.Refused.Count > 0)
        {
            throw Refuse(field, result.Refused[0].Reason);
        }
    }

    /// <summary>A Braze user holds at most one alias per label: refuses aliases whose label the profile already holds under another name.</summary>
    private static void EnsureOneAliasPerLabel(IGraphReadSession session, ProfileId profile, IReadOnlyList<Identifier> aliases, UserRef user)
    {
        var held = session.GetProfileIdentifiers(profile).Where(i => i.Identifier.IsAlias).Select(i => i.Identifier.AliasParts!.Value).ToList();
        foreach (var alias in aliases)
        {
            var (label, name) = alias.AliasParts!.Value;
            if (held.FirstOrDefault(h => h.Label == label && h.Name != name) is { Label: not null } other)
            {
                throw Refuse("user_alias", $"the user with {user} already has an alias labelled '{label}' ('{other.Name}'); a user holds one alias per label, so nothing was combined");
            }
        }
    }

    private static readonly IReadOnlyDictionary<string, PropertyValue> Empty = new Dictionary<string, PropertyValue>();
}
