using Selfsame.Companies;
using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>Reads of a project's companies and their members.</summary>
public interface ICompanyReads : IProjectSession
{
    CompanyInfo? GetCompany(string companyId);

    /// <summary>The ids of the companies that any record of the profile belongs to, in order.</summary>
    IReadOnlyList<string> GetProfileCompanies(ProfileId profile);
}
