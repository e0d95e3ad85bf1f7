using BenchmarkDotNet.Running;
using Selfsame.Bench;

// dotnet run -c Release --project bench/Selfsame.Bench -- import [rows] [runs]
// dotnet run -c Release --project bench/Selfsame.Bench -- http identify|resolve [connections] [seconds] [runs]
// dotnet run -c Release --project bench/Selfsame.Bench -- events [events] [users]
// dotnet run -c Release --project bench/Selfsame.Bench -- jobs [rows] [runs] [without-company]
// dotnet run -c Release --project bench/Selfsame.Bench -- floor [rows] [runs] [without-company]
// dotnet run -c Release --project bench/Selfsame.Bench -- floor-events [events] [users]
// dotnet run -c Release --project bench/Selfsame.Bench -- reference [urls]
// dotnet run -c Release --project bench/Selfsame.Bench -- quality [--seed N] [--people N]
// dotnet run -c Release --project bench/Selfsame.Bench -- micro [BenchmarkDotNet arguments]
switch (args.FirstOrDefault())
{
    case "import":
        return await ImportBench.RunAsync(args.Skip(1).ToArray());
    case "http":
        return await HttpLoad.RunAsync(args.Skip(1).ToArray());
    case "events":
        return await EventBench.RunAsync(args.Skip(1).ToArray());
    case "jobs":
        return await JobBench.RunAsync(args.Skip(1).ToArray());
    case "floor":
        return await StorageFloor.RunAsync(args.Skip(1).ToArray());
    case "floor-events":
        return await StorageFloor.RunEventsAsync(args.Skip(1).ToArray());
    case "reference":
        return await KestrelReference.RunAsync(args.Skip(1).ToArray());
    case "quality":
        return await IdentityQuality.RunAsync(args.Skip(1).ToArray());
    case "micro":
        BenchmarkSwitcher.FromAssembly(typeof(EngineBenchmarks).Assembly).Run(args.Skip(1).ToArray());
        return 0;
    default:
        Console.Error.WriteLine("usage: import [rows] [runs] | http identify|resolve [connections] [seconds] [runs] | events [events] [users] | jobs [rows] [runs] [without-company] | floor [rows] [runs] [without-company] | floor-events [events] [users] | reference [urls] | quality [--seed N] [--people N] | micro [BenchmarkDotNet arguments]");
        return 2;
}
