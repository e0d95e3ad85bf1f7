using Selfsame.Companies;
using Selfsame.Graph;

namespace Selfsame.Storage.Postgres;

// Companies, their properties and members (ICompanyReads, ICompanyWrites).
internal sealed partial class PostgresGraphSession : ICompanyReads, ICompanyWrites
{
    public CompanyInfo? GetCompany(string companyId)
    {
        var company = List("SELECT created_at, updated_at FROM companies WHERE project_id = $1 AND company_id = $2",
            r => (Created: Time(r.GetInt64(0)), Updated: Time(r.GetInt64(1))), _project, companyId);
        if (company.Count == 0)
        {
            return null;
        }
        var properties = List("SELECT key, type, value, updated_at FROM company_properties WHERE project_id = $1 AND company_id = $2 ORDER BY key",
            r => new CompanyProperty(r.GetString(0), new PropertyValue(PropertyValue.ParseTypeName(r.GetString(1)), r.GetString(2)), Time(r.GetInt64(3))),
            _project, companyId);
        var members = List("SELECT record_id FROM company_members WHERE project_id = $1 AND company_id = $2 ORDER BY record_id",
            r => new RecordId(r.GetInt64(0)), _project, companyId);
        return new CompanyInfo(companyId, company[0].Created, company[0].Updated, properties, members);
    }

    public IReadOnlyList<string> GetProfileCompanies(ProfileId profile) =>
        List("SELECT DISTINCT m.company_id FROM records r JOIN company_members m ON m.project_id = r.project_id AND m.record_id = r.record_id " +
             "WHERE r.project_id = $1 AND r.profile_id = $2 ORDER BY m.company_id", r => r.GetString(0), _project, profile.Value);

    public void UpsertCompany(string companyId) =>
        Execute("INSERT INTO companies (project_id, company_id, created_at, updated_at) VALUES ($1, $2, $3, $3) " +
                "ON CONFLICT (project_id, company_id) DO UPDATE SET updated_at = excluded.updated_at", _project, companyId, NowMs);

    public void SetCompanyProperty(string companyId, string key, PropertyValue value) =>
        Execute("INSERT INTO company_properties (project_id, company_id, key, type, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6) " +
                "ON CONFLICT (project_id, company_id, key) DO UPDATE SET type = excluded.type, value = excluded.value, updated_at = excluded.updated_at",
            _project, companyId, key, PropertyValue.TypeName(value.Type), value.Json, NowMs);

    public void RemoveCompanyProperty(string companyId, string key) =>
        Execute("DELETE FROM company_properties WHERE project_id = $1 AND company_id = $2 AND key = $3", _project, companyId, key);

    public void AddCompanyMember(string companyId, RecordId record) =>
        Execute("INSERT INTO company_members (project_id, company_id, record_id, joined_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            _project, companyId, record.Value, NowMs);
}
