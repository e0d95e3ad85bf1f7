using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Selfsame.Graph;
using Selfsame.Storage.Sqlite;
using Selfsame.Tests.Support;
using Xunit.Abstractions;
using static Selfsame.Tests.Support.Some;

namespace Selfsame.Tests.Storage;

/// <summary>
/// Every statement the store prepares must find its rows through an index on more than the project id: a full scan, or
/// a search by project_id alone, reads every row of a project and turns a 20 µs request into milliseconds as data grows.
/// (SQLite's planner did exactly that for profile reads until the joins were pinned.)
/// </summary>
public sealed partial class SqliteQueryPlanTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new("plans");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task EveryPreparedStatement_UsesAnIndexBeyondTheProject()
    {
        var time = new FakeTimeProvider();
        await using var store = SqliteStore.Open(_folder.Path, time);
        var project = ProjectId.Default;
        await store.Catalog.CreateProjectAsync(new Project(project, "d", time.GetUtcNow(), new ProjectSettings { RetentionDays = 30 }), null, CancellationToken.None);
        var engine = new IdentityEngine(store);

        // Touch every statement: identify (new, known, merge, refusal, properties), link, unlink, delete, reads, export.
        await engine.IdentifyAsync(project, Identify(Anonymous("a1"), Device("d1")).WithProperties(("x", 1)).WithSetOnce(("y", 2)), Origin, default);
        await engine.IdentifyAsync(project, Identify(User("u1"), Anonymous("a1"), Email("e@x.com")) with { Unset = ["x"] }, Origin, default);
        await engine.IdentifyAsync(project, Identify(User("u2"), Email("e@x.com"), User("u3")), Origin, default);
        await engine.LinkAsync(project, Link(User("u2"), User("u1")), Origin, default);
        await engine.LinkAsync(project, Link(User("u2"), User("u1")), Origin, default);
        await engine.UnlinkAsync(project, Unlink(User("u2"), User("u1")), Origin, default);
        var resolution = (await engine.ResolveAsync(project, User("u1").Identifier, CancellationToken.None))!;
        await engine.GetProfileAsync(project, resolution.Profile.Value, CancellationToken.None);
        await engine.ExplainAsync(project, Device("d1"), User("u1"), CancellationToken.None);
        await foreach (var _ in engine.ExportAsync(project, default))
        {
        }
        var tracked = await engine.ApplyAsync(project, [new GraphOperation.TrackOp(Event("view", Identify(Device("d1"), Anonymous("a9")), insertId: "i1")),
            new GraphOperation.TrackOp(Event("view", Identify(Device("d1")), insertId: "i1"))], Origin, default);
        Assert.All(tracked, o => Assert.True(o.Succeeded));
        await engine.EventsAsync(project, resolution.Profile.Value, false, new Events.EventQuery("view", null, null, new Events.EventCursor(long.MaxValue, 1), 10), CancellationToken.None);
        await engine.EventsAsync(project, resolution.Record.Value, true, new Events.EventQuery(null, null, null, null, 10), CancellationToken.None);
        await engine.UniqueUsersAsync(project, DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue, "view", perDay: true, CancellationToken.None);
        await engine.ReadAsync(project, session => session.SummarizeEvents(resolution.Profile), CancellationToken.None);
        await engine.WriteAsync(project, tx =>
        {
            Companies.CompanyRules.Identify(tx, "c1", new Dictionary<string, PropertyValue> { ["size"] = Value(10), ["gone"] = PropertyValue.Null });
            Companies.CompanyRules.Join(tx, "c1", resolution.Record);
            Assert.Throws<Selfsame.Jobs.JobClaimLostException>(() =>
                tx.RecordJobProgress("job-1", "owner", 1, 3, 1, [new Selfsame.Jobs.JobRowError(2, "bad row")], DateTimeOffset.UnixEpoch));
            Assert.NotNull(tx.Attempt(_ => throw new GraphException(GraphErrorKind.Conflict, "x", "refused")));
            return true;
        }, default);
        await engine.ReadAsync(project, session => (session.GetCompany("c1"), session.GetProfileCompanies(resolution.Profile)), CancellationToken.None);
        await engine.WriteAsync(project, tx => IdentityGraph.ReplaceIdentifier(tx, Anonymous("a1"), Anonymous("a1b"), Origin), default);
        await new Selfsame.Retention.RetentionSweep(store, time).RunAsync(project, default);
        await engine.DeleteRecordAsync(project, (await engine.ResolveAsync(project, Device("d1").Identifier, CancellationToken.None))!.Record, Origin, default);
        await engine.DeleteProfileAsync(project, (await engine.ResolveAsync(project, User("u2").Identifier, CancellationToken.None))!.Profile, Origin, default);

        var statements = store.PreparedSql();
        Assert.True(statements.Count >= 20, $"only {statements.Count} statements were prepared; the test no longer touches the store's paths");
        using var connection = new SqliteConnection($"Data Source={store.DatabasePath};Mode=ReadOnly");
        connection.Open();
        var failures = new List<string>();
        foreach (var sql in statements.Where(s => !s.StartsWith("INSERT", StringComparison.Ordinal) || s.Contains("SELECT", StringComparison.Ordinal)))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + sql;
            foreach (Match parameter in ParameterPattern().Matches(sql))
            {
                if (!command.Parameters.Contains(parameter.Value))
                {
                    command.Parameters.AddWithValue(parameter.Value, DBNull.Value);
                }
            }
            var plan = new List<string>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    plan.Add(reader.GetString(3));
                }
            }
            output.WriteLine($"{sql}\n  {string.Join("\n  ", plan)}");
            // A scan of a table (not of a subquery's own rows), or a search by project_id alone. The projects table is
            // keyed by project_id alone: finding one project by it is a point look-up; and a look for any row of the
            // project (LIMIT 1, whether a project has suppressed values) stops at the first.
            if (!sql.EndsWith(" LIMIT 1", StringComparison.Ordinal) && plan.Any(line => (line.StartsWith("SCAN ", StringComparison.Ordinal) && Tables.Contains(line.Split(' ')[1])) ||
                                 (line.EndsWith("(project_id=?)", StringComparison.Ordinal) && !line.StartsWith("SEARCH projects ", StringComparison.Ordinal))))
            {
                failures.Add($"{sql}\n  {string.Join("\n  ", plan)}");
            }
        }
        Assert.True(failures.Count == 0, "statements that read a whole project:\n" + string.Join("\n", failures));
    }

    private static readonly HashSet<string> Tables = ["projects", "api_keys", "records", "identifiers", "properties", "links", "events", "counters", "r", "i", "p", "l", "e"];

    [GeneratedRegex(@"@p\d+")]
    private static partial Regex ParameterPattern();
}
