using System.Text.Json.Nodes;
using PuppeteerSharp;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.WebConsole;

/// <summary>
/// A server and a real Chromium (the OS package, which ./test installs when it is missing; never a download) driven over
/// the DevTools protocol. A missing browser fails the tests: they are never skipped.
/// </summary>
public sealed class ConsoleServer : RunningServer
{
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the screenshots of the run are kept, under the test output folder.</summary>
    public static string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var chromium = Environment.GetEnvironmentVariable("SELFSAME_CHROMIUM") ?? "/usr/bin/chromium";
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException($"no Chromium at {chromium}: install the OS package (apt-get install chromium), as ./test does, or set SELFSAME_CHROMIUM");
        }
        Browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            // As root in a container Chromium's sandbox cannot start; /dev/shm is small there.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        });
        Directory.CreateDirectory(Screenshots);
    }

    public override async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
            Browser.Dispose();
        }
        await base.DisposeAsync();
    }
}

public sealed class ConsoleBrowserTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    private static readonly WaitForSelectorOptions Visible = new() { Visible = true, Timeout = 15_000 };

    [Fact]
    public async Task SignIn_Search_TheGraphDrawsEachRecordAndLink_ExplainJoinsTwoIdentifiers_ValuesStayText()
    {
        // A person with three records and two links, one identifier and one event name written to be markup.
        var user = Names.Unique("ann");
        var work = $"{Names.Unique("work")}@acme.com";
        var hostile = $"<img src=x onerror=alert(1)>{Guid.NewGuid():N}";
        using var api = server.Client(server.WriteKey);
        var crm = Names.Unique("crm");
        await Succeeds(api, "/v1/identify", $$$"""{"user_id":"{{{user}}}","identifiers":[{"type":"device_id","value":"{{{Names.Unique("phone")}}}"},{"type":"alias","label":"crm","name":"{{{crm}}}"}],"properties":{"plan":"<b>pro</b>"}}""");
        await Succeeds(api, "/v1/link", $$$"""{"from":{"type":"email","value":"{{{work}}}"},"into":{"type":"user_id","value":"{{{user}}}"}}""");
        await Succeeds(api, "/v1/link", $$$"""{"from":{"type":"device_id","value":"{{{Escape(hostile)}}}"},"into":{"type":"email","value":"{{{work}}}"}}""");
        await Succeeds(api, "/v1/track", $$$"""{"events":[{"user_id":"{{{user}}}","event":"<script>alert(2)</script>"}]}""");

        await using var page = await server.Browser.NewPageAsync();
        var dialogs = new List<string>();
        page.Dialog += (_, e) => { dialogs.Add(e.Dialog.Message); _ = e.Dialog.Dismiss(); };
        var requests = new List<(string Url, string? Referer)>();
        page.Request += (_, e) => requests.Add((e.Request.Url, e.Request.Headers.TryGetValue("referer", out var referer) ? referer : null));
        await WatchPolicyViolationsAsync(page);
        var response = await page.GoToAsync(new Uri(server.BaseAddress, "/console").ToString());
        Assert.Equal(System.Net.HttpStatusCode.OK, response.Status);
        Assert.Contains("script-src 'self'", response.Headers["content-security-policy"]);

        await SignInAsync(page, server.WriteKey);
        await page.SelectAsync("#search-type", "user_id");
        await page.TypeAsync("#search-value", user);
        await page.ClickAsync("#search button[type=submit]");
        await page.WaitForSelectorAsync("#events tbody tr td:nth-child(2)", Visible);

        Assert.Equal(3, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#graph g.node').length"));
        Assert.Equal(2, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#graph g.edge').length"));
        Assert.Equal(2, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#links tbody tr[data-link-id]').length"));
        // Values from end users are text: the identifier, the property and the event name show as the characters sent.
        Assert.Contains($"device_id:{hostile}", await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('button.identifier')].map(b => b.textContent)"));
        Assert.Equal("\"<b>pro</b>\"", await page.EvaluateExpressionAsync<string>("document.querySelector('#properties tbody td:nth-child(2)').textContent"));
        Assert.Equal("<script>alert(2)</script>", await page.EvaluateExpressionAsync<string>("document.querySelector('#events tbody td:nth-child(2)').textContent"));
        Assert.Equal(0, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('main img, main b, main script').length"));

        // Two identifiers clicked: the chain between them.
        await ClickIdentifierAsync(page, $"user_id:{user}");
        await ClickIdentifierAsync(page, $"device_id:{hostile}");
        await page.WaitForSelectorAsync("#explain", Visible);
        var summary = await page.EvaluateExpressionAsync<string>("document.querySelector('#explain-summary').textContent");
        Assert.Contains("joined", summary);
        Assert.Equal(2, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#explain-path li').length"));

        // The look-up by an alias's label and name finds the same person.
        await page.SelectAsync("#search-type", "alias");
        await page.TypeAsync("#search-label", "crm");
        await page.EvaluateExpressionAsync("document.querySelector('#search-value').value = ''");
        await page.TypeAsync("#search-value", crm);
        var title = await page.EvaluateExpressionAsync<string>("document.querySelector('#profile-title').textContent");
        await page.ClickAsync("#search button[type=submit]");
        await page.WaitForFunctionAsync("() => document.querySelector('#explain').hidden", new WaitForFunctionOptions { Timeout = 15_000 });
        Assert.Equal(title, await page.EvaluateExpressionAsync<string>("document.querySelector('#profile-title').textContent"));

        // The key is in this tab's session only: in no address the page asked for, not in local storage.
        Assert.NotEmpty(requests);
        Assert.All(requests, r => Assert.DoesNotContain(server.WriteKey, r.Url + r.Referer));
        Assert.Equal(0, await page.EvaluateExpressionAsync<int>("localStorage.length"));
        Assert.Equal(server.WriteKey, await page.EvaluateExpressionAsync<string>("sessionStorage.getItem('selfsame.console.key')"));
        Assert.Empty(dialogs);
        Assert.Empty(await PolicyViolationsAsync(page));
        await KeepScreenshotAsync(page, "console-profile.png");

        // Unlink the hostile device's link: the graph loses a node and an edge.
        var hostileLink = await page.EvaluateFunctionAsync<int>(
            "t => [...document.querySelectorAll('#links tbody tr')].findIndex(r => r.cells[1].textContent.startsWith('#' + t))",
            (await api.GetJsonAsync($"/v1/resolve?type=device_id&value={Uri.EscapeDataString(hostile)}")).Body.Value<long>("record_id").ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(hostileLink >= 0);
        await page.ClickAsync($"#links tbody tr:nth-child({hostileLink + 1}) button");
        await page.WaitForFunctionAsync("() => document.querySelector('#message').textContent === 'Unlink: done'", new WaitForFunctionOptions { Timeout = 15_000 });
        Assert.Equal(2, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#graph g.node').length"));
        Assert.Equal(1, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#graph g.edge').length"));

        // The policy is in force: a script put into the page does not run, and the browser reports it.
        Assert.False(await page.EvaluateExpressionAsync<bool>(
            "(() => { const s = document.createElement('script'); s.textContent = 'window.ranInjected = true'; document.body.append(s); return window.ranInjected === true; })()"));
        await page.WaitForFunctionAsync("() => window.policyViolations.length > 0", new WaitForFunctionOptions { Timeout = 5_000 });

        // A phone-sized screen: nothing wider than the screen.
        await page.SetViewportAsync(new ViewPortOptions { Width = 390, Height = 844 });
        var wider = await page.EvaluateExpressionAsync<string[]>(
            "(() => { const out = []; const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT); let n; while ((n = w.nextNode())) { const r = document.createRange(); r.selectNodeContents(n); const b = r.getBoundingClientRect(); if (b.right > 391) out.push(n.parentElement.tagName + '#' + n.parentElement.id + ':' + n.textContent.slice(0, 40) + ':' + Math.round(b.right)); } return out; })()");
        Assert.True(await page.EvaluateExpressionAsync<int>("document.documentElement.scrollWidth") <= 390, "wider than the screen: " + await page.EvaluateExpressionAsync<int>("document.documentElement.scrollWidth") + " " + await page.EvaluateExpressionAsync<int>("window.innerWidth") + " " + string.Join(", ", wider));
        await KeepScreenshotAsync(page, "console-profile-phone.png");

        await page.ClickAsync("#signout");
        Assert.Null(await page.EvaluateExpressionAsync<string?>("sessionStorage.getItem('selfsame.console.key')"));
        // Nothing read with the key stays on the page.
        Assert.Equal(0, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#graph *, #records *, tbody tr').length"));
        Assert.DoesNotContain(user, await page.EvaluateExpressionAsync<string>("document.body.textContent"));
    }

    [Fact]
    public async Task ReadKey_SeesTheReviewQueue_ButItsApproveIsRefused_AWriteKeyApproves()
    {
        var device = Names.Unique("kiosk");
        using var api = server.Client(server.WriteKey);
        await Succeeds(api, "/v1/identify", $$$"""{"user_id":"{{{Names.Unique("first")}}}","identifiers":[{"type":"device_id","value":"{{{device}}}"}]}""");
        var second = Names.Unique("second");
        var refused = await Succeeds(api, "/v1/identify", $$$"""{"user_id":"{{{second}}}","identifiers":[{"type":"device_id","value":"{{{device}}}"}]}""");
        var entry = refused["refused"]![0]!["review_id"]!.GetValue<long>();
        var junk = await Succeeds(api, "/v1/identify", $$$"""{"user_id":"{{{Names.Unique("third")}}}","identifiers":[{"type":"email","value":"test@test.com"}]}""");
        var dropped = junk["refused"]![0]!["review_id"]!.GetValue<long>();

        await using var page = await server.Browser.NewPageAsync();
        await page.GoToAsync(new Uri(server.BaseAddress, "/console").ToString());
        await SignInAsync(page, server.ReadKey);
        await page.ClickAsync("button.tab[data-view=review]");
        var approve = $"#review-entries tr[data-review-id='{entry}'] button[data-action=approve]";
        await page.WaitForSelectorAsync(approve, Visible);
        await page.ClickAsync(approve);
        await page.WaitForFunctionAsync("() => document.querySelector('#message').classList.contains('error')", new WaitForFunctionOptions { Timeout = 15_000 });
        var message = await page.EvaluateExpressionAsync<string>("document.querySelector('#message').textContent");
        Assert.StartsWith($"Approve review entry {entry} refused: 403", message);
        await KeepScreenshotAsync(page, "console-review-read-key.png");
        Assert.Equal("refused", await StatusAsync(entry));
        // Jobs with their progress: an import of three lines, one of them bad.
        var import = $$$"""{"user_id":"{{{Names.Unique("imported")}}}"}""" + "\n" + """{"user_id":42}""" + "\n" + $$$"""{"user_id":"{{{Names.Unique("imported")}}}"}""" + "\n";
        using (var submitted = await api.PostAsync("/v1/imports", new StringContent(import, System.Text.Encoding.UTF8, "application/x-ndjson")))
        {
            Assert.Equal(202, (int)submitted.StatusCode);
            var job = JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["job_id"]!.GetValue<string>();
            await page.ClickAsync("button.tab[data-view=jobs]");
            // The tab reads again while the job runs, until it is done.
            await page.WaitForFunctionAsync("""j => [...document.querySelectorAll('#job-entries tbody tr')].some(r => r.cells[0].textContent === j && r.cells[2].textContent === 'completed')""",
                new WaitForFunctionOptions { Timeout = 30_000 }, job);
            var cells = await page.EvaluateFunctionAsync<string>("j => [...document.querySelectorAll('#job-entries tbody tr')].find(r => r.cells[0].textContent === j).cells[3].textContent", job);
            Assert.Equal("3 / 3 (1 failed)", cells.Trim());
        }

        // The audit log is an admin's: a read key is told so.
        await page.ClickAsync("button.tab[data-view=audit]");
        await page.WaitForFunctionAsync("() => document.querySelector('#message').textContent.startsWith('Audit log: 403')", new WaitForFunctionOptions { Timeout = 15_000 });

        await page.ClickAsync("#signout");
        await SignInAsync(page, server.WriteKey);
        await page.ClickAsync("button.tab[data-view=review]");
        await page.WaitForSelectorAsync(approve, Visible);
        await page.ClickAsync(approve);
        await page.WaitForFunctionAsync($"() => document.querySelector('#message').textContent === 'Approve review entry {entry}: done'", new WaitForFunctionOptions { Timeout = 15_000 });
        Assert.Equal("approved", await StatusAsync(entry));
        // A dropped junk identifier can be rejected, never approved.
        var row = $"#review-entries tr[data-review-id='{dropped}']";
        Assert.Equal(["reject"], await page.EvaluateExpressionAsync<string[]>($"[...document.querySelectorAll(\"{row} button\")].map(b => b.dataset.action)"));
        await page.ClickAsync($"{row} button[data-action=reject]");
        await page.WaitForFunctionAsync($"() => document.querySelector('#message').textContent === 'Reject review entry {dropped}: done'", new WaitForFunctionOptions { Timeout = 15_000 });
        Assert.Equal("rejected", await StatusAsync(dropped));
        using var reader = server.Client(server.ReadKey);
        var (_, resolved) = await reader.GetJsonAsync($"/v1/resolve?type=user_id&value={second}");
        Assert.Contains(device, resolved!["identifiers"]!.AsArray().Select(i => i!["value"]!.GetValue<string>()));
    }

    private async Task<string> StatusAsync(long entry)
    {
        using var reader = server.Client(server.ReadKey);
        var (status, body) = await reader.GetJsonAsync($"/v1/review/{entry}");
        Assert.Equal(200, status);
        return body!["entry"]!["status"]!.GetValue<string>();
    }

    /// <summary>Collects the page's Content-Security-Policy violations, from before its first script runs.</summary>
    private static Task WatchPolicyViolationsAsync(IPage page) => page.EvaluateExpressionOnNewDocumentAsync(
        "window.policyViolations = []; document.addEventListener('securitypolicyviolation', e => window.policyViolations.push(e.violatedDirective + ' ' + e.blockedURI));");

    private static Task<string[]> PolicyViolationsAsync(IPage page) => page.EvaluateExpressionAsync<string[]>("window.policyViolations");

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.WaitForSelectorAsync("#key", Visible);
        await page.TypeAsync("#key", key);
        await page.ClickAsync("#signin button[type=submit]");
        await page.WaitForSelectorAsync("#nav", Visible);
    }

    private static async Task ClickIdentifierAsync(IPage page, string text) =>
        Assert.True(await page.EvaluateFunctionAsync<bool>(
            "t => { const b = [...document.querySelectorAll('button.identifier')].find(b => b.textContent === t); if (b) b.click(); return !!b; }", text));

    private static async Task KeepScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(ConsoleServer.Screenshots, name);
        await page.ScreenshotAsync(path, new ScreenshotOptions { FullPage = true });
        Assert.True(new FileInfo(path).Length > 1000);
    }

    private static async Task<JsonNode> Succeeds(HttpClient client, string path, string body)
    {
        var (status, answer) = await client.PostAsync(path, body);
        Assert.True(status == 200, $"{path}: {status} {answer?.ToJsonString()}");
        return answer!;
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
