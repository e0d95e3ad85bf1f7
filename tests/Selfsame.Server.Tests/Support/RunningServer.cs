using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Selfsame.Graph;
using Selfsame.Keys;
using Selfsame.Server.Hosting;

namespace Selfsame.Server.Tests.Support;

/// <summary>
/// The real server (Kestrel) on a free loopback port, over a fresh store, with keys of each role. The store is a SQLite
/// file in a fresh data folder; with <c>SELFSAME_TEST_STORE=postgres</c> (./test runs the suite both ways) it is a fresh
/// schema on the PostgreSQL server that <c>SELFSAME_TEST_POSTGRES</c> names.
/// </summary>
public class RunningServer : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "selfsame-tests", $"server-{Guid.NewGuid():N}");
    private readonly string _schema = $"s{Guid.NewGuid():N}";
    private WebApplication? _app;

    public static bool OnPostgres => Environment.GetEnvironmentVariable("SELFSAME_TEST_STORE") == "postgres";

    private static string PostgresBase =>
        Environment.GetEnvironmentVariable("SELFSAME_TEST_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("SELFSAME_TEST_STORE=postgres needs SELFSAME_TEST_POSTGRES: run ./test, which starts a throwaway PostgreSQL");

    private string PostgresConnection => new Npgsql.NpgsqlConnectionStringBuilder(PostgresBase) { SearchPath = _schema }.ConnectionString;

    /// <summary>Whether this server's store is a schema on the test PostgreSQL (by default, when the suite runs on PostgreSQL).</summary>
    protected virtual bool UsesPostgres => OnPostgres;

    /// <summary>The connection string the server is given, on PostgreSQL: the schema's own, unless a subclass puts something between.</summary>
    protected virtual string ServerConnection(Npgsql.NpgsqlConnectionStringBuilder direct) => direct.ConnectionString;

    /// <summary>The test PostgreSQL's host and port, for a subclass that reaches it another way.</summary>
    protected static (string Host, int Port) PostgresEndpoint
    {
        get
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(PostgresBase);
            return (builder.Host!, builder.Port);
        }
    }

    /// <summary>Runs a query against the store's own database (the SQLite file, or the PostgreSQL schema) and returns the first column of the first row.</summary>
    public object? Scalar(string sql)
    {
        if (UsesPostgres)
        {
            using var pg = new Npgsql.NpgsqlConnection(PostgresConnection);
            pg.Open();
            using var query = new Npgsql.NpgsqlCommand(sql, pg);
            return query.ExecuteScalar();
        }
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_data, Selfsame.Storage.Sqlite.SqliteStore.FileName)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public Uri BaseAddress { get; private set; } = null!;
    public string AdminKey { get; private set; } = "";
    public string WriteKey { get; private set; } = "";
    public string ReadKey { get; private set; } = "";
    public IServiceProvider Services => _app!.Services;

    // Warnings and errors only: a line per request would bury the test run's own output.
    protected virtual SelfsameOptions Options(string data) => UsesPostgres
        ? new() { Store = "postgres", Connection = ServerConnection(new(PostgresConnection)), Urls = "http://127.0.0.1:0", MaxRequestBodyBytes = 64 * 1024, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning }
        : new() { DataFolder = data, Urls = "http://127.0.0.1:0", MaxRequestBodyBytes = 64 * 1024, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };

    protected virtual TimeProvider Time => TimeProvider.System;

    public virtual async Task InitializeAsync()
    {
        if (UsesPostgres)
        {
            using var connection = new Npgsql.NpgsqlConnection(PostgresBase);
            connection.Open();
            using var create = new Npgsql.NpgsqlCommand($"CREATE SCHEMA {_schema}", connection);
            create.ExecuteNonQuery();
        }
        _app = SelfsameServer.Build(Options(_data), Time);
        await _app.Services.GetRequiredService<Projects>().EnsureDefaultAsync(CancellationToken.None);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var keys = _app.Services.GetRequiredService<ApiKeys>();
        AdminKey = (await keys.CreateAsync(ProjectId.Default, Roles.Admin, "tests", new WriteOrigin("test", null), CancellationToken.None)).Key;
        WriteKey = (await keys.CreateAsync(ProjectId.Default, Roles.Write, "tests", new WriteOrigin("test", null), CancellationToken.None)).Key;
        ReadKey = (await keys.CreateAsync(ProjectId.Default, Roles.Read, "tests", new WriteOrigin("test", null), CancellationToken.None)).Key;
    }

    public HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    public virtual async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        SqliteConnection.ClearAllPools();
        if (UsesPostgres)
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            using var connection = new Npgsql.NpgsqlConnection(PostgresBase);
            connection.Open();
            using var drop = new Npgsql.NpgsqlCommand($"DROP SCHEMA {_schema} CASCADE", connection);
            drop.ExecuteNonQuery();
        }
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean.
        }
    }
}

/// <summary>Names that no other test uses, so tests sharing a server never see each other's data.</summary>
public static class Names
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}

public static class Repository
{
    /// <summary>The checkout's root: the folder above the test binaries that holds Selfsame.slnx.</summary>
    public static string Root()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Selfsame.slnx")))
        {
            folder = folder.Parent;
        }
        return folder?.FullName ?? throw new InvalidOperationException("no Selfsame.slnx above the test folder");
    }
}

public static class Http
{
    public static StringContent Json(string body, string contentType = "application/json") => new(body, Encoding.UTF8, contentType);

    public static async Task<(int Status, JsonNode? Body)> PostAsync(this HttpClient client, string path, string body)
    {
        using var response = await client.PostAsync(path, Json(body));
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public static async Task<(int Status, JsonNode? Body)> SendAsync(this HttpClient client, HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public static Task<(int Status, JsonNode? Body)> GetJsonAsync(this HttpClient client, string path) => client.SendAsync(HttpMethod.Get, path);

    private static async Task<JsonNode?> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    /// <summary>Every identifier the project holds, as "type:value", through the export endpoint.</summary>
    public static async Task<List<string>> AllIdentifiersAsync(this HttpClient client)
    {
        var text = await client.GetStringAsync("/v1/export");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(line => JsonNode.Parse(line)!["identifiers"]!.AsArray().Select(i => $"{i!["type"]}:{i["value"]}"))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    public static T Value<T>(this JsonNode? node, string path)
    {
        var current = node;
        foreach (var part in path.Split('.'))
        {
            current = int.TryParse(part, out var index) ? current![index] : current![part];
        }
        return current!.GetValue<T>();
    }

    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);

    public static Task<HttpResponseMessage> PostJsonAsync<T>(this HttpClient client, string path, T body) => client.PostAsJsonAsync(path, body, Options);
}
