using System.Text.Json.Nodes;
using Selfsame.Server.Tests.Support;
using static Selfsame.Server.Tests.Support.MoEngageServer;

namespace Selfsame.Server.Tests.MoEngage;

public sealed class MoEngageApiTests(MoEngageServer server) : IClassFixture<MoEngageServer>
{
    private HttpClient Seed() => server.MoEngage(SeedWorkspace, server.SeedKey);
    private HttpClient Resolving() => server.MoEngage(ResolvingWorkspace, server.ResolvingKey);
    private HttpClient Native(string key) => server.Client(key);

    private const string Accepted = "Your request has been accepted and will be processed soon.";

    [Fact]
    public async Task Customer_SeedAttributesExample_CreatesTheUserWithTypedAttributes()
    {
        using var moengage = Seed();
        var customer = Names.Unique("john");
        // The seed's attributes example, verbatim, under a customer id.
        var (status, body) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", $$"""
            {"type":"customer","customer_id":"{{customer}}","attributes":
            {
            "name": "John",
            "points": 20,
            "expiry_date": "2020-05-31T03:47:35Z",
            "super_user": true,
            "user_persona": "browsers"
            }
            }
            """);

        Assert.Equal(200, status);
        Assert.Equal("success", body["status"]!.GetValue<string>());
        Assert.Equal(Accepted, body["message"]!.GetValue<string>());
        Assert.Equal("created", body["result"]!["action"]!.GetValue<string>());
        var user = (await moengage.ExportUserAsync(SeedWorkspace, customer))!;
        Assert.Equal(20, user["points"]!.GetValue<int>());
        Assert.True(user["super_user"]!.GetValue<bool>());
        Assert.Equal(customer, user["customer_id"]!.GetValue<string>());

        using var native = Native(server.SeedKey);
        var (_, profile) = await native.GetJsonAsync($"/v1/profiles/{body["result"]!["moengage_id"]!.GetValue<string>()}");
        var types = profile!["properties"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!["type"]!.GetValue<string>());
        Assert.Equal("datetime", types["expiry_date"]);
        Assert.Equal("number", types["points"]);
        Assert.Equal("boolean", types["super_user"]);
        Assert.Equal("string", types["user_persona"]);
    }

    [Fact]
    public async Task Customer_DateWithoutTimeOrNotIso_StaysAString()
    {
        using var moengage = Seed();
        var customer = Names.Unique("dates");
        var (_, body) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"day":"2020-05-31","when":"2020-05-31T16:33:35Z","label":"May 31"}}""");

