using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Selfsame.Server.Tests.Support;

public static class UserpilotCalls
{
    /// <summary>A client with <c>Authorization: Token KEY</c> and, unless told otherwise, <c>X-API-Version: 2020-09-22</c>.</summary>
    public static HttpClient Userpilot(this RunningServer server, string key, bool withVersion = true)
    {
        var client = server.Client(null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", key);
        if (withVersion)
        {
            client.DefaultRequestHeaders.Add("X-API-Version", "2020-09-22");
        }
        return client;
    }

    public static async Task<(int Status, JsonNode? Body)> SendToAsync(this HttpClient client, HttpMethod method, string path, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, $"/userpilot/v1{path}") { Content = content };
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public static Task<(int Status, JsonNode? Body)> UserpilotAsync(this HttpClient client, string path, string json) =>
        client.SendToAsync(HttpMethod.Post, path, Http.Json(json));

    /// <summary>An NDJSON file as a multipart/form-data part named <c>file</c>, as the seed's curl -F sends it.</summary>
    public static MultipartFormDataContent File(string ndjson, string name = "file.ndjson")
    {
        var form = new MultipartFormDataContent();
        var part = new StringContent(ndjson);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        form.Add(part, "file", name);
        return form;
    }

    /// <summary>Polls a background job until it is completed or failed (at most 30 s) and returns it.</summary>
    public static async Task<JsonNode> FinishedJobAsync(this HttpClient client, string jobId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var (status, job) = await client.SendToAsync(HttpMethod.Get, $"/background_jobs/{jobId}", null);
            Assert.Equal(200, status);
            if (job!["status"]!.GetValue<string>() is "completed" or "failed" || DateTime.UtcNow > deadline)
            {
                return job;
            }
            await Task.Delay(50);
        }
    }

    public static string ErrorMessage(this JsonNode? body) => body!["errors"]![0]!["message"]!.GetValue<string>();
}
