using Selfsame.Cli;

try
{
    return await SelfsameCommands.Build().Parse(args).InvokeAsync();
}
catch (Selfsame.ConfigurationException e)
{
    // A setting that cannot be used (a config file that cannot be read...): say which and why, without a stack trace.
    Console.Error.WriteLine(e.Message);
    return 1;
}
