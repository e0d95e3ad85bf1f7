using System.Text;
using Selfsame.Server.Tests.Support;

namespace Selfsame.Server.Tests.Native;

/// <summary>Bad requests get a 4xx problem that names the field, never a 5xx, and write nothing.</summary>
public sealed class BadInputTests(RunningServer server) : IClassFixture<RunningServer>
{
    private readonly HttpClient _write = server.Client(server.WriteKey);

    public static TheoryData<string, string, int, string> Cases() => new()
    {
        { "/v1/identify", """{"user_id":"bad-1",""", 400, "(body)" },
        { "/v1/identify", """[1,2,3]""", 400, "(body)" },
        { "/v1/identify", """{"user_id":12}""", 400, "user_id" },
        { "/v1/identify", """{"identifiers":[]}""", 400, "user_id" },
        { "/v1/identify", """{"user_id":"bad-2","identifiers":{"type":"email"}}""", 400, "identifiers" },
        { "/v1/identify", """{"user_id":"bad-3","identifiers":[{"type":"email","value":"not-an-email"}]}""", 400, "identifiers[0].value" },
        { "/v1/identify", """{"user_id":"bad-4","identifiers":[{"type":"fax","value":"1"}]}""", 400, "identifiers[0].type" },
        { "/v1/identify", """{"user_id":"bad-5","identifiers":[{"type":"alias","label":"crm"}]}""", 400, "identifiers[0].name" },
        { "/v1/identify", """{"user_id":"bad-6","properties":{"nested":{"a":1}}}""", 400, "properties.nested" },
        { "/v1/identify", """{"user_id":"bad-7","properties":{"big":1e999}}""", 400, "properties.big" },
        { "/v1/identify", """{"user_id":"bad-8","user_id":"bad-9"}""", 400, "(body)" },
        { "/v1/identify", """{"user_id":"bad-10","colour":"red"}""", 400, "colour" },
        { "/v1/identify", """{"user_id":""}""", 400, "user_id" },
        { "/v1/identify", """{"user_id":"bad-11","unset":[5]}""", 400, "unset[0]" },
        { "/v1/link", """{"from":{"type":"user_id","value":"bad-12"}}""", 400, "into" },
        { "/v1/link", """{"from":{"type":"user_id","value":"bad-13"},"into":{"type":"user_id","value":"bad-13"}}""", 400, "into" },
        { "/v1/link", """{"from":"bad-14","into":{"type":"user_id","value":"bad-15"}}""", 400, "from" },
        { "/v1/unlink", """{"from":{"type":"user_id","value":"bad-16"},"into":{"type":"user_id","value":"bad-17"}}""", 404, "from" },
        { "/v1/batch", """{"operations":"all of them"}""", 400, "operations" },
        { "/v1/identify", """{"user_id":"\udc00"}""", 400, "user_id" },
        { "/v1/identify", """{"user_id":"bad-18","properties":{"\ud800":1}}""", 400, "properties" },
        { "/v1/batch", """{"operations":[{"op":"identify","user_id":"ok-\ud83d"}]}""", 400, "operations[0].user_id" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Post_BadBody_Is4xxNamingTheField_AndWritesNothing(string path, string body, int status, string field)
    {
        var before = await _write.AllIdentifiersAsync();
        var (actual, problem) = await _write.PostAsync(path, body);

        Assert.Equal(status, actual);
        Assert.Contains(field, problem.Value<string>("detail"), StringComparison.Ordinal);
        Assert.Equal(before, await _write.AllIdentifiersAsync());
    }

    [Fact]
    public async Task Post_WrongContentType_Is415NamingTheHeader()
    {
        var (status, problem) = await _write.SendAsync(HttpMethod.Post, "/v1/identify", Http.Json("""{"user_id":"ct"}""", "text/plain"));
        Assert.Equal(415, status);
        Assert.Contains("Content-Type", problem.Value<string>("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_OversizedBody_Is413()
    {
        var huge = $$$"""{"user_id":"huge","properties":{"blob":"{{{new string('x', 100_000)}}}"}}""";
        var (status, problem) = await _write.PostAsync("/v1/identify", huge);
        Assert.Equal(413, status);
        Assert.Contains("(body): larger than 65536 bytes", problem.Value<string>("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_OversizedChunkedBody_Is413()
    {
        var huge = Encoding.UTF8.GetBytes($$$"""{"user_id":"chunked","properties":{"blob":"{{{new string('x', 100_000)}}}"}}""");
        using var content = new StreamContent(new MemoryStream(huge));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/identify") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _write.SendAsync(request);
        Assert.Equal(413, (int)response.StatusCode);
    }

    [Fact]
    public async Task Post_DeepNesting_Is400()
    {
        var deep = "{\"user_id\":\"deep\",\"properties\":{\"a\":" + new string('[', 200) + new string(']', 200) + "}}";
        var (status, _) = await _write.PostAsync("/v1/identify", deep);
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Post_InvalidUtf8_Is400()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"user_id\":\"x\"}");
        bytes[12] = 0xff;
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");
        var (status, problem) = await _write.SendAsync(HttpMethod.Post, "/v1/identify", content);
        Assert.Equal(400, status);
        Assert.Contains("UTF-8", problem.Value<string>("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPathAndMethod_AreProblemDetails()
    {
        var (notFound, problem) = await _write.GetJsonAsync("/v1/nothing-here");
        Assert.Equal(404, notFound);
        Assert.Contains("/v1/nothing-here", problem.Value<string>("detail"), StringComparison.Ordinal);
        Assert.Equal(405, (await _write.SendAsync(HttpMethod.Put, "/v1/identify", Http.Json("{}"))).Status);
    }

    [Theory]
    [InlineData("/v1/resolve?type=email", "value")]
    [InlineData("/v1/resolve?value=x", "type")]
    [InlineData("/v1/resolve?type=email&value=nope", "value")]
    [InlineData("/v1/explain?from_type=user_id&from_value=a", "to.type")]
    public async Task Get_BadQuery_Is400NamingTheParameter(string path, string field)
    {
        var (status, problem) = await _write.GetJsonAsync(path);
        Assert.Equal(400, status);
        Assert.Contains(field, problem.Value<string>("detail"), StringComparison.Ordinal);
    }
}