        using var native = Native(server.SeedKey);
        var (_, profile) = await native.GetJsonAsync($"/v1/profiles/{body["result"]!["moengage_id"]!.GetValue<string>()}");
        Assert.Equal("string", profile!["properties"]!["day"]!["type"]!.GetValue<string>());
        Assert.Equal("datetime", profile["properties"]!["when"]!["type"]!.GetValue<string>());
        Assert.Equal("string", profile["properties"]!["label"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Customer_UpdateExistingOnly_UpdatesKnownUsersAndCreatesNobody()
    {
        using var moengage = Seed();
        var known = Names.Unique("known");
        var unknown = Names.Unique("unknown");
        await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", $$$"""{"type":"customer","customer_id":"{{{known}}}","attributes":{"plan":"free"}}""");

        var (_, skipped) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{unknown}}}","update_existing_only":true,"attributes":{"plan":"pro"}}""");
        var (_, updated) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{known}}}","update_existing_only":true,"attributes":{"plan":"pro"}}""");
        var (_, created) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{unknown}}}","update_existing_only":false,"attributes":{"plan":"trial"}}""");

        Assert.Equal("skipped", skipped["result"]!["action"]!.GetValue<string>());
        Assert.Equal("updated", updated["result"]!["action"]!.GetValue<string>());
        Assert.Equal("created", created["result"]!["action"]!.GetValue<string>());
        Assert.Equal("pro", (await moengage.ExportUserAsync(SeedWorkspace, known))!["plan"]!.GetValue<string>());
        Assert.Equal("trial", (await moengage.ExportUserAsync(SeedWorkspace, unknown))!["plan"]!.GetValue<string>());
    }

    [Fact]
    public async Task Customer_SkippedByUpdateExistingOnly_IsNotInTheStore()
    {
        using var moengage = Seed();
        var unknown = Names.Unique("never");
        var (status, body) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", $$"""{"type":"customer","customer_id":"{{unknown}}","update_existing_only":true}""");
        Assert.Equal(200, status);
        Assert.Equal("skipped", body["result"]!["action"]!.GetValue<string>());
        Assert.Null(await moengage.ExportUserAsync(SeedWorkspace, unknown));
    }

    [Theory]
    [InlineData("id")]
    [InlineData("_id")]
    [InlineData("")]
    public async Task Customer_BlockedAttributeName_400NamingItAndNothingWritten(string name)
    {
        using var moengage = Seed();
        var customer = Names.Unique("blocked");
        var (status, body) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"plan":"pro","{{{name}}}":"x"}}""");

        Assert.Equal(400, status);
        Assert.Equal("fail", body["status"]!.GetValue<string>());
        Assert.Equal("ReservedAttributeError", body.ErrorType());
        Assert.Equal($"attributes.{name}", body["error"]!["attribute"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["error"]!["request_id"]!.GetValue<string>()));
        Assert.Null(await moengage.ExportUserAsync(SeedWorkspace, customer));
    }

    [Fact]
    public async Task Customer_MoePrefix_RefusedUnlessTheWorkspaceActivatedIt()
    {
        using var plain = Seed();
        var (status, body) = await plain.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{Names.Unique("c")}}}","attributes":{"moe_mobile":"+14155550100"}}""");
        Assert.Equal(400, status);
        Assert.Equal("ReservedAttributeError", body.ErrorType());

        using var resolving = Resolving();
        Assert.Equal(200, (await resolving.MoEngageAsync($"/customer/{ResolvingWorkspace}",
            """{"type":"customer","attributes":{"moe_mobile":"+1 415 555 0101"}}""")).Status);
        var (refused, other) = await resolving.MoEngageAsync($"/customer/{ResolvingWorkspace}",
            """{"type":"customer","attributes":{"moe_mobile":"+1 415 555 0102","moe_spam":true}}""");
        Assert.Equal(400, refused);
        Assert.Equal("ReservedAttributeError", other.ErrorType());
        Assert.Equal("attributes.moe_spam", other["error"]!["attribute"]!.GetValue<string>());
    }

    [Fact]
    public async Task Customer_TypeIsCaseSensitive()
    {
        using var moengage = Seed();
        var (status, body) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", """{"type":"Customer","customer_id":"x"}""");
        Assert.Equal(400, status);
        Assert.Equal("type", body["error"]!["attribute"]!.GetValue<string>());
    }

    [Fact]
    public async Task Customer_WithoutCustomerIdOutsideIdentityResolution_MissingAttributeError()
    {
        using var moengage = Seed();
        var (status, body) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", """{"type":"customer","attributes":{"a":1}}""");
        Assert.Equal(400, status);
        Assert.Equal("MissingAttributeError", body.ErrorType());
        Assert.StartsWith("customer_id is not found in the payload (identity resolution", body.ErrorMessage(), StringComparison.Ordinal);
        Assert.Contains("set identity_resolution to true", body.ErrorMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdentityResolution_SeedExample_CreatesAUserWithoutCustomerId()
    {
        using var moengage = Resolving();
        // The seed's identity-resolution example, verbatim: its mobile number is a template placeholder, which the
        // deny-list refuses (a value that every unfilled template sends would join strangers), naming the rule.
        const string seed = """
            {
            "type": "customer",
            "attributes": {"moe_mobile": "{{Mobile_Number}}",
            "first_name": "John"
            }
            }
            """;
        var (refused, refusal) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}", seed);
        Assert.NotEqual(200, refused);
        Assert.Contains("deny_list.short_phone", refusal.ToJsonString(), StringComparison.Ordinal);

        // With the template filled in, the example creates a user without a customer id, and a second send finds it.
        var mobile = $"+1415{Random.Shared.Next(1000000, 9999999)}";
        var (status, body) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}", seed.Replace("{{Mobile_Number}}", mobile, StringComparison.Ordinal));
        Assert.Equal(200, status);
        var first = body["result"]!["moengage_id"]!.GetValue<string>();
        var (_, again) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}", $$$"""{"type":"customer","attributes":{"moe_mobile":"{{{mobile}}}"}}""");
        Assert.Equal(first, again["result"]!["moengage_id"]!.GetValue<string>());
        Assert.Equal("updated", again["result"]!["action"]!.GetValue<string>());
    }

    [Fact]
    public async Task IdentityResolution_SharedMobile_MergesTwoUsersAndSaysSo()
    {
        using var moengage = Resolving();
        var mobile = $"+1415{Random.Shared.Next(1000000, 9999999)}";
        var (emailA, emailB) = ($"{Names.Unique("a")}@acme.com", $"{Names.Unique("b")}@acme.com");
        var (_, first) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}",
            $$$"""{"type":"customer","attributes":{"moe_mobile":"{{{mobile}}}","moe_email":"{{{emailA}}}","plan":"free"}}""");
        var (_, second) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}",
            $$$"""{"type":"customer","attributes":{"moe_email":"{{{emailB}}}","city":"Oslo"}}""");
        Assert.NotEqual(first["result"]!["moengage_id"]!.GetValue<string>(), second["result"]!["moengage_id"]!.GetValue<string>());

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/moengage/v1/customer/{ResolvingWorkspace}")
        {
            Content = Http.Json($$$"""{"type":"customer","attributes":{"moe_mobile":"{{{mobile}}}","moe_email":"{{{emailB}}}"}}"""),
        };
        request.Headers.Add("X-Forwarded-For", "203.0.113.195, 10.0.0.1");
        var requestId = Names.Unique("req");
        request.Headers.Add("X-Request-Id", requestId);
        using var response = await moengage.SendAsync(request);
        var merged = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("updated", merged["result"]!["action"]!.GetValue<string>());
        var note = Assert.Single(merged["result"]!["merged"]!.AsArray())!;
        Assert.Equal(second["result"]!["moengage_id"]!.GetValue<string>(), note["moengage_id"]!.GetValue<string>());
        using var native = Native(server.ResolvingKey);
        var (_, a) = await native.GetJsonAsync($"/v1/resolve?type=email&value={emailA}");
        var (_, b) = await native.GetJsonAsync($"/v1/resolve?type=email&value={emailB}");
        Assert.Equal(a.Value<long>("profile_id"), b.Value<long>("profile_id"));
        var (_, audit) = await native.GetJsonAsync("/v1/admin/audit?limit=100");
        var entry = audit!["entries"]!.AsArray().Single(e => e!["request_id"]?.GetValue<string>() == requestId)!;
        Assert.Equal("merge", entry["action"]!.GetValue<string>());
        Assert.Equal("moengage", entry["surface"]!.GetValue<string>());
        Assert.Equal("203.0.113.195", entry["client_address"]!.GetValue<string>());
        Assert.Equal("email", entry["detail"]!["via"]!.GetValue<string>());
    }

    [Fact]
    public async Task IdentityResolution_NewCustomerIdWithAKnownEmail_UpdatesTheUserHoldingTheEmail()
    {
        using var moengage = Resolving();
        var email = $"{Names.Unique("known")}@acme.com";
        var customer = Names.Unique("c");
        var (_, first) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}", $$$"""{"type":"customer","attributes":{"moe_email":"{{{email}}}"}}""");

        var (_, second) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"moe_email":"{{{email}}}","plan":"pro"}}""");

        Assert.Equal("updated", second["result"]!["action"]!.GetValue<string>());
        Assert.Equal(first["result"]!["moengage_id"]!.GetValue<string>(), second["result"]!["moengage_id"]!.GetValue<string>());
        var user = (await moengage.ExportUserAsync(ResolvingWorkspace, customer))!;
        Assert.Equal(email, user["moe_email"]!.GetValue<string>());
        Assert.Equal("pro", user["plan"]!.GetValue<string>());
    }

    [Fact]
    public async Task IdentityResolution_MergeProtection_RefusesFoldingTwoCustomers()
    {
        using var moengage = Resolving();
        var (c1, c2) = (Names.Unique("c1"), Names.Unique("c2"));
        var email = $"{Names.Unique("e")}@acme.com";
        await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}", $$$"""{"type":"customer","customer_id":"{{{c1}}}","attributes":{"moe_mobile":"+1415{{{Random.Shared.Next(1000000, 9999999)}}}"}}""");
        await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}", $$$"""{"type":"customer","customer_id":"{{{c2}}}","attributes":{"moe_email":"{{{email}}}"}}""");

        var (status, body) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{c1}}}","attributes":{"moe_email":"{{{email}}}","plan":"pro"}}""");

        Assert.Equal(200, status);
        Assert.Empty(body["result"]!["merged"]!.AsArray());
        var refusal = Assert.Single(body["result"]!["refused"]!.AsArray())!;
        Assert.Contains("max_per_type.user_id", refusal["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotEqual((await moengage.ExportUserAsync(ResolvingWorkspace, c1))!["moengage_id"]!.GetValue<string>(),
            (await moengage.ExportUserAsync(ResolvingWorkspace, c2))!["moengage_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task IdentityResolution_PayloadWithoutAnyIdentifier_MissingAttributeError()
    {
        using var moengage = Resolving();
        var (status, body) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}", """{"type":"customer","attributes":{"first_name":"Ann"}}""");
        Assert.Equal(400, status);
        Assert.Equal("MissingAttributeError", body.ErrorType());
        Assert.Contains("moe_mobile, moe_email", body.ErrorMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_WorkspaceInPathDiffersFromTheHeader_409()
    {
        using var moengage = Seed();
        var (status, body) = await moengage.MoEngageAsync($"/customer/{ResolvingWorkspace}", """{"type":"customer","customer_id":"x"}""");
        Assert.Equal(409, status);
        Assert.Equal("App key mismatch in params and authentication.", body.ErrorMessage());
    }

    [Fact]
    public async Task Auth_ReadKeyOrLimitedKey_403_AndMissingAppId_400()
    {
        var keys = (Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Selfsame.Keys.ApiKeys>(server.Services));
        var project = Selfsame.Graph.ProjectId.Parse(SeedWorkspace.ToLowerInvariant());
        var read = (await keys.CreateAsync(project, Selfsame.Keys.Roles.Read, "r", new Selfsame.Graph.WriteOrigin("test", null), CancellationToken.None)).Key;
        var limited = (await keys.CreateAsync(project, Selfsame.Keys.Roles.Write, "l", new Selfsame.Graph.WriteOrigin("test", null), CancellationToken.None, ["users.track"])).Key;

        using var reader = server.MoEngage(SeedWorkspace, read);
        var (status, body) = await reader.MoEngageAsync($"/customer/{SeedWorkspace}", """{"type":"customer","customer_id":"x"}""");
        Assert.Equal(403, status);
        Assert.Equal("Forbidden", body.ErrorType());
        using var braze = server.MoEngage(SeedWorkspace, limited);
        Assert.Equal(403, (await braze.MoEngageAsync($"/customer/{SeedWorkspace}", """{"type":"customer","customer_id":"x"}""")).Status);

        using var moengage = Seed();
        (status, body) = await moengage.MoEngageAsync("/customer/delete", """{"identity_type":"customer_id","identity_value":"x"}""");
        Assert.Equal(400, status);
        Assert.Equal("app_id is required in path/query params.", body.ErrorMessage());
    }

    [Fact]
    public async Task Auth_KeyOfAnotherProject_401WithoutSayingMore()
    {
        using var moengage = server.MoEngage(SeedWorkspace, server.ResolvingKey);
        var (status, body) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", """{"type":"customer","customer_id":"x"}""");
        Assert.Equal(401, status);
        Assert.Equal("App Secret key mismatch. Please login to the dashboard to verify key", body.ErrorMessage());
    }

    [Theory]
    [InlineData(null, "Authentication Header Required")]
    [InlineData("Basic !!!not-base64", "base64")]
    [InlineData("Basic VkowR1NNRVNITVFBM0w3V1YxRUVLM1VS", "base64")]
    [InlineData("Bearer abc", "base64")]
    public async Task Auth_MissingOrBadBasicHeader_401InTheEnvelope(string? authorization, string message)
    {
        using var client = server.Client(null);
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }
        var (status, body) = await client.MoEngageAsync($"/customer/{SeedWorkspace}", """{"type":"customer","customer_id":"x"}""");
        Assert.Equal(401, status);
        Assert.Equal("Authentication required", body.ErrorType());
        Assert.Contains(message, body.ErrorMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Customer_PayloadOver128KB_413PayloadTooLarge()
    {
        using var moengage = Seed();
        var customer = Names.Unique("big");
        var attributes = string.Join(",", Enumerable.Range(0, 300).Select(i => $"\"a{i}\":\"{new string('x', 500)}\""));
        var (status, body) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{{{{attributes}}}}}""");

        Assert.Equal(413, status);
        Assert.Equal("PayloadTooLarge", body.ErrorType());
        Assert.Equal("Payload size exceeds 128 KB", body.ErrorMessage());
        Assert.Null(await moengage.ExportUserAsync(SeedWorkspace, customer));
    }

    [Fact]
    public async Task Customer_ArrayEdits_AddAndRemove_AndBothAtOnceRefused()
    {
        using var moengage = Seed();
        var customer = Names.Unique("arrays");
        await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"tags":["a","b"]}}""");
        await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$$"""{"type":"customer","customer_id":"{{{{customer}}}}","attributes":{"addValueToArrayField":{"tags":["c"]},"removeValueFromArrayField":{"other":["z"]}}}""");
        await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"removeValueFromArrayField":{"tags":["a"]}},"platforms":[{"platform":"ANDROID","active":"true"}]}""");

        var user = (await moengage.ExportUserAsync(SeedWorkspace, customer))!;
        Assert.Equal("""["b","c"]""", user["tags"]!.ToJsonString());
        Assert.Equal("""["ANDROID"]""", user["platforms"]!.ToJsonString());
        var (status, body) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$$"""{"type":"customer","customer_id":"{{{{customer}}}}","attributes":{"addValueToArrayField":{"tags":["x"]},"removeValueFromArrayField":{"tags":["b"]}}}""");
        Assert.Equal(400, status);
        Assert.Equal("ArrayFieldError", body.ErrorType());
        Assert.Equal("Cannot add and remove 'tags' at the same time", body.ErrorMessage());
    }

    [Fact]
    public async Task Merge_PairsApplied_FailingPairSkipped_RetainedValuesWin()
    {
        using var moengage = Seed();
        var (merged, retained) = (Names.Unique("merged"), Names.Unique("retained"));
        await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", $$$"""{"type":"customer","customer_id":"{{{merged}}}","attributes":{"plan":"free","city":"Oslo"}}""");
        await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", $$$"""{"type":"customer","customer_id":"{{{retained}}}","attributes":{"plan":"pro"}}""");

        var (status, body) = await moengage.MoEngageAsync($"/customer/merge?app_id={SeedWorkspace}",
            $$"""{"merge_data":[{"merged_user":"{{Names.Unique("ghost")}}","retained_user":"{{retained}}"},{"merged_user":"{{merged}}","retained_user":"{{retained}}"}]}""");

        Assert.Equal(200, status);
        Assert.Equal("created", body["operation"]!.GetValue<string>());
        Assert.Equal(1, body["merged"]!.GetValue<int>());
        Assert.Equal(0, body["skipped"]![0]!["index"]!.GetValue<int>());
        var user = (await moengage.ExportUserAsync(SeedWorkspace, merged))!;
        Assert.Equal(retained, user["customer_id"]!.GetValue<string>());
        Assert.Equal("pro", user["plan"]!.GetValue<string>());
        Assert.Equal("Oslo", user["city"]!.GetValue<string>());
    }

    [Fact]
    public async Task Merge_InIdentityResolutionWorkspace_Refused()
    {
        using var moengage = Resolving();
        var (status, body) = await moengage.MoEngageAsync($"/customer/merge?app_id={ResolvingWorkspace}", """{"merge_data":[{"merged_user":"a","retained_user":"b"}]}""");
        Assert.Equal(400, status);
        Assert.Equal("MergeDisabled", body.ErrorType());
    }

    [Fact]
    public async Task Merge_NonStringUser_400WithMoEngagesMessage()
    {
        using var moengage = Seed();
        var (status, body) = await moengage.MoEngageAsync($"/customer/merge?app_id={SeedWorkspace}", """{"merge_data":[{"merged_user":5,"retained_user":"b"}]}""");
        Assert.Equal(400, status);
        Assert.Equal("merged_user is expected to be String or Unicode String.", body.ErrorMessage());
    }

    [Fact]
    public async Task Delete_ByCustomerId_ThenAgainIsNotFound()
    {
        using var moengage = Seed();
        var customer = Names.Unique("gone");
        await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"a":1}}""");

        var (status, body) = await moengage.MoEngageAsync($"/customer/delete?app_id={SeedWorkspace}", $$"""{"identity_type":"customer_id","identity_value":"{{customer}}"}""");
        Assert.Equal(200, status);
        Assert.Equal(Accepted, body["message"]!.GetValue<string>());
        Assert.Null(await moengage.ExportUserAsync(SeedWorkspace, customer));

        (status, body) = await moengage.MoEngageAsync($"/customer/delete?app_id={SeedWorkspace}", $$"""{"identity_type":"customer_id","identity_value":"{{customer}}"}""");
        Assert.Equal(400, status);
        Assert.Equal($"User doesn't exists with customer id {customer}", body.ErrorMessage());
    }

    [Fact]
    public async Task Export_MoreThan20Identifiers_LimitBreached_AndUnknownOnesListed()
    {
        using var moengage = Seed();
        var ids = string.Join(",", Enumerable.Range(0, 21).Select(i => $$"""{"identifier_type":"customer_id","identifier":"x{{i}}"}"""));
        var (status, body) = await moengage.MoEngageAsync($"/customers/export?app_id={SeedWorkspace}", $$$"""{"data":{"identifiers":[{{{ids}}}]}}""");
        Assert.Equal(400, status);
        Assert.Equal("LimitBreached", body.ErrorType());
        Assert.Equal("max limit allowed is 20", body.ErrorMessage());

        var unknown = Names.Unique("nobody");
        (status, body) = await moengage.MoEngageAsync($"/customers/export?app_id={SeedWorkspace}",
            $$$"""{"data":{"identifiers":[{"identifier_type":"customer_id","identifier":"{{{unknown}}}"}]}}""");
        Assert.Equal(200, status);
        Assert.Equal("export_users", body["type"]!.GetValue<string>());
        Assert.Equal(unknown, body["data"]!["users_not_found"]![0]!["identifier"]!.GetValue<string>());
    }

    [Fact]
    public async Task Transition_CustomerDeviceAndEvent_AppliedAndSeenOnTheProfile()
    {
        using var moengage = Seed();
        var customer = Names.Unique("bulk");
        var device = Names.Unique("device");
        var (status, body) = await moengage.MoEngageAsync($"/transition/{SeedWorkspace}", $$$"""
            {"type":"transition","elements":[
              {"type":"customer","customer_id":"{{{customer}}}","attributes":{"plan":"pro"}},
              {"type":"device","customer_id":"{{{customer}}}","device_id":"{{{device}}}","attributes":{"brand":"Acme","platform":"ANDROID"}},
              {"type":"event","customer_id":"{{{customer}}}","device_id":"{{{device}}}","actions":[{"action":"Viewed","attributes":{"page":"/home"},"platform":"ANDROID","user_time":"2026-11-01T10:00:00Z"}]},
              {"type":"event","customer_id":"{{{customer}}}","actions":[{"action":"Bought","user_time":1730000000}]}]}
            """);

        Assert.Equal(200, status);
        Assert.Equal(4, body["result"]!["applied"]!.GetValue<int>());
        var user = (await moengage.ExportUserAsync(SeedWorkspace, customer))!;
        Assert.Equal("Acme", user["brand"]!.GetValue<string>());
        using var native = Native(server.SeedKey);
        var (_, events) = await native.GetJsonAsync($"/v1/profiles/{user["moengage_id"]!.GetValue<string>()}/events");
        Assert.Equal(["Viewed", "Bought"], events!["events"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Transition_DeviceOfAnotherCustomer_RefusedEvenForANewCustomer()
    {
        using var moengage = Seed();
        var (john, mary) = (Names.Unique("john"), Names.Unique("mary"));
        var device = Names.Unique("device");
        await moengage.MoEngageAsync($"/transition/{SeedWorkspace}",
            $$"""{"type":"transition","elements":[{"type":"device","customer_id":"{{john}}","device_id":"{{device}}"}]}""");

        var (status, body) = await moengage.MoEngageAsync($"/transition/{SeedWorkspace}",
            $$"""{"type":"transition","elements":[{"type":"device","customer_id":"{{mary}}","device_id":"{{device}}"}]}""");

        Assert.Equal(200, status);
        Assert.Equal(0, body["result"]!["applied"]!.GetValue<int>());
        Assert.Contains("belongs to another user", body["result"]!["failed"]![0]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(await moengage.ExportUserAsync(SeedWorkspace, mary));
        Assert.NotNull(await moengage.ExportUserAsync(SeedWorkspace, john));
    }

    [Fact]
    public async Task Export_RepeatedFieldAndSystemNames_NeitherBreaksNorOverwrites()
    {
        using var moengage = Seed();
        var customer = Names.Unique("fields");
        var (refused, _) = await moengage.MoEngageAsync($"/customer/{SeedWorkspace}",
            $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"moengage_id":"999"}}""");
        Assert.Equal(400, refused);
        await moengage.MoEngageAsync($"/customer/{SeedWorkspace}", $$$"""{"type":"customer","customer_id":"{{{customer}}}","attributes":{"name":"Ann"}}""");

        var (status, body) = await moengage.MoEngageAsync($"/customers/export?app_id={SeedWorkspace}",
            $$$"""{"data":{"identifiers":[{"identifier_type":"customer_id","identifier":"{{{customer}}}"}],"user_fields_to_export":["name","name","customer_id"]}}""");

        Assert.Equal(200, status);
        Assert.Equal("Ann", body["data"]!["users"]![0]!["user_attributes"]!["name"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"type":"transition","elements":[]}""", "elements cannot be empty array")]
    [InlineData("""{"type":"transition","elements":[{"type":"user","customer_id":"a"}]}""", "type in elements should be customer/event/device")]
    [InlineData("""{"type":"transition","elements":[{"type":"device","device_id":"d"}]}""", "customer_id not found in the payload")]
    [InlineData("""{"type":"transition","elements":[{"type":"event","customer_id":"a","actions":[{"action":""}]}]}""", "action cannot be empty Unicode string")]
    public async Task Transition_MalformedElements_400WithMoEngagesMessages(string request, string message)
    {
        using var moengage = Seed();
        var (status, body) = await moengage.MoEngageAsync($"/transition/{SeedWorkspace}", request);
        Assert.Equal(400, status);
        Assert.Equal(message, body.ErrorMessage());
    }
}
