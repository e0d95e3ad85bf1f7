using Selfsame.Graph;
using Selfsame.Storage;

namespace Selfsame.Companies;

/// <summary>A company property as stored.</summary>
public sealed record CompanyProperty(string Key, PropertyValue Value, DateTimeOffset UpdatedAt);

/// <summary>A company of a project: its own properties and the records that belong to it.</summary>
public sealed record CompanyInfo(string CompanyId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<CompanyProperty> Properties,
    IReadOnlyList<RecordId> Members);

/// <summary>
/// Companies (accounts, organizations) as first-class data of a project's graph: created or updated by id with their own
/// properties, and joined by records. A record's companies are its profile's companies when read.
/// </summary>
/// <summary>The limits of company ids, for the surfaces that read them.</summary>
public static class CompanyLimits
{
    public const int MaxIdLength = 512;
}

internal static class CompanyRules
{
    public const int MaxIdLength = CompanyLimits.MaxIdLength;

    /// <summary>Creates the company if new and writes its properties (a null value removes one).</summary>
    public static void Identify(IGraphTransaction tx, string companyId, IReadOnlyDictionary<string, PropertyValue> properties)
    {
        tx.UpsertCompany(companyId);
        foreach (var (key, value) in properties)
        {
            if (value.Type == PropertyType.Null)
            {
                tx.RemoveCompanyProperty(companyId, key);
            }
            else
            {
                tx.SetCompanyProperty(companyId, key, value);
            }
        }
    }

    /// <summary>Makes the record a member of the company, creating the company when it is new.</summary>
    public static void Join(IGraphTransaction tx, string companyId, RecordId record)
    {
        tx.UpsertCompany(companyId);
        tx.AddCompanyMember(companyId, record);
    }
}
