using System.Text.Json;
using Selfsame.Companies;
using Selfsame.Graph;
using Selfsame.Jobs;
using Selfsame.Operations;

namespace Selfsame.Server.Userpilot;

/// <summary>A user row: the user, its metadata (null values remove), and the company it belongs to with that company's metadata.</summary>
internal sealed record UserRow(IdentifierInput User, IReadOnlyDictionary<string, PropertyValue> Set, IReadOnlyList<string> Unset,
    string? Company, IReadOnlyDictionary<string, PropertyValue> CompanyMetadata)
{
    /// <summary>The row as the engine applies it: an identify, and the company's metadata and membership when it names one.</summary>
    public GraphOperation Operation()
    {
        var identify = new GraphOperation.IdentifyOp(new IdentifyCommand(User, [], Set, Empty, Unset));
        if (Company is null)
        {
            return identify;
        }
        List<GraphOperation> steps = [identify];
        if (CompanyMetadata.Count > 0)
        {
            steps.Add(new GraphOperation.CompanyOp(new CompanyCommand(Company, CompanyMetadata)));
        }
        steps.Add(new GraphOperation.JoinCompanyOp(new JoinCompanyCommand(Company, User)));
        return new GraphOperation.Sequence(steps);
    }

    private static readonly IReadOnlyDictionary<string, PropertyValue> Empty = new Dictionary<string, PropertyValue>();
}

/// <summary>Reads Userpilot's user and company objects: ids as strings, metadata of primitives only, as its documents say.</summary>
internal static class UserpilotRows
{
    public static UserRow User(JsonElement row, string path, ProjectSettings settings)
    {
        if (row.ValueKind != JsonValueKind.Object)
        {
            throw RequestValidationException.Of(path.Length == 0 ? "(row)" : path, "expected a user object {\"user_id\": ..., \"metadata\": {...}}");
        }
        var userId = RequiredId(row, "user_id", path, IdentifierNormalizer.MaxValueLength);
        var user = IdentifierNormalizer.TryNormalize(IdentifierTypes.UserId, userId, settings, out var error)
            ?? throw RequestValidationException.Of(Join(path, "user_id"), error!);
        var (set, unset) = Metadata(row, path);
        string? company = null;
        IReadOnlyDictionary<string, PropertyValue> companyMetadata = new Dictionary<string, PropertyValue>();
        if (row.TryGetProperty("company_id", out var companyId) && companyId.ValueKind != JsonValueKind.Null)
        {
            company = RequiredId(row, "company_id", path);
        }
        if (row.TryGetProperty("company", out var companyObject) && companyObject.ValueKind != JsonValueKind.Null)
        {
            (company, companyMetadata) = CompanyObject(companyObject, Join(path, "company"));
        }
        return new UserRow(new IdentifierInput(user, userId, Join(path, "user_id")), set, unset, company, companyMetadata);
    }

    /// <summary>The identify call's company: at least an <c>id</c> (or <c>company_id</c>); its other fields are the company's metadata.</summary>
    private static (string Id, IReadOnlyDictionary<string, PropertyValue> Metadata) CompanyObject(JsonElement company, string path)
    {
        if (company.ValueKind != JsonValueKind.Object)
        {
            throw RequestValidationException.Of(path, "expected a company object with at least an id");
        }
        var idField = company.TryGetProperty("id", out _) ? "id" : "company_id";
        var id = RequiredId(company, idField, path);
        var metadata = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        foreach (var property in company.EnumerateObject().Where(p => p.Name is not ("id" or "company_id")))
        {
            if (property.Name == "metadata")
            {
                foreach (var (key, value) in Metadata(company, path).Set)
                {
                    metadata[key] = value;
                }
                continue;
            }
            metadata[CheckKey(property.Name, path)] = Primitive(property.Value, Join(path, property.Name));
        }
        return (id, metadata);
    }

    public static (string Company, IReadOnlyDictionary<string, PropertyValue> Metadata) Company(JsonElement row, string path)
    {
        if (row.ValueKind != JsonValueKind.Object)
        {
            throw RequestValidationException.Of(path.Length == 0 ? "(row)" : path, "expected a company object {\"company_id\": ..., \"metadata\": {...}}");
        }
        var id = RequiredId(row, "company_id", path);
        var (set, unset) = Metadata(row, path);
        var all = new Dictionary<string, PropertyValue>(set, StringComparer.Ordinal);
        foreach (var key in unset)
        {
            all[key] = PropertyValue.Null;
        }
        return (id, all);
    }

