using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>Writes of a project's companies: the company, its properties, its members.</summary>
public interface ICompanyWrites
{
    /// <summary>Creates the company when it is new, else moves its updated time.</summary>
    void UpsertCompany(string companyId);
    void SetCompanyProperty(string companyId, string key, PropertyValue value);
    void RemoveCompanyProperty(string companyId, string key);
    void AddCompanyMember(string companyId, RecordId record);
}
