using System.CommandLine;
using Selfsame;
using Selfsame.Cli;
using Selfsame.Storage;

var root = SelfsameCommands.Build();
try
{
    var parse = root.Parse(args.Length == 0 ? ["--help"] : args);
    if (parse.Errors.Count > 0)
    {
        // An unknown command also reports that no command was given: say only what is wrong, and where help is.
        var messages = parse.Errors.Select(e => e.Message).ToList();
        Console.Error.WriteLine($"error: {messages.FirstOrDefault(m => !m.StartsWith("Required command", StringComparison.Ordinal)) ?? messages[0]}");
        Console.Error.WriteLine($"see 'selfsame{string.Concat(CommandPath(parse.CommandResult).Select(n => " " + n))} --help'");
        return 1;
    }
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (ConfigurationException e)
{
    // A setting that cannot be used (a config file that cannot be read...): say which and why, without a stack trace.
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    // A file or folder that cannot be read or written: the system's own sentence names it.
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
catch (StoreUnavailableException e)
{
    Console.Error.WriteLine($"error: the store cannot be reached: {e.InnerException?.Message ?? e.Message}");
    return 1;
}

static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
{
    var names = new List<string>();
    for (var current = result; current is not null && current.Command is not RootCommand; current = current.Parent as System.CommandLine.Parsing.CommandResult)
    {
        names.Insert(0, current.Command.Name);
    }
    return names;
}
