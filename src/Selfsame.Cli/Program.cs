using Selfsame.Cli;

try
{
    return await SelfsameCommands.Build().Parse(args).InvokeAsync();
}
catch (InvalidOperationException e) when (e.Message.Contains("SELFSAME_CONFIG", StringComparison.Ordinal) || e.Message.Contains(".json", StringComparison.Ordinal))
{
    // A config file that cannot be read: say which and why, without a stack trace.
    Console.Error.WriteLine(e.Message);
    return 1;
}
