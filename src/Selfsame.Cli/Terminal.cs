using System.Net;
using System.Net.Sockets;
using Spectre.Console;

namespace Selfsame.Cli;

/// <summary>Where progress goes: standard error, when it is a terminal; nowhere when it is a file or a pipe.</summary>
internal static class Terminal
{
    public static IAnsiConsole? Progress() => Console.IsErrorRedirected
        ? null
        : AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
}

/// <summary>Whether the addresses a server would listen on are free, checked before anything is opened or created.</summary>
internal static class Listening
{
    /// <summary>The first of the ';'-separated URLs whose address and port something else holds, or null.</summary>
    public static string? FirstInUse(string urls)
    {
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                || uri.Port <= 0)
            {
                continue;
            }
            var address = uri.IsLoopback && !IPAddress.TryParse(uri.DnsSafeHost, out _) ? IPAddress.Loopback
                : IPAddress.TryParse(uri.DnsSafeHost, out var parsed) ? parsed
                : null;
            if (address is null)
            {
                continue;
            }
            try
            {
                using var probe = new TcpListener(address, uri.Port);
                probe.Start();
                probe.Stop();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                return url;
            }
        }
        return null;
    }
}
