using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Selfsame.Graph;
using Selfsame.Guardrails;
using Selfsame.Operations;

namespace Selfsame.Server.Hosting.Surfaces;

/// <summary>
/// The answer to a dry run: the endpoint's own answer, as the write would give it, with the effect beside it. A JSON
/// object answer gains an <c>effect</c> member; an empty answer becomes <c>{"effect": ...}</c>; any other answer (plain
/// text, an array) becomes <c>{"answer": ..., "effect": ...}</c>. Every dry-run answer carries <c>Selfsame-Dry-Run: true</c>.
/// </summary>
internal sealed class DryRunAnswer(IResult inner, DryRunLog log) : IResult
{
    public const string Header = "Selfsame-Dry-Run";
    public const string Parameter = "dry_run";

    /// <summary>Whether the request asks for a dry run: <c>dry_run</c> in the query or the <c>Selfsame-Dry-Run</c> header; a field and message when the value is neither true nor false.</summary>
    public static (bool DryRun, FieldError? Error) Asked(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        {
            return (false, null);
        }
        var asked = false;
        foreach (var (field, value) in new[] { (Parameter, request.Query[Parameter].ToString()), (Header, request.Headers[Header].ToString()) })
        {
            switch (value.ToLowerInvariant())
            {
                case "":
                case "false":
                case "0":
                    break;
                case "true":
                case "1":
                    asked = true;
                    break;
                default:
                    return (false, new FieldError(field, $"'{value}' is neither true nor false"));
            }
        }
        return (asked, null);
    }

    public async Task ExecuteAsync(HttpContext context)
    {
        var response = context.Response;
        if (log.Answered)
        {
            response.Headers[Header] = "true";
            await inner.ExecuteAsync(context);
            return;
        }
        var original = response.Body;
        using var buffer = new MemoryStream();
        response.Body = buffer;
        try
        {
            await inner.ExecuteAsync(context);
        }
        finally
        {
            response.Body = original;
        }
        var effect = Describe(log.Effects);
        JsonObject answer;
        var text = System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        JsonNode? parsed = null;
        if (text.Length > 0 && response.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
        {
            try
            {
                parsed = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                parsed = null;
            }
        }
        if (parsed is JsonObject body)
        {
            answer = body;
        }
        else
        {
            answer = text.Length == 0 ? [] : new JsonObject { ["answer"] = parsed ?? JsonValue.Create(text) };
        }
        answer["effect"] = effect;
        response.Headers[Header] = "true";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(answer, JsonDefaults.Options);
        response.ContentType = parsed is JsonObject && response.ContentType is { } type ? type : "application/json; charset=utf-8";
        response.ContentLength = bytes.Length;
        await original.WriteAsync(bytes, context.RequestAborted);
    }

    /// <summary>The effects of a request's operations as one object; with several operations, each item names its operation.</summary>
    public static JsonObject Describe(IReadOnlyList<Effect> effects)
    {
        var lists = new Dictionary<string, JsonArray>(StringComparer.Ordinal);
        var eventsAdded = 0;
        void Add(string name, int operation, JsonObject item)
        {
            if (effects.Count > 1)
            {
                item["operation"] = operation;
            }
            if (!lists.TryGetValue(name, out var list))
            {
                lists[name] = list = [];
            }
            list.Add(item);
        }
        for (var i = 0; i < effects.Count; i++)
        {
            var e = effects[i];
            foreach (var m in e.Merged)
            {
                Add("profiles_merged", i, new JsonObject { ["from"] = Ids(m.Before.Select(p => p.Value)), ["into"] = m.After.Value });
            }
            foreach (var s in e.Split)
            {
                Add("profiles_split", i, new JsonObject
                {
                    ["profile_id"] = s.Before.Value,
                    ["into"] = new JsonArray(s.Into.Select(side => (JsonNode)new JsonObject { ["profile_id"] = side.Profile.Value, ["record_ids"] = Ids(side.Records.Select(r => r.Value)) }).ToArray()),
                });
            }
            foreach (var r in e.Renamed)
            {
                Add("profiles_renamed", i, new JsonObject { ["from"] = r.Before.Value, ["to"] = r.After.Value });
            }
            foreach (var r in e.RecordsCreated)
            {
                Add("records_created", i, new JsonObject { ["record_id"] = r.Value });
            }
            foreach (var r in e.RecordsDeleted)
            {
                Add("records_deleted", i, new JsonObject { ["record_id"] = r.Value });
            }
            foreach (var (name, changes) in new[] { ("identifiers_attached", e.Attached), ("identifiers_detached", e.Detached), ("identifiers_moved", e.Moved) })
            {
                foreach (var c in changes)
                {
                    Add(name, i, new JsonObject
                    {
                        ["identifier"] = c.Identifier.ToString(), ["record_id"] = c.Record.Value,
                        ["from_profile_id"] = c.From?.Value, ["to_profile_id"] = c.To?.Value,
                    });
                }
            }
            foreach (var r in e.Refused)
            {
                Add("refused", i, new JsonObject
                {
                    ["identifier"] = r.Identifier?.ToString(), ["field"] = r.Field, ["rule"] = r.Rule, ["reason"] = r.Reason,
                    ["would_be"] = ReviewStatuses.Name(r.Status),
                });
            }
            foreach (var p in e.Properties)
            {
                Add("properties_changed", i, new JsonObject
                {
                    ["record_id"] = p.Record.Value, ["key"] = p.Key, ["before"] = Value(p.Before), ["after"] = Value(p.After),
                });
            }
            foreach (var m in e.EventsMoved)
            {
                Add("events_moved", i, new JsonObject
                {
                    ["record_id"] = m.Record.Value, ["from_profile_id"] = m.From.Value, ["to_profile_id"] = m.To.Value, ["events"] = m.Events, ["more"] = m.More,
                });
            }
            eventsAdded += e.EventsAdded;
        }
        var result = new JsonObject();
        foreach (var name in new[] { "profiles_merged", "profiles_split", "profiles_renamed", "records_created", "records_deleted", "identifiers_attached",
                     "identifiers_detached", "identifiers_moved", "refused", "properties_changed", "events_moved" })
        {
            result[name] = lists.TryGetValue(name, out var list) ? list : [];
        }
        result["events_added"] = eventsAdded;
        return result;
    }

    private static JsonArray Ids(IEnumerable<long> ids) => new(ids.Select(id => (JsonNode)id).ToArray());

    private static JsonNode? Value(PropertyValue? value) => value is null ? null : JsonNode.Parse(value.Json);
}
