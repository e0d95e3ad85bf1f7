using System.CommandLine;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Selfsame.Graph;
using Selfsame.Imports;
using Selfsame.Jobs;
using Selfsame.Keys;
using Selfsame.Operations;
using Selfsame.Server.Hosting;
using Selfsame.Server.Native;
using Selfsame.Storage.Sqlite;
using Spectre.Console;

namespace Selfsame.Cli;

/// <summary>The <c>selfsame</c> command line: serve, project, key, resolve, import, export.</summary>
public static class SelfsameCommands
{
    private static readonly WriteOrigin Cli = new("cli", null);
    private const int MaxErrorsShown = 20;

    public static RootCommand Build()
    {
        var root = new RootCommand("Selfsame: a self-hosted identity-resolution server.");
        root.Subcommands.Add(Serve());
        root.Subcommands.Add(ProjectCommands());
        root.Subcommands.Add(KeyCommands());
        root.Subcommands.Add(Resolve());
        root.Subcommands.Add(Import());
        root.Subcommands.Add(Export());
        root.Subcommands.Add(JobCommands());
        root.Subcommands.Add(ChangeCommands());
        // Help wraps at 100 columns whatever the terminal (or none) says.
        foreach (var help in root.Options.OfType<System.CommandLine.Help.HelpOption>())
        {
            help.Action = new System.CommandLine.Help.HelpAction { MaxWidth = 100 };
        }
        return root;
    }

    private static Option<string> DataOption() => new("--data")
    {
        Description = "The data folder (the SQLite file lives there). Environment: SELFSAME_DATA; config file: data.",
        DefaultValueFactory = _ => Settings.Get("DATA") ?? "./data",
    };

    /// <summary>Where a command finds the data: the SQLite data folder, or a PostgreSQL database.</summary>
    private sealed class StoreOptions
    {
        public Option<string> Data { get; } = DataOption();

        public Option<string> Store { get; } = StoreOption();

        public Option<string?> Connection { get; } = ConnectionOption();

        /// <summary>The core services over the store the options name, as the server composes them (the store opens on first use).</summary>
        public ServiceProvider Core(ParseResult result) => new ServiceCollection()
            .AddSelfsameCore(new StoreLocation(result.GetValue(Store)!, result.GetValue(Data)!, result.GetValue(Connection)), TimeProvider.System)
            .BuildServiceProvider();
    }

    private static Option<string> StoreOption()
    {
        var option = new Option<string>("--store")
        {
            Description = "sqlite (a file in the data folder) or postgres (the database of --connection). Environment: SELFSAME_STORE.",
            DefaultValueFactory = _ => Settings.Get("STORE") ?? "sqlite",
        };
        option.AcceptOnlyFromAmong("sqlite", "postgres");
        return option;
    }

    private static Option<string?> ConnectionOption() => new("--connection")
    {
        Description = "The PostgreSQL connection string, such as \"Host=db;Database=selfsame;Username=selfsame;Password=...\". Environment: SELFSAME_CONNECTION.",
        DefaultValueFactory = _ => Settings.Get("CONNECTION"),
    };

    private static Option<string> ProjectOption() => new("--project")
    {
        Description = "The project id.",
        DefaultValueFactory = _ => "default",
    };

