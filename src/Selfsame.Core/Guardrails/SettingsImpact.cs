using Selfsame.Graph;
using Selfsame.Storage;

namespace Selfsame.Guardrails;

/// <summary>A profile that breaks a rule of proposed settings, and the identifiers that break it (none listed for max_records).</summary>
public sealed record RuleExample(ProfileId Profile, IReadOnlyList<Identifier> Identifiers);

/// <summary>How many existing profiles break one rule of proposed settings, with up to <see cref="SettingsImpact.Shown"/> of them.</summary>
public sealed record RuleImpact(string Rule, long Profiles, IReadOnlyList<RuleExample> Examples);

/// <summary>An identifier that proposed deny-list entries match (and the settings in force do not), and the rule.</summary>
public sealed record DeniedExample(Identifier Identifier, RecordId Record, ProfileId Profile, string Rule);

/// <summary>
/// What proposed settings would find in a project's data, read in one snapshot: profiles that already break each cap of
/// merge protection and identifiers that new deny-list entries match. Settings never change existing profiles: a profile
/// over a new cap stays as it is (it takes no further implicit merge), and a newly denied identifier stays attached until
/// it is detached; only later writes are held to them.
/// </summary>
public sealed record SettingsImpact(long ProfilesRead, IReadOnlyList<RuleImpact> Rules, long IdentifiersDenied, IReadOnlyList<DeniedExample> Denied)
{
    public const int Shown = 100;

    /// <summary>The settings-impact job's kind: its payload is the proposed settings, its result this record as JSON.</summary>
    public const string JobKind = "settings_impact";

    internal static SettingsImpact Read(IGraphReadSession session, ProjectSettings current, ProjectSettings proposed, Action<long>? progress = null)
    {
        var rules = proposed.MaxPerType.Keys.Order(StringComparer.Ordinal).Select(ReviewRules.PerType).Append(ReviewRules.MaxRecords).ToList();
        var counts = rules.ToDictionary(r => r, _ => 0L, StringComparer.Ordinal);
        var examples = rules.ToDictionary(r => r, _ => new List<RuleExample>(), StringComparer.Ordinal);
        var denied = new List<DeniedExample>();
        long deniedCount = 0, profiles = 0;
        var after = new ProfileId(0);
        while (true)
        {
            var page = session.ListProfiles(after, 500);
            if (page.Count == 0)
            {
                break;
            }
            foreach (var profile in page)
            {
                profiles++;
                var identifiers = session.GetProfileIdentifiers(profile);
                foreach (var (type, max) in proposed.MaxPerType)
                {
                    var ofType = identifiers.Where(i => i.Identifier.Type == type).Select(i => i.Identifier).ToList();
                    if (ofType.Count > max)
                    {
                        Count(ReviewRules.PerType(type), profile, ofType);
                    }
                }
                if (session.CountProfileRecords(profile) > proposed.MaxRecords)
                {
                    Count(ReviewRules.MaxRecords, profile, []);
                }
                foreach (var identifier in identifiers)
                {
                    if (DenyList.Check(identifier.Identifier, proposed) is { } denial && DenyList.Check(identifier.Identifier, current) is null)
                    {
                        deniedCount++;
                        if (denied.Count < Shown)
                        {
                            denied.Add(new DeniedExample(identifier.Identifier, identifier.Record, profile, denial.Rule));
                        }
                    }
                }
            }
            after = page[^1];
            progress?.Invoke(profiles);
        }
        return new SettingsImpact(profiles, rules.Select(r => new RuleImpact(r, counts[r], examples[r])).ToList(), deniedCount, denied);

        void Count(string rule, ProfileId profile, IReadOnlyList<Identifier> breaking)
        {
            counts[rule]++;
            if (examples[rule].Count < Shown)
            {
                examples[rule].Add(new RuleExample(profile, breaking));
            }
        }
    }
}
