using Microsoft.Extensions.Time.Testing;
using Selfsame.Graph;
using Selfsame.Storage;
using Selfsame.Storage.Sqlite;

namespace Selfsame.Tests.Support;

/// <summary>Opens a real store for a test; one subclass per kind of store runs the same contract tests.</summary>
public interface IStoreFactory : IDisposable
{
    IGraphStore Open(TimeProvider time);

    /// <summary>Every row of every table of the store, in a fixed order, as text: two dumps are equal when the data is.</summary>
    string Dump();
}

public sealed class SqliteStoreFactory : IStoreFactory
{
    private readonly TempFolder _folder = new("sqlite");

    public string DataFolder => _folder.Path;

    public IGraphStore Open(TimeProvider time) => SqliteStore.Open(_folder.Path, time);

    public string Dump()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={System.IO.Path.Combine(_folder.Path, SqliteStore.FileName)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return StoreDump.Of(connection, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    }

    public void Dispose() => _folder.Dispose();
}

/// <summary>
/// A PostgreSQL store in a schema of its own on the server that <c>SELFSAME_TEST_POSTGRES</c> names (./test starts a throwaway
/// cluster and sets it); the schema is dropped afterwards.
/// </summary>
public sealed class PostgresStoreFactory : IStoreFactory
{
    private readonly string _schema = $"t{Guid.NewGuid():N}";
    private readonly List<IGraphStore> _opened = [];

    public static string BaseConnectionString =>
        Environment.GetEnvironmentVariable("SELFSAME_TEST_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("SELFSAME_TEST_POSTGRES is not set: run ./test, which starts a throwaway PostgreSQL and sets it");

    public string ConnectionString { get; }

    public PostgresStoreFactory()
    {
        using (var connection = new Npgsql.NpgsqlConnection(BaseConnectionString))
        {
            connection.Open();
            using var create = new Npgsql.NpgsqlCommand($"CREATE SCHEMA {_schema}", connection);
            create.ExecuteNonQuery();
        }
        ConnectionString = new Npgsql.NpgsqlConnectionStringBuilder(BaseConnectionString) { SearchPath = _schema }.ConnectionString;
    }

    public IGraphStore Open(TimeProvider time)
    {
        var store = Selfsame.Storage.Postgres.PostgresStore.Open(ConnectionString, time);
        _opened.Add(store);
        return store;
    }

    public string Dump()
    {
        using var connection = new Npgsql.NpgsqlConnection(ConnectionString);
        connection.Open();
        return StoreDump.Of(connection, $"SELECT tablename FROM pg_tables WHERE schemaname = '{_schema}' ORDER BY tablename");
    }

    public void Dispose()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        using var connection = new Npgsql.NpgsqlConnection(BaseConnectionString);
        connection.Open();
        using var drop = new Npgsql.NpgsqlCommand($"DROP SCHEMA {_schema} CASCADE", connection);
        drop.ExecuteNonQuery();
    }
}

/// <summary>A store with a fresh project in it, an engine over it, and a fake clock.</summary>
public sealed class EngineHarness : IAsyncDisposable
{
    private EngineHarness(IGraphStore store, FakeTimeProvider time, ProjectId project)
    {
        Store = store;
        Time = time;
        Project = project;
        Engine = new IdentityEngine(store);
    }

    public IGraphStore Store { get; }
    public FakeTimeProvider Time { get; }
    public ProjectId Project { get; }
    public IdentityEngine Engine { get; }

    public static async Task<EngineHarness> CreateAsync(IStoreFactory factory, ProjectSettings? settings = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = factory.Open(time);
        var project = ProjectId.Parse($"p{Guid.NewGuid():N}"[..20]);
        await store.Catalog.CreateProjectAsync(new Project(project, "test", time.GetUtcNow(), settings ?? ProjectSettings.Default), null, CancellationToken.None);
        return new EngineHarness(store, time, project);
    }

    public Task<IdentifyResult> IdentifyAsync(IdentifyCommand command) => Engine.IdentifyAsync(Project, command, Some.Origin, CancellationToken.None);
    public Task<LinkResult> LinkAsync(IdentifierInput from, IdentifierInput into) => Engine.LinkAsync(Project, Some.Link(from, into), Some.Origin, CancellationToken.None);
    public Task<UnlinkResult> UnlinkAsync(IdentifierInput from, IdentifierInput into) => Engine.UnlinkAsync(Project, Some.Unlink(from, into), Some.Origin, CancellationToken.None);
    public async Task<Events.TrackResult> TrackAsync(Events.TrackCommand command) =>
        (Events.TrackResult)(await Engine.ApplyAsync(Project, [new GraphOperation.TrackOp(command)], Some.Origin, CancellationToken.None)).Single().Value!;

    public async Task<IReadOnlyList<Events.StoredEvent>> StreamAsync(long id, bool recordOnly = false, Events.EventQuery? query = null) =>
        (await Engine.EventsAsync(Project, id, recordOnly, query ?? new Events.EventQuery(null, null, null, null, 100), CancellationToken.None))!.Events;

    public Task<Resolution?> ResolveAsync(IdentifierInput identifier) => Engine.ResolveAsync(Project, identifier.Identifier, CancellationToken.None);
    public async Task<ProfileId> ProfileOfAsync(IdentifierInput identifier) => (await ResolveAsync(identifier))?.Profile ?? throw new InvalidOperationException($"{identifier.Identifier} is unknown");
    public async Task<ProfileView> ProfileAsync(ProfileId id) => await Engine.GetProfileAsync(Project, id.Value, CancellationToken.None) ?? throw new InvalidOperationException($"no profile {id}");

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}

/// <summary>Every row of every table a query lists, each table's rows sorted, as text.</summary>
internal static class StoreDump
{
    public static string Of(System.Data.Common.DbConnection connection, string listTables)
    {
        var tables = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.CommandText = listTables;
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }
        var dump = new System.Text.StringBuilder();
        foreach (var table in tables)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\"";
            using var reader = command.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read())
            {
                rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "NULL"
                    : reader.GetValue(i) is byte[] bytes ? Convert.ToHexString(bytes)
                    : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
            }
            rows.Sort(StringComparer.Ordinal);
            dump.Append(table).Append('\n').AppendJoin('\n', rows).Append('\n');
        }
        return dump.ToString();
    }
}