    private static Command Serve()
    {
        var data = DataOption();
        var urls = new Option<string>("--urls")
        {
            Description = "Where to listen, ';'-separated. Environment: SELFSAME_URLS.",
            DefaultValueFactory = _ => Settings.Get("URLS") ?? SelfsameOptions.DefaultUrls,
        };
        var maxBody = new Option<long>("--max-body-bytes")
        {
            Description = "The largest request body the native API reads. Environment: SELFSAME_MAX_BODY_BYTES.",
            DefaultValueFactory = _ => long.TryParse(Settings.Get("MAX_BODY_BYTES"), out var v) ? v : 1024 * 1024,
        };
        var mappingLimit = new Option<int>("--amplitude-mapping-limit")
        {
            Description = "Amplitude user mappings per project in 30 seconds. Environment: SELFSAME_AMPLITUDE_MAPPING_LIMIT.",
            DefaultValueFactory = _ => int.TryParse(Settings.Get("AMPLITUDE_MAPPING_LIMIT"), out var v) ? v : 1500,
        };
        var retentionInterval = new Option<int>("--retention-interval-minutes")
        {
            Description = "How often the retention sweep runs. Environment: SELFSAME_RETENTION_INTERVAL_MINUTES.",
            DefaultValueFactory = _ => int.TryParse(Settings.Get("RETENTION_INTERVAL_MINUTES"), out var v) ? v : 60,
        };
        retentionInterval.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--retention-interval-minutes must be at least 1");
            }
        });
        var rateLimits = new Option<string[]>("--rate-limit")
        {
            Description = "A rate limit per project, family=permits/seconds, overriding the surface's default (repeatable), " +
                          "such as braze.users=20000/60. Environment: SELFSAME_RATE_LIMITS, comma-separated.",
            DefaultValueFactory = _ => (Settings.Get("RATE_LIMITS") ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            AllowMultipleArgumentsPerToken = false,
        };
        rateLimits.Validators.Add(r =>
        {
            foreach (var text in r.GetValueOrDefault<string[]>() ?? [])
            {
                if (RateLimitRule.TryParse(text, out var error) is null)
                {
                    r.AddError($"--rate-limit: {error}");
                }
            }
        });
        var logFormat = new Option<string>("--log-format")
        {
            Description = "text (a readable line an entry) or json (a JSON object a line), on standard output. Environment: SELFSAME_LOG_FORMAT.",
            DefaultValueFactory = _ => Settings.Get("LOG_FORMAT") ?? "text",
        };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var logLevel = new Option<Microsoft.Extensions.Logging.LogLevel>("--log-level")
        {
            Description = "The least level logged: Information (a line per request, jobs, store health), Warning (trouble only)... " +
                          "Environment: SELFSAME_LOG_LEVEL.",
            DefaultValueFactory = _ => Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(Settings.Get("LOG_LEVEL"), ignoreCase: true, out var level)
                ? level
                : Microsoft.Extensions.Logging.LogLevel.Information,
        };
        var logRequests = new Option<bool>("--log-requests")
        {
            Description = "A log line per request (costs about a third of the requests a second here). Environment: SELFSAME_LOG_REQUESTS=1.",
            DefaultValueFactory = _ => Settings.Get("LOG_REQUESTS") is "1" or "true",
        };
        var metrics = new Option<string>("--metrics")
        {
            Description = "Who may read /metrics (Prometheus text): loopback (clients on this machine), any, or off. Environment: SELFSAME_METRICS.",
            DefaultValueFactory = _ => Settings.Get("METRICS") ?? "loopback",
        };
        metrics.AcceptOnlyFromAmong("loopback", "any", "off");
        var store = StoreOption();
        var connection = ConnectionOption();
        var command = new Command("serve", "Run the HTTP server (creates the project 'default' in an empty store).")
            { data, store, connection, urls, maxBody, mappingLimit, retentionInterval, rateLimits, logFormat, logLevel, logRequests, metrics };
        command.Validators.Add(r =>
        {
            if (r.GetValue(store) == "postgres" && string.IsNullOrWhiteSpace(r.GetValue(connection)))
            {
                r.AddError("--store postgres needs --connection (or SELFSAME_CONNECTION)");
            }
        });
        command.SetAction(async (result, ct) =>
        {
            var options = new SelfsameOptions
            {
                DataFolder = result.GetValue(data)!,
                Store = result.GetValue(store)!,
                Connection = result.GetValue(connection),
                Urls = result.GetValue(urls)!,
                MaxRequestBodyBytes = result.GetValue(maxBody),
                AmplitudeMappingsPerWindow = result.GetValue(mappingLimit),
                LogFormat = result.GetValue(logFormat)!,
                LogLevel = result.GetValue(logLevel),
                LogRequests = result.GetValue(logRequests),
                Metrics = result.GetValue(metrics)!,
                RetentionInterval = TimeSpan.FromMinutes(result.GetValue(retentionInterval)),
                // A family given twice: the last one counts.
                RateLimits = (result.GetValue(rateLimits) ?? []).Select(t => RateLimitRule.TryParse(t, out _)!)
                    .GroupBy(r => r.Family, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal),
            };
            // Refused before anything is created: a data file must not be left behind by a server that could not listen.
            if (Listening.FirstInUse(options.Urls) is { } busy)
            {
                return Fail($"cannot listen on {busy}: the address is in use; choose another with --urls (or SELFSAME_URLS)");
            }
            await using var app = SelfsameServer.Build(options);
            await app.Services.GetRequiredService<Projects>().EnsureDefaultAsync(ct);
            try
            {
                await app.StartAsync(ct);
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                return Fail($"{e.Message} Choose another address with --urls (or SELFSAME_URLS).");
            }
            var listening = options.Store == "postgres"
                ? $"Selfsame is listening on {string.Join(", ", app.Urls)} with data in PostgreSQL"
                : $"Selfsame is listening on {string.Join(", ", app.Urls)} with data in {Path.GetFullPath(options.DataFolder)}";
            if (options.LogFormat == "json")
            {
                // Every line of a JSON log is JSON.
                app.Logger.LogInformation("{Listening}", listening);
            }
            else
            {
                Console.WriteLine(listening);
            }
            await app.WaitForShutdownAsync(ct);
            return 0;
        });
        return command;
    }

    private static Command ProjectCommands()
    {
        var data = new StoreOptions();
        var name = new Argument<string>("id") { Description = "The new project's id: lowercase letters, digits, '-' or '_'." };
        var create = new Command("create", "Create a project.") { data.Data, data.Store, data.Connection, name };
        create.SetAction(async (result, ct) =>
        {
            if (!ProjectId.TryParse(result.GetValue(name), out var id))
            {
                return Fail($"'{result.GetValue(name)}' is not a project id: use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit");
            }
            await using var core = data.Core(result);
            var store = core.GetRequiredService<Selfsame.Storage.IGraphStore>();
            var projects = core.GetRequiredService<Projects>();
            if (!await projects.CreateAsync(id, null, ct))
            {
                return Fail($"a project '{id}' exists already");
            }
            Console.WriteLine($"created project {id}");
            return 0;
        });
        var list = new Command("list", "List the projects.") { data.Data, data.Store, data.Connection };
        list.SetAction(async (result, ct) =>
        {
            await using var core = data.Core(result);
            var store = core.GetRequiredService<Selfsame.Storage.IGraphStore>();
            foreach (var project in await store.Catalog.ListProjectsAsync(ct))
            {
                Console.WriteLine($"{project.Id}\t{project.Name}");
            }
            return 0;
        });
        return new Command("project", "Manage projects.") { create, list };
    }

    private static Command KeyCommands()
    {
        var data = new StoreOptions();
        var project = ProjectOption();
        var role = new Option<string>("--role") { Description = "admin, write or read.", Required = true };
        role.AcceptOnlyFromAmong(Roles.All.ToArray());
        var name = new Option<string?>("--name") { Description = "A note on what the key is for." };
        var permissions = new Option<string[]>("--permission")
        {
            Description = "Limit the key to a named permission (repeatable), such as users.alias.new; without it the key holds every permission of its role.",
        };
        permissions.AcceptOnlyFromAmong([.. SelfsameServer.KnownPermissions()]);
        var create = new Command("create", "Create an API key; it is printed once, as the last line.") { data.Data, data.Store, data.Connection, project, role, name, permissions };
        create.SetAction(async (result, ct) =>
        {
            await using var core = data.Core(result);
            var store = core.GetRequiredService<Selfsame.Storage.IGraphStore>();
            var id = await RequireProjectAsync(core, result.GetValue(project)!, ct);
            if (id is null)
            {
                return 1;
            }
            var limited = result.GetValue(permissions) is { Length: > 0 } list ? list : null;
            var key = await core.GetRequiredService<ApiKeys>().CreateAsync(id.Value, result.GetValue(role)!, result.GetValue(name), Cli, ct, limited);
            var holds = limited is null ? "" : $" holding only {string.Join(", ", key.Record.Permissions!)}";
            Console.WriteLine($"created key {key.Record.KeyId} ({key.Record.Role}){holds} for project {id}; it is shown only now:");
            Console.WriteLine(key.Key);
            return 0;
        });
        var keyId = new Argument<string>("key-id") { Description = "The key's id (the part after 'ss_', before the next '_')." };
        var revoke = new Command("revoke", "Revoke an API key.") { data.Data, data.Store, data.Connection, project, keyId };
        revoke.SetAction(async (result, ct) =>
        {
            await using var core = data.Core(result);
            var store = core.GetRequiredService<Selfsame.Storage.IGraphStore>();
            var id = await RequireProjectAsync(core, result.GetValue(project)!, ct);
            if (id is null)
            {
                return 1;
            }
            if (!await core.GetRequiredService<ApiKeys>().RevokeAsync(id.Value, result.GetValue(keyId)!, Cli, ct))
            {
                return Fail($"project {id} has no key '{result.GetValue(keyId)}'");
            }
            Console.WriteLine($"revoked key {result.GetValue(keyId)}");
            return 0;
        });
        var rotateId = new Argument<string>("key-id") { Description = "The id of the key to replace." };
        var grace = new Option<int>("--grace-minutes") { Description = "How long the old key keeps working.", DefaultValueFactory = _ => 60 };
        var rotateData = new StoreOptions();
        var rotateProject = ProjectOption();
        var rotate = new Command("rotate", "Replace a key: a new key of the same role (the last line of output); the old one works for --grace-minutes more.")
            { rotateData.Data, rotateData.Store, rotateData.Connection, rotateProject, rotateId, grace };
        rotate.SetAction(async (result, ct) =>
        {
            var minutes = result.GetValue(grace);
            if (minutes is < 0 or > ApiKeys.MaxGraceMinutes)
            {
                return Fail($"--grace-minutes must be from 0 to {ApiKeys.MaxGraceMinutes}");
            }
            await using var core = rotateData.Core(result);
            var store = core.GetRequiredService<Selfsame.Storage.IGraphStore>();
            var id = await RequireProjectAsync(core, result.GetValue(rotateProject)!, ct);
            if (id is null)
            {
                return 1;
            }
            var key = await core.GetRequiredService<ApiKeys>().RotateAsync(id.Value, result.GetValue(rotateId)!, TimeSpan.FromMinutes(minutes), Cli, ct);
            if (key is null)
            {
                return Fail($"project {id} has no live key '{result.GetValue(rotateId)}'");
            }
            Console.WriteLine($"created key {key.Record.KeyId} ({key.Record.Role}) to replace {result.GetValue(rotateId)}, which works for {minutes} more minutes; the new key is shown only now:");
            Console.WriteLine(key.Key);
            return 0;
        });
        var listData = new StoreOptions();
        var listProject = ProjectOption();
        var list = new Command("list", "List the project's keys: id, role, name, state, when created and last used, permissions (never a secret).")
            { listData.Data, listData.Store, listData.Connection, listProject };
        list.SetAction(async (result, ct) =>
        {
            await using var core = listData.Core(result);
            var id = await RequireProjectAsync(core, result.GetValue(listProject)!, ct);
            if (id is null)
            {
                return 1;
            }
            var now = TimeProvider.System.GetUtcNow();
            Console.WriteLine("key_id\trole\tstate\tcreated_at\tlast_used_at\tname\tpermissions");
            foreach (var key in await core.GetRequiredService<Selfsame.Storage.IProjectCatalog>().ListKeysAsync(id.Value, ct))
            {
                var state = key.RevokedAt is not null ? "revoked" : key.ExpiresAt <= now ? "expired" : key.ExpiresAt is { } until ? $"live until {until:u}" : "live";
                Console.WriteLine(string.Join('\t', key.KeyId, key.Role, state, key.CreatedAt.ToString("u"), key.LastUsedAt?.ToString("u") ?? "-",
                    key.Name ?? "-", key.Permissions is null ? "all of its role" : string.Join(',', key.Permissions)));
            }
            return 0;
        });
        return new Command("key", "Manage API keys.") { create, list, revoke, rotate };
    }

    private static Command Resolve()
    {
        var data = new StoreOptions();
        var project = ProjectOption();
        var type = new Option<string>("--type") { Description = "Identifier type, such as email.", Required = true };
        var value = new Option<string>("--value") { Description = "Identifier value (for an alias: label/name).", Required = true };
        var command = new Command("resolve", "Print the profile an identifier belongs to, as JSON.") { data.Data, data.Store, data.Connection, project, type, value };
        command.SetAction(async (result, ct) =>
        {
            await using var core = data.Core(result);
            var store = core.GetRequiredService<Selfsame.Storage.IGraphStore>();
            var id = await RequireProjectAsync(core, result.GetValue(project)!, ct);
            if (id is null)
            {
                return 1;
            }
            var settings = (await store.Catalog.GetProjectAsync(id.Value, ct))!.Settings;
            var text = result.GetValue(value)!;
            var isAlias = result.GetValue(type) == IdentifierTypes.Alias;
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            IdentifierInput input;
            try
            {
                input = isAlias
                    ? new OperationReader(settings).ReadIdentifier(IdentifierTypes.Alias, null, slash < 0 ? text : text[..slash], slash < 0 ? null : text[(slash + 1)..], "")
                    : new OperationReader(settings).ReadIdentifier(result.GetValue(type), text, null, null, "");
            }
            catch (RequestValidationException e)
            {
                return Fail(e.Message);
            }
            var resolution = await core.GetRequiredService<IdentityEngine>().ResolveAsync(id.Value, input.Identifier, ct);
            if (resolution is null)
            {
                return Fail($"no record holds the identifier {input.Identifier}");
            }
            Console.WriteLine(JsonSerializer.Serialize(ResolveResponse.Of(resolution), JsonDefaults.Options));
            return 0;
        });
        return command;
    }

    private static Command Import()
    {
        var data = new StoreOptions();
        var project = ProjectOption();
        var file = new Argument<FileInfo>("file") { Description = "An NDJSON file: one identify, link or unlink operation a line." };
        var dryRun = new Option<bool>("--dry-run")
        {
            Description = "Apply nothing: print, as JSON, what the whole file would do (totals, the first 100 lines' effects and errors).",
        };
        var command = new Command("import", "Apply an NDJSON file of identify, link and unlink lines.") { data.Data, data.Store, data.Connection, project, file, dryRun };
        command.SetAction(async (result, ct) =>
        {
            var path = result.GetValue(file)!;
            if (!path.Exists)
            {
                return Fail($"no file {path.FullName}");
            }
            await using var core = data.Core(result);
            var store = core.GetRequiredService<Selfsame.Storage.IGraphStore>();
            var id = await RequireProjectAsync(core, result.GetValue(project)!, ct);
            if (id is null)
            {
                return 1;
            }
            var settings = (await store.Catalog.GetProjectAsync(id.Value, ct))!.Settings;
            // The same durable job as POST /v1/imports: written first, then applied here; if this process stops, a server on
            // the same data folder resumes it where it stopped.
            var payload = await File.ReadAllBytesAsync(path.FullName, ct);
            if (result.GetValue(dryRun))
            {
                // No job: the file is applied in one transaction that is rolled back.
                var run = await JobDryRun.RunAsync(core.GetRequiredService<Selfsame.Graph.IdentityEngine>(), core.GetRequiredService<JobProcessor>(), id.Value,
                    ImportJobKind.KindName, payload, settings, new Selfsame.Graph.WriteOrigin("cli", null), ct);
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(Selfsame.Server.Hosting.JobDryRunAnswer.Of(run), Selfsame.Server.Hosting.JsonDefaults.Options));
                return 0;
            }
            // An unfinished import of this very file (interrupted earlier) is resumed, never started again from line 1.
            JobRecord? job = null;
            foreach (var unfinished in await store.Jobs.ListUnfinishedAsync(ct))
            {
                if (unfinished.Project != id.Value || unfinished.Kind != ImportJobKind.KindName || unfinished.Filename != path.Name
                    || unfinished.FileSize != payload.LongLength)
                {
                    continue;
                }
                var stored = await store.Jobs.ReadPayloadAsync(id.Value, unfinished.JobId, ct);
                if (SameBytes(stored, payload))
                {
                    job = unfinished;
                    Console.WriteLine($"resuming job {job.JobId} of this file at line {job.NextLine}");
                    break;
                }
            }
            job ??= await JobProcessor.SubmitAsync(store.Jobs, id.Value, ImportJobKind.KindName, "cli", path.Name, payload, null, TimeProvider.System, ct);
            var processor = core.GetRequiredService<JobProcessor>();
            var started = TimeProvider.System.GetTimestamp();
            JobRecord ended = job;
            try
            {
                // Progress on standard error, and only on a terminal: standard output keeps the summary alone.
                if (Terminal.Progress() is { } terminal)
                {
                    await terminal.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                        .StartAsync(async progress =>
                        {
                            var task = progress.AddTask($"importing {path.Name}", maxValue: 1);
                            ended = await processor.RunAsync(job, settings, new Progress<JobRecord>(j =>
                            {
                                task.MaxValue = Math.Max(1, j.TotalRows);
                                task.Value = j.CompletedRows + j.FailedRows;
                            }), ct);
                            task.Value = task.MaxValue;
                        });
                }
                else
                {
                    ended = await processor.RunAsync(job, settings, null, ct);
                }
            }
            catch (JobClaimLostException)
            {
                return Fail($"job {job.JobId} is being applied by another process (a server on this data folder); follow it with GET /v1/jobs/{job.JobId}");
            }
            var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
            Console.WriteLine($"job {ended.JobId}: {ended.Status}");
            Console.WriteLine($"lines: {ended.TotalRows}, applied: {ended.CompletedRows}, failed: {ended.FailedRows}");
            Console.WriteLine($"took {seconds:F1} s ({ended.TotalRows / Math.Max(seconds, 0.001):F0} lines/s)");
            var errors = await store.Jobs.ListErrorsAsync(id.Value, ended.JobId, 0, MaxErrorsShown, ct);
            foreach (var error in errors)
            {
                Console.WriteLine($"line {error.Line}: {error.Reason}");
            }
            if (ended.FailedRows > errors.Count)
            {
                Console.WriteLine($"... and {ended.FailedRows - errors.Count} more failed lines");
            }
            return ended.FailedRows > 0 ? 2 : 0;
        });
        return command;
    }

    private static bool SameBytes(byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b);

    private static Command JobCommands()
    {
        var data = new StoreOptions();
        var project = ProjectOption();
        var list = new Command("list", "List the project's jobs, newest first (at most 100): id, kind, status, rows.") { data.Data, data.Store, data.Connection, project };
        list.SetAction(async (result, ct) =>
        {
            await using var core = data.Core(result);
            var id = await RequireProjectAsync(core, result.GetValue(project)!, ct);
            if (id is null)
            {
                return 1;
            }
            Console.WriteLine("job_id\tkind\tstatus\tsubmitted_at\ttotal_rows\tcompleted_rows\tfailed_rows\tfilename");
            foreach (var job in await core.GetRequiredService<IJobStore>().ListAsync(id.Value, 100, ct))
            {
                Console.WriteLine(string.Join('\t', job.JobId, job.Kind, job.Status, job.SubmittedAt.ToString("u"), job.TotalRows, job.CompletedRows, job.FailedRows, job.Filename ?? "-"));
            }
            return 0;
        });
        var showData = new StoreOptions();
        var showProject = ProjectOption();
        var jobId = new Argument<string>("job-id") { Description = "The job's id, as job list or the import's answer shows it." };
        var show = new Command("show", "Show a job: status, rows, times, and its failed rows with their line numbers (the first 20).")
            { showData.Data, showData.Store, showData.Connection, showProject, jobId };
        show.SetAction(async (result, ct) =>
        {
            await using var core = showData.Core(result);
            var id = await RequireProjectAsync(core, result.GetValue(showProject)!, ct);
            if (id is null)
            {
                return 1;
            }
            var jobs = core.GetRequiredService<IJobStore>();
            if (await jobs.GetAsync(id.Value, result.GetValue(jobId)!, ct) is not { } job)
            {
                return Fail($"project {id} has no job '{result.GetValue(jobId)}'");
            }
            Console.WriteLine($"job {job.JobId} ({job.Kind}, from {job.Source}{(job.Filename is null ? "" : $", {job.Filename}")}): {job.Status}");
            Console.WriteLine($"submitted {job.SubmittedAt:u}; started {job.StartedAt?.ToString("u") ?? "-"}; ended {job.EndedAt?.ToString("u") ?? "-"}");
            Console.WriteLine($"lines: {job.TotalRows}, applied: {job.CompletedRows}, failed: {job.FailedRows}");
            if (job.Error is not null)
            {
                Console.WriteLine($"error: {job.Error}");
            }
            foreach (var error in await jobs.ListErrorsAsync(job.Project, job.JobId, 0, MaxErrorsShown, ct))
            {
                Console.WriteLine($"line {error.Line}: {error.Reason}");
            }
            return 0;
        });
        return new Command("job", "Follow durable jobs (imports, vendors' bulk calls).") { list, show };
    }

    private static Command Export()
    {
        var data = new StoreOptions();
        var project = ProjectOption();
        var output = new Option<FileInfo?>("--output") { Description = "Write to this file instead of standard output." };
        var command = new Command("export", "Write every profile of a project as NDJSON, one profile a line.") { data.Data, data.Store, data.Connection, project, output };
        command.SetAction(async (result, ct) =>
        {
            await using var core = data.Core(result);
            var store = core.GetRequiredService<Selfsame.Storage.IGraphStore>();
            var id = await RequireProjectAsync(core, result.GetValue(project)!, ct);
            if (id is null)
            {
                return 1;
            }
            var target = result.GetValue(output);
            Stream stream;
            try
            {
                stream = target is null ? Console.OpenStandardOutput() : target.Create();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail($"cannot write {target!.FullName}: {e.Message}");
            }
            await using var _ = stream;
            await using var writer = new StreamWriter(stream);
            var count = 0;
            async Task WriteAllAsync(Action<int>? shown)
            {
                await foreach (var view in core.GetRequiredService<IdentityEngine>().ExportAsync(id.Value, ct))
                {
                    await writer.WriteLineAsync(JsonSerializer.Serialize(ProfileResponse.Of(view), JsonDefaults.Options));
                    if (++count % 1000 == 0)
                    {
                        shown?.Invoke(count);
                    }
                }
            }
            // How many profiles so far, on standard error and only on a terminal (the profiles may be on standard output).
            if (Terminal.Progress() is { } terminal)
            {
                await terminal.Status().StartAsync($"exporting: 0 profiles", status => WriteAllAsync(n => status.Status($"exporting: {n:N0} profiles")));
            }
            else
            {
                await WriteAllAsync(null);
            }
            await writer.FlushAsync(ct);
            if (target is not null)
            {
                Console.Error.WriteLine($"exported {count} profiles to {target.FullName}");
            }
            return 0;
        });
        return command;
    }

    private static Command ChangeCommands()
    {
        var data = new StoreOptions();
        var project = ProjectOption();
        var after = new Option<long?>("--after") { Description = "Print the changes after this sequence number (default: from the oldest kept)." };
        var noFollow = new Option<bool>("--no-follow") { Description = "Stop at the newest change instead of waiting for more." };
        var interval = new Option<int>("--interval-ms") { Description = "How often to look for new changes while following.", DefaultValueFactory = _ => 500 };
        var tail = new Command("tail", "Print the project's change feed as NDJSON, one change a line, and follow it (docs/changes.md).")
            { data.Data, data.Store, data.Connection, project, after, noFollow, interval };
        tail.SetAction(async (result, ct) =>
        {
            await using var core = data.Core(result);
            var id = await RequireProjectAsync(core, result.GetValue(project)!, ct);
            if (id is null)
            {
                return 1;
            }
            if (result.GetValue(interval) is < 10 or > 60_000)
            {
                return Fail("--interval-ms must be between 10 and 60000");
            }
            var catalog = core.GetRequiredService<Selfsame.Storage.IProjectCatalog>();
            var cursor = result.GetValue(after);
            await using var output = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false };
            try
            {
                while (true)
                {
                    var page = await catalog.ListChangesAsync(id.Value, cursor ?? 0, Selfsame.Server.Native.ChangeEndpoints.MaxPage, ct);
                    if (cursor is { } given && given < page.Horizon)
                    {
                        return Fail($"--after {given} is older than the feed: changes up to {page.Horizon} were removed by retention; start again from --after {page.Horizon}");
                    }
                    foreach (var change in page.Changes)
                    {
                        await output.WriteLineAsync(JsonSerializer.Serialize(Selfsame.Server.Native.ChangeDto.Of(change), JsonDefaults.Options));
                        cursor = change.Seq;
                    }
                    await output.FlushAsync(ct);
                    if (page.Changes.Count == Selfsame.Server.Native.ChangeEndpoints.MaxPage)
                    {
                        continue;
                    }
                    cursor ??= page.Horizon;
                    if (result.GetValue(noFollow))
                    {
                        return 0;
                    }
                    await Task.Delay(result.GetValue(interval), ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C: what was printed is whole lines.
                return 0;
            }
        });
        return new Command("changes", "Follow the project's change feed.") { tail };
    }

    private static async Task<ProjectId?> RequireProjectAsync(IServiceProvider core, string text, CancellationToken ct)
    {
        var store = core.GetRequiredService<Selfsame.Storage.IGraphStore>();
        if (!ProjectId.TryParse(text, out var id))
        {
            Fail($"'{text}' is not a project id");
            return null;
        }
        // A data folder that no server has opened yet gets its 'default' project here, as 'serve' would make it.
        await core.GetRequiredService<Projects>().EnsureDefaultAsync(ct);
        if (await store.Catalog.GetProjectAsync(id, ct) is null)
        {
            var known = (await store.Catalog.ListProjectsAsync(ct)).Select(p => p.Id.Value).ToList();
            Fail(known.Count == 0
                ? $"no project '{id}': this data folder has no projects yet (run 'selfsame serve' once, or 'selfsame project create {id}')"
                : $"no project '{id}'; this data folder has {string.Join(", ", known)}");
            return null;
        }
        return id;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }
}
