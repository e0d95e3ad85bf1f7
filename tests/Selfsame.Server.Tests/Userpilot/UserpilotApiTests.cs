using System.Text;
using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Userpilot;

public sealed class UserpilotApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    /// <summary>The seed's identify example, verbatim.</summary>
    private const string SeedIdentify = """
        {
          "user_id": "user_001",
          "metadata": {
            "name": "Jane Doe",
            "email": "jane@acme.com"
          },
          "company": {
            "id": "company_001"
          }
        }
        """;

    /// <summary>The seed's two-user bulk body, verbatim.</summary>
    private const string SeedBulk = """
        {
          "users": [
            {
              "user_id": "user_001",
              "company_id": "comp001",
              "metadata": {
                "last_ticket_created": "2025-02-01T10:20:30Z",
                "tickets_created": "15",
                "tickets_resolved": "14",
                "tickets_pending": "1",
                "avg_resolution_time": "2h",
                "customer_satisfaction": "4.8",
                "escalation_count": "1"
              }
            },
            {
              "user_id": "user_002",
              "company_id": "comp002",
              "metadata": {
                "last_ticket_created": "2025-01-31T09:15:00Z",
                "tickets_created": "8",
                "tickets_resolved": "7",
                "tickets_pending": "1",
                "avg_resolution_time": "3h",
                "customer_satisfaction": "4.5",
                "escalation_count": "0"
              }
            }
          ]
        }
        """;

    [Fact]
    public async Task Identify_SeedExample_202_UserCompanyAndMembership()
    {
        using var userpilot = server.Userpilot(server.WriteKey);
        var (status, body) = await userpilot.UserpilotAsync("/identify", SeedIdentify);

        Assert.Equal(202, status);
        Assert.Null(body);
        using var native = server.Client(server.ReadKey);
        var (_, resolved) = await native.GetJsonAsync("/v1/resolve?type=user_id&value=user_001");
        var profileId = resolved.Value<long>("profile_id");
        var (_, profile) = await native.GetJsonAsync($"/v1/profiles/{profileId}");
        Assert.Equal("Jane Doe", profile!["properties"]!["name"]!["value"]!.GetValue<string>());
        var (_, companies) = await native.GetJsonAsync($"/v1/profiles/{profileId}/companies");
        Assert.Contains("company_001", companies!["companies"]!.AsArray().Select(c => c!.GetValue<string>()));
        var (companyStatus, company) = await native.GetJsonAsync("/v1/companies/company_001");
        Assert.Equal(200, companyStatus);
        Assert.Contains(company!["members"]!.AsArray(), m => m!["profile_id"]!.GetValue<long>() == profileId);
    }

    [Fact]
    public async Task Identify_CompanyByCompanyIdWithItsOwnFields_UpdatesTheCompany()
    {
        using var userpilot = server.Userpilot(server.WriteKey);
        var (user, company) = (Names.Unique("u"), Names.Unique("acme"));
        var (status, _) = await userpilot.UserpilotAsync("/identify", $$$"""{"user_id":"{{{user}}}","company":{"company_id":"{{{company}}}","plan":"enterprise"}}""");

        Assert.Equal(202, status);
        using var native = server.Client(server.ReadKey);
        var (_, found) = await native.GetJsonAsync($"/v1/companies/{company}");
        Assert.Equal("enterprise", found!["properties"]!["plan"]!["value"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(false, null, "X-API-Version: header is required")]
    [InlineData(true, """{"metadata":{"a":1}}""", "user_id")]
    [InlineData(true, """{"user_id":"u","company":{"name":"no id"}}""", "company.company_id")]
    [InlineData(true, """{"user_id":"u","metadata":{"nested":{"a":1}}}""", "metadata.nested")]
    [InlineData(true, """{"user_id":"u","metadata":{"a\u0000":1}}""", "metadata keys must be 1 to 256 characters, without NUL")]
    public async Task Identify_BadRequests_400InUserpilotsShapeNamingTheField(bool withVersion, string? body, string expected)
    {
        using var userpilot = server.Userpilot(server.WriteKey, withVersion);
        var (status, answer) = await userpilot.UserpilotAsync("/identify", body ?? """{"user_id":"u"}""");

        Assert.Equal(400, status);
        var error = answer!["errors"]![0]!;
        Assert.Contains(expected, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(error["error_code"]);
        Assert.NotNull(error["details"]);
    }

    [Fact]
    public async Task Identify_WrongKey_401InUserpilotsShape()
    {
        using var userpilot = server.Userpilot("ss_000000000000_wrong");
        var (status, body) = await userpilot.UserpilotAsync("/identify", """{"user_id":"u"}""");
        Assert.Equal(401, status);
        Assert.Equal("Unauthorized - Invalid API key", body.ErrorMessage());
    }

    [Fact]
    public async Task BulkIdentify_SeedBody_QueuedJobThatCompletesWithBothUsers()
    {
        using var userpilot = server.Userpilot(server.WriteKey, withVersion: false);
        var (status, job) = await userpilot.UserpilotAsync("/users/bulk_identify", SeedBulk);

        Assert.Equal(202, status);
        Assert.Equal("queued", job!["status"]!.GetValue<string>());
        Assert.True(Guid.TryParse(job["job_id"]!.GetValue<string>(), out _));
        // The seed's time format, to the second, on create and on read alike.
        var seedTime = new System.Text.RegularExpressions.Regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$");
        Assert.Matches(seedTime, job["submitted_at"]!.GetValue<string>());
        var done = await userpilot.FinishedJobAsync(job["job_id"]!.GetValue<string>());
        Assert.Equal(job["submitted_at"]!.GetValue<string>(), done["submitted_at"]!.GetValue<string>());
        Assert.Matches(seedTime, done["start_time"]!.GetValue<string>());
        Assert.Matches(seedTime, done["end_time"]!.GetValue<string>());
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Equal((2, 2, 0), (done["total_rows"]!.GetValue<int>(), done["completed_rows"]!.GetValue<int>(), done["failed_rows"]!.GetValue<int>()));

        using var native = server.Client(server.ReadKey);
        var (_, resolved) = await native.GetJsonAsync("/v1/resolve?type=user_id&value=user_002");
        var (_, profile) = await native.GetJsonAsync($"/v1/profiles/{resolved.Value<long>("profile_id")}");
        Assert.Equal("8", profile!["properties"]!["tickets_created"]!["value"]!.GetValue<string>());
        Assert.Equal("datetime", profile["properties"]!["last_ticket_created"]!["type"]!.GetValue<string>());
        var (_, companies) = await native.GetJsonAsync($"/v1/profiles/{resolved.Value<long>("profile_id")}/companies");
        Assert.Equal(["comp002"], companies!["companies"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    [Fact]
    public async Task BulkIdentify_NdjsonFileWithAMalformedLine_TheRestApplied_TheLineReported()
    {
        using var userpilot = server.Userpilot(server.WriteKey, withVersion: false);
        var (a, b) = (Names.Unique("file-a"), Names.Unique("file-b"));
        var file = string.Join("\n",
            $$$"""{"user_id":"{{{a}}}","metadata":{"plan":"pro"}}""",
            """{"user_id": "broken", "metadata": {""",
            $$$"""{"user_id":"{{{b}}}","metadata":{"list":[1,2]}}""",
            $$$"""{"user_id":"{{{b}}}","company_id":"{{{Names.Unique("co")}}}","metadata":{"plan":"free"}}""",
            // A key no store can keep (PostgreSQL takes no NUL): this row fails alone, on either store.
            $$$"""{"user_id":"{{{Names.Unique("file-c")}}}","metadata":{"a\u0000":1}}""");

        var (status, job) = await userpilot.SendToAsync(HttpMethod.Post, "/users/bulk_identify", UserpilotCalls.File(file, "users.ndjson"));

        Assert.Equal(202, status);
        Assert.Equal("users.ndjson", job!["filename"]!.GetValue<string>());
        var done = await userpilot.FinishedJobAsync(job["job_id"]!.GetValue<string>());
        Assert.Equal((5, 2, 3), (done["total_rows"]!.GetValue<int>(), done["completed_rows"]!.GetValue<int>(), done["failed_rows"]!.GetValue<int>()));
        var failed = done["failed"]!.AsArray();
        Assert.Equal([2, 3, 5], failed.Select(f => f!["line"]!.GetValue<int>()));
        Assert.Contains("without NUL", failed[2]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("malformed JSON", failed[0]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("metadata.list", failed[1]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        using var native = server.Client(server.ReadKey);
        Assert.Equal(200, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={a}")).Status);
        Assert.Equal(200, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={b}")).Status);
    }

    [Fact]
    public async Task BulkIdentify_File_HoldsUserAndCompanyProfilesAlike()
    {
        using var userpilot = server.Userpilot(server.WriteKey, withVersion: false);
        var (user, company) = (Names.Unique("mixed-u"), Names.Unique("mixed-co"));
        var file = string.Join("\n",
            $$$"""{"user_id":"{{{user}}}","metadata":{"plan":"pro"}}""",
            $$$"""{"company_id":"{{{company}}}","metadata":{"size":40}}""");

        var (status, job) = await userpilot.SendToAsync(HttpMethod.Post, "/users/bulk_identify", UserpilotCalls.File(file, "profiles.ndjson"));

        Assert.Equal(202, status);
        var done = await userpilot.FinishedJobAsync(job!["job_id"]!.GetValue<string>());
        Assert.Equal((2, 2, 0), (done["total_rows"]!.GetValue<int>(), done["completed_rows"]!.GetValue<int>(), done["failed_rows"]!.GetValue<int>()));
        using var native = server.Client(server.ReadKey);
        Assert.Equal(200, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}")).Status);
        var (companyStatus, stored) = await native.GetJsonAsync($"/v1/companies/{company}");
        Assert.Equal(200, companyStatus);
        Assert.Equal(40, stored!["properties"]!["size"]!["value"]!.GetValue<int>());
    }

    [Fact]
    public async Task BulkIdentify_Limits_EachA4xxInUserpilotsShape()
    {
        using var userpilot = server.Userpilot(server.WriteKey, withVersion: false);
        var tooMany = "{\"users\":[" + string.Join(",", Enumerable.Range(0, 10_001).Select(i => $$"""{"user_id":"x{{i}}"}""")) + "]}";
        var (status, body) = await userpilot.UserpilotAsync("/users/bulk_identify", tooMany);
        Assert.Equal(400, status);
        Assert.Contains("10,000", body.ErrorMessage(), StringComparison.Ordinal);

        (status, body) = await userpilot.SendToAsync(HttpMethod.Post, "/users/bulk_identify",
            UserpilotCalls.File(string.Join("\n", Enumerable.Range(0, 10_001).Select(i => $$"""{"user_id":"y{{i}}"}"""))));
        Assert.Equal(400, status);
        Assert.Contains("10,001 rows", body.ErrorMessage(), StringComparison.Ordinal);

        (status, body) = await userpilot.UserpilotAsync("/users/bulk_identify", """{"users":[{"user_id":"z","metadata":{"tags":["a"]}}]}""");
        Assert.Equal(400, status);
        Assert.StartsWith("users[0].metadata.tags", body.ErrorMessage(), StringComparison.Ordinal);

        var line = $$$"""{"user_id":"big","metadata":{"pad":"{{{new string('x', 1000)}}}"}}""" + "\n";
        var huge = new StringBuilder((int)(51L * 1024 * 1024));
        while (huge.Length < 51L * 1024 * 1024)
        {
            huge.Append(line);
        }
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/userpilot/v1/users/bulk_identify") { Content = UserpilotCalls.File(huge.ToString()) })
        {
            // As curl sends large uploads: the server refuses before the 51 MB are sent.
            request.Headers.ExpectContinue = true;
            using var response = await userpilot.SendAsync(request);
            (status, body) = ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
        }
        Assert.Equal(413, status);
        Assert.Equal("file_too_large", body!["errors"]![0]!["error_code"]!.GetValue<string>());

        // identify is held to the server's own body limit (64 KiB in these tests), and says so.
        using (var versioned = server.Userpilot(server.WriteKey))
        {
            (status, body) = await versioned.UserpilotAsync("/identify", $$$"""{"user_id":"big","metadata":{"a":"{{{new string('x', 70_000)}}}"}}""");
        }
        Assert.Equal(413, status);
        Assert.Equal("the body is larger than 65536 bytes", body.ErrorMessage());

        (status, body) = await userpilot.SendToAsync(HttpMethod.Post, "/users/bulk_identify", new MultipartFormDataContent { { new StringContent("x"), "other" } });
        Assert.Equal(400, status);
        Assert.Contains("'file'", body.ErrorMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BackgroundJobs_ListedNewestFirst_AndAnUnknownJobIs404()
    {
        using var userpilot = server.Userpilot(server.WriteKey, withVersion: false);
        var (_, first) = await userpilot.UserpilotAsync("/companies/bulk_identify", $$$"""{"companies":[{"company_id":"{{{Names.Unique("c")}}}","metadata":{"size":10}}]}""");
        var (_, second) = await userpilot.UserpilotAsync("/users/bulk_identify", $$"""{"users":[{"user_id":"{{Names.Unique("u")}}"}]}""");
        await userpilot.FinishedJobAsync(second!["job_id"]!.GetValue<string>());

        var (status, list) = await userpilot.SendToAsync(HttpMethod.Get, "/background_jobs", null);

        Assert.Equal(200, status);
        var ids = list!.AsArray().Select(j => j!["job_id"]!.GetValue<string>()).ToList();
        Assert.True(ids.IndexOf(second["job_id"]!.GetValue<string>()) < ids.IndexOf(first!["job_id"]!.GetValue<string>()));
        Assert.Equal("companies_bulk_identify", list.AsArray().Single(j => j!["job_id"]!.GetValue<string>() == first["job_id"]!.GetValue<string>())!["type"]!.GetValue<string>());
        var (missing, body) = await userpilot.SendToAsync(HttpMethod.Get, $"/background_jobs/{Guid.NewGuid()}", null);
        Assert.Equal(404, missing);
        Assert.Equal("job_not_found", body!["errors"]![0]!["error_code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Track_202_AndTheEventIsOnTheUser()
    {
        using var userpilot = server.Userpilot(server.WriteKey);
        var user = Names.Unique("tracker");
        var (status, _) = await userpilot.UserpilotAsync("/track", $$$"""{"user_id":"{{{user}}}","event_name":"Clicked","metadata":{"button":"save"}}""");

        Assert.Equal(202, status);
        using var native = server.Client(server.ReadKey);
        var (_, resolved) = await native.GetJsonAsync($"/v1/resolve?type=user_id&value={user}");
        var (_, events) = await native.GetJsonAsync($"/v1/profiles/{resolved.Value<long>("profile_id")}/events");
        Assert.Equal("Clicked", events!["events"]![0]!["event"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeleteUsers_IsAJobThatDeletesThem()
    {
        using var userpilot = server.Userpilot(server.WriteKey);
        var (gone, unknown) = (Names.Unique("gone"), Names.Unique("unknown"));
        await userpilot.UserpilotAsync("/identify", $$"""{"user_id":"{{gone}}"}""");

        var (status, job) = await userpilot.SendToAsync(HttpMethod.Delete, "/users", Http.Json($$"""{"users":["{{gone}}","{{unknown}}"]}"""));

        Assert.Equal(202, status);
        var done = await userpilot.FinishedJobAsync(job!["job_id"]!.GetValue<string>());
        Assert.Equal((1, 1), (done["completed_rows"]!.GetValue<int>(), done["failed_rows"]!.GetValue<int>()));
        using var native = server.Client(server.ReadKey);
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={gone}")).Status);

        // A numeric user_id, as identify takes it, is deleted by its number.
        var number = Random.Shared.NextInt64(1_000_000_000, 9_000_000_000);
        await userpilot.UserpilotAsync("/identify", $$"""{"user_id":{{number}}}""");
        var (numbered, numberJob) = await userpilot.SendToAsync(HttpMethod.Delete, "/users", Http.Json($$"""{"users":[{{number}}]}"""));
        Assert.Equal(202, numbered);
        var numberDone = await userpilot.FinishedJobAsync(numberJob!["job_id"]!.GetValue<string>());
        Assert.Equal((1, 0), (numberDone["completed_rows"]!.GetValue<int>(), numberDone["failed_rows"]!.GetValue<int>()));
        Assert.Equal(404, (await native.GetJsonAsync($"/v1/resolve?type=user_id&value={number}")).Status);

        // PostgreSQL cannot keep a NUL, so no store takes one: the request is refused whole.
        var (refused, problem) = await userpilot.SendToAsync(HttpMethod.Delete, "/users", Http.Json("""{"users":["a\u0000b"]}"""));
        Assert.Equal(400, refused);
        Assert.Contains("users", problem!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NativeImport_IsTheSameJobMachinery()
    {
        using var native = server.Client(server.WriteKey);
        var user = Names.Unique("imported");
        using var content = new StringContent(string.Join("\n",
            $$$"""{"user_id":"{{{user}}}","properties":{"plan":"pro"}}""",
            $$"""{"op":"track","user_id":"{{user}}","event":"imported"}""",
            "not json"), Encoding.UTF8, "application/x-ndjson");
        using var response = await native.PostAsync("/v1/imports", content);
        Assert.Equal(202, (int)response.StatusCode);
        var jobId = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["job_id"]!.GetValue<string>();

        JsonNode? job = null;
        for (var i = 0; i < 600 && job?["status"]?.GetValue<string>() is not ("completed" or "failed"); i++)
        {
            await Task.Delay(50);
            job = (await native.GetJsonAsync($"/v1/jobs/{jobId}")).Body;
        }
        Assert.Equal("completed", job!["status"]!.GetValue<string>());
        Assert.Equal((2, 1), (job["completed_rows"]!.GetValue<int>(), job["failed_rows"]!.GetValue<int>()));
        Assert.Equal(3, job["errors"]![0]!["line"]!.GetValue<int>());
    }
}
