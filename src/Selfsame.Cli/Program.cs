using Selfsame.Cli;

return await SelfsameCommands.Build().Parse(args).InvokeAsync();
