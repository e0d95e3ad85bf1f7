using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Selfsame.Server.WebConsole;

/// <summary>
/// The web console at <c>/console</c>: one page, its script and its style sheet, shipped inside this assembly. The page
/// talks to the native API with the key the user signs in with, so it needs no endpoint of its own and no rights beyond
/// the key's. Every answer carries a strict Content-Security-Policy: scripts, styles and requests from this server only,
/// no inline code, no framing.
/// </summary>
public static class ConsolePage
{
    public const string Path = "/console";

    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, (string ContentType, byte[] Bytes)> Assets = Load();

    public static WebApplication MapConsole(this WebApplication app)
    {
        // Routing takes /console and /console/ as one path.
        app.MapGet("/", () => Results.Redirect(Path)).ExcludeFromDescription();
        app.MapGet(Path, (HttpContext context) => Serve(context, "index.html")).ExcludeFromDescription();
        app.MapGet(Path + "/{asset}", (HttpContext context, string asset) => Serve(context, asset)).ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(HttpContext context, string name)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        return Assets.TryGetValue(name, out var asset)
            ? Results.Bytes(asset.Bytes, asset.ContentType)
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"path: the console has no file '{name}'");
    }

    private static FrozenDictionary<string, (string, byte[])> Load()
    {
        var assembly = typeof(ConsolePage).Assembly;
        const string prefix = "console/";
        return assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToFrozenDictionary(
            n => n[prefix.Length..],
            n => (ContentType(n), Read(assembly, n)),
            StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string ContentType(string name) => System.IO.Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
}
