using Selfsame.Graph;

namespace Selfsame.Storage.Sqlite;

// Companies, their properties and members (ICompanyReads, ICompanyWrites).
internal sealed partial class SqliteGraphSession : ICompanyReads, ICompanyWrites
{
    public Companies.CompanyInfo? GetCompany(string companyId)
    {
        WritePending();
        DateTimeOffset created, updated;
        using (var row = Sql.Query("SELECT created_at, updated_at FROM companies WHERE project_id = @p0 AND company_id = @p1", _project, companyId))
        {
            if (!row.Read())
            {
                return null;
            }
            (created, updated) = (Time(row.GetInt64(0)), Time(row.GetInt64(1)));
        }
        var properties = new List<Companies.CompanyProperty>();
        using (var rows = Sql.Query("SELECT key, type, value, updated_at FROM company_properties WHERE project_id = @p0 AND company_id = @p1 ORDER BY key", _project, companyId))
        {
            while (rows.Read())
            {
                properties.Add(new Companies.CompanyProperty(rows.GetString(0), new PropertyValue(PropertyValue.ParseTypeName(rows.GetString(1)), rows.GetString(2)), Time(rows.GetInt64(3))));
            }
        }
        var members = new List<RecordId>();
        using (var rows = Sql.Query("SELECT record_id FROM company_members WHERE project_id = @p0 AND company_id = @p1 ORDER BY record_id", _project, companyId))
        {
            while (rows.Read())
            {
                members.Add(new RecordId(rows.GetInt64(0)));
            }
        }
        return new Companies.CompanyInfo(companyId, created, updated, properties, members);
    }

    public IReadOnlyList<string> GetProfileCompanies(ProfileId profile)
    {
        WritePending();
        using var rows = Sql.Query(
            "SELECT DISTINCT m.company_id FROM records r CROSS JOIN company_members m INDEXED BY company_members_by_record " +
            "ON m.project_id = r.project_id AND m.record_id = r.record_id WHERE r.project_id = @p0 AND r.profile_id = @p1 ORDER BY m.company_id",
            _project, profile.Value);
        var result = new List<string>();
        while (rows.Read())
        {
            result.Add(rows.GetString(0));
        }
        return result;
    }

    public void UpsertCompany(string companyId) => _pending.UpsertCompany(companyId, Now.ToUnixTimeMilliseconds());

    public void SetCompanyProperty(string companyId, string key, PropertyValue value) =>
        _pending.SetCompanyProperty(companyId, key, value, Now.ToUnixTimeMilliseconds());

    public void RemoveCompanyProperty(string companyId, string key)
    {
        WritePending();
        Sql.Execute("DELETE FROM company_properties WHERE project_id = @p0 AND company_id = @p1 AND key = @p2", _project, companyId, key);
    }

    public void AddCompanyMember(string companyId, RecordId record) => _pending.AddMember(companyId, record.Value, Now.ToUnixTimeMilliseconds());
}
