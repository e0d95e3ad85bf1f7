using Microsoft.Extensions.DependencyInjection;
using Selfsame.Graph;
using Selfsame.Imports;
using Selfsame.Jobs;
using Selfsame.Keys;
using Selfsame.Retention;
using Selfsame.Storage;

namespace Selfsame;

/// <summary>A setting that cannot be used as given (a config file, a flag, an environment variable); the message says which and why.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>Where the data is: <c>sqlite</c> (a file in <see cref="DataFolder"/>) or <c>postgres</c> (the database of <see cref="Connection"/>).</summary>
public sealed record StoreLocation(string Kind, string DataFolder, string? Connection)
{
    public IGraphStore Open(TimeProvider time) => Kind switch
    {
        "postgres" => Storage.Postgres.PostgresStore.Open(
            string.IsNullOrWhiteSpace(Connection) ? throw new ConfigurationException("the postgres store needs a connection string (--connection or SELFSAME_CONNECTION)") : Connection,
            time),
        "sqlite" => Storage.Sqlite.SqliteStore.Open(DataFolder, time),
        _ => throw new ConfigurationException($"'{Kind}' is not a store: use sqlite or postgres"),
    };
}

public static class SelfsameCore
{
    /// <summary>
    /// The engine and everything it stands on, for the server and the CLI alike: the store (opened when first asked for),
    /// its catalog, the identity engine, projects, API keys, durable jobs (imports; surfaces add their own kinds) and retention.
    /// </summary>
    public static IServiceCollection AddSelfsameCore(this IServiceCollection services, StoreLocation store, TimeProvider time)
    {
        services.AddSingleton(time);
        services.AddSingleton(_ => store.Open(time));
        services.AddSingleton(sp => sp.GetRequiredService<IGraphStore>().Catalog);
        services.AddSingleton(sp => sp.GetRequiredService<IGraphStore>().Jobs);
        services.AddSingleton<IdentityEngine>();
        services.AddSingleton<Projects>();
        services.AddSingleton<ApiKeys>();
        services.AddSingleton<IJobKind, ImportJobKind>();
        services.AddSingleton(sp => new JobProcessor(sp.GetRequiredService<IGraphStore>(), time, sp.GetServices<IJobKind>()));
        services.AddSingleton<RetentionSweep>();
        return services;
    }
}