    /// <summary>metadata: an object of strings, numbers, booleans and nulls (a null removes the key).</summary>
    private static (Dictionary<string, PropertyValue> Set, List<string> Unset) Metadata(JsonElement row, string path)
    {
        var set = new Dictionary<string, PropertyValue>(StringComparer.Ordinal);
        var unset = new List<string>();
        if (!row.TryGetProperty("metadata", out var metadata) || metadata.ValueKind == JsonValueKind.Null)
        {
            return (set, unset);
        }
        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw RequestValidationException.Of(Join(path, "metadata"), "expected an object of strings, numbers, booleans or nulls");
        }
        foreach (var property in metadata.EnumerateObject())
        {
            // Paths are built only for an error: a bulk job reads hundreds of thousands of these.
            var name = property.Name;
            var key = name.Length is > 0 and <= PropertyValue.MaxKeyLength && !name.Contains('\0', StringComparison.Ordinal) ? name : CheckKey(name, Join(path, "metadata"));
            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                unset.Add(key);
            }
            else
            {
                set[key] = MetadataValue(property.Value, path, key);
            }
        }
        return (set, unset);
    }

    private static PropertyValue Primitive(JsonElement value, string path) =>
        value.ValueKind is JsonValueKind.Object or JsonValueKind.Array
            ? throw RequestValidationException.Of(path, "only primitive values (string, number, boolean, null) are supported in metadata")
            : PropertyValue.TryFrom(value, out var error) ?? throw RequestValidationException.Of(path, error!);

    /// <summary>As <see cref="Primitive"/> for metadata.<paramref name="key"/> of the row at <paramref name="path"/>; the path is built on error only.</summary>
    private static PropertyValue MetadataValue(JsonElement value, string path, string key) =>
        value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array) && PropertyValue.TryFrom(value, out _) is { } property
            ? property
            : Primitive(value, Join(path, $"metadata.{key}"));

    /// <summary>A metadata key as the store keeps it: 1 to 256 characters, no NUL (which PostgreSQL cannot keep, so no store takes it).</summary>
    private static string CheckKey(string key, string path) =>
        key.Length is 0 or > PropertyValue.MaxKeyLength || key.Contains('\0', StringComparison.Ordinal)
            ? throw RequestValidationException.Of(path, $"metadata keys must be 1 to {PropertyValue.MaxKeyLength} characters, without NUL")
            : key;

    public static string RequiredId(JsonElement row, string name, string path, int maxLength = CompanyLimits.MaxIdLength)
    {
        if (!row.TryGetProperty(name, out var element) || element.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
        {
            throw RequestValidationException.Of(Join(path, name), $"{name} is required: a string");
        }
        var value = element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText();
        if (string.IsNullOrWhiteSpace(value) || value.Length > maxLength || value.Contains('\0', StringComparison.Ordinal))
        {
            throw RequestValidationException.Of(Join(path, name), $"{name} must be 1 to {maxLength} characters, not blank, without NUL");
        }
        return value;
    }

    public static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>Parses one line of a job's payload, turning what cannot be read into a failed row.</summary>
    public static T Line<T>(string line, Func<JsonElement, T> read)
    {
        try
        {
            // The depth the request body was read with: a row checked up front reads the same here.
            using var document = JsonText.Parse(line, maxDepth: 32);
            return read(document.RootElement);
        }
        catch (JsonException e)
        {
            throw new JobRowException($"malformed JSON: {e.Message}");
        }
        catch (RequestValidationException e)
        {
            throw new JobRowException(string.Join("; ", e.Errors));
        }
    }
}

/// <summary>The kinds of Userpilot's bulk jobs: identify users, identify companies, delete users.</summary>
public static class UserpilotJobs
{
    public const string UsersKind = "userpilot.users";
    public const string CompaniesKind = "userpilot.companies";
    public const string DeleteUsersKind = "userpilot.delete_users";

    /// <summary>
    /// A row of either kind, as Userpilot's upload holds "user or company profiles": a row with a <c>user_id</c> is a user
    /// (with its company, when it names one), a row with only a <c>company_id</c> a company.
    /// </summary>
    private static JobRow Profile(string line, ProjectSettings settings, bool usersFile) => UserpilotRows.Line(line, row =>
    {
        var isUser = row.ValueKind != JsonValueKind.Object ? usersFile
            : row.TryGetProperty("user_id", out _) || (usersFile && !row.TryGetProperty("company_id", out _));
        if (isUser)
        {
            return JobRow.Of(UserpilotRows.User(row, "", settings).Operation());
        }
        var (company, metadata) = UserpilotRows.Company(row, "");
        return JobRow.Of(new GraphOperation.CompanyOp(new CompanyCommand(company, metadata)));
    });

    public sealed class Users : IJobKind
    {
        public string Name => UsersKind;

        public JobRow Read(string line, ProjectSettings settings) => Profile(line, settings, usersFile: true);
    }

    public sealed class Companies : IJobKind
    {
        public string Name => CompaniesKind;

        public JobRow Read(string line, ProjectSettings settings) => Profile(line, settings, usersFile: false);
    }

    /// <summary>
    /// A row is a user id, a JSON string or number as identify takes it: the profile holding it is deleted, with everything
    /// on it.
    /// </summary>
    public sealed class DeleteUsers : IJobKind
    {
        public string Name => DeleteUsersKind;

        /// <summary>The user id an element names (a number by its text, as identify reads it), or null when it names none.</summary>
        public static string? UserId(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.String when element.GetString() is { } text && !string.IsNullOrWhiteSpace(text) && text.Length <= IdentifierNormalizer.MaxValueLength
                && !text.Contains('\0', StringComparison.Ordinal) => text,
            JsonValueKind.Number => element.GetRawText(),
            _ => null,
        };

        public JobRow Read(string line, ProjectSettings settings)
        {
            var userId = UserpilotRows.Line(line, row => UserId(row) ?? throw RequestValidationException.Of("(row)", "expected a user id (a string or a number, without NUL)"));
            var user = IdentifierNormalizer.TryNormalize(IdentifierTypes.UserId, userId, settings, out var error)
                ?? throw new JobRowException($"(row): {error}");
            return JobRow.Of(new GraphOperation.DeleteUserOp(new UserLookup.ByIdentifier(new IdentifierInput(user, userId, "user_id"), Named: $"user_id '{userId}'"), MustExist: true));
        }
    }
}
