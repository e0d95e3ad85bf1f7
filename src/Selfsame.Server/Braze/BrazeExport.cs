using System.Text.Json;
using Selfsame.Events;
using Selfsame.Graph;
using Selfsame.Server.Hosting.Surfaces;

namespace Selfsame.Server.Braze;

/// <summary>
/// A profile as Braze's /users/export/ids describes a user: identifiers, the standard fields, custom attributes, and
/// custom events and purchases summarized by name. Computed from the profile's records when read; nothing is stored merged.
/// </summary>
internal static class BrazeExport
{
    public static readonly string[] StandardFields =
        ["first_name", "last_name", "dob", "gender", "country", "home_city", "language", "time_zone", "email_subscribe", "push_subscribe"];

    public static readonly string[] Fields =
    [
        "created_at", "external_id", "user_aliases", "braze_id", "email", "phone", .. StandardFields,
        "custom_attributes", "custom_events", "purchases", "total_revenue",
    ];

    public static Dictionary<string, object?> User(UserView user, IReadOnlyList<string>? fields)
    {
        var view = user.Profile;
        var identifiers = view.Records.SelectMany(r => r.Identifiers).ToList();
        var root = view.Records.FirstOrDefault(r => r.Record.Id.Value == view.Id.Value);
        var answer = new Dictionary<string, object?>
        {
            ["created_at"] = VendorTime.Format(view.Records.Min(r => r.Record.CreatedAt)),
            // The kept user's external_id: the root record's, else the oldest one.
            ["external_id"] = (root?.Identifiers.FirstOrDefault(i => i.Identifier.Type == IdentifierTypes.UserId)
                               ?? identifiers.FirstOrDefault(i => i.Identifier.Type == IdentifierTypes.UserId))?.Display,
            // A renamed user's former external ids are kept as aliases of their own label, which Braze does not list as aliases.
            ["user_aliases"] = identifiers.Where(i => i.Identifier.IsAlias && i.Identifier.AliasParts!.Value.Label != BrazeApi.DeprecatedExternalIdLabel)
                .Select(i => new Dictionary<string, string> { ["alias_name"] = i.Identifier.AliasParts!.Value.Name, ["alias_label"] = i.Identifier.AliasParts.Value.Label })
                .ToList(),
            ["braze_id"] = view.Id.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["email"] = identifiers.FirstOrDefault(i => i.Identifier.Type == IdentifierTypes.Email)?.Display,
            ["phone"] = identifiers.FirstOrDefault(i => i.Identifier.Type == IdentifierTypes.Phone)?.Identifier.Value,
        };
        var custom = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in view.Properties)
        {
            var value = JsonElement.Parse(property.Value.Json);
            if (property.Key is IdentifierTypes.Email or IdentifierTypes.Phone)
            {
                // An email or phone another user holds as its identifier, kept here as this user's attribute.
                answer[property.Key] ??= value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            }
            else if (StandardFields.Contains(property.Key))
            {
                answer[property.Key] = value;
            }
            else
            {
                custom[property.Key] = value;
            }
        }
        answer["custom_attributes"] = custom;
        answer["custom_events"] = user.EventSummaries.Where(s => s.Name != BrazeTrack.PurchaseEvent).Select(Summary).ToList();
        var purchases = Purchases(user.NamedEvents);
        answer["purchases"] = purchases.Select(p => Summary(p.Summary)).ToList();
        answer["total_revenue"] = purchases.Sum(p => p.Revenue);
        return fields is null
            ? answer.Where(f => f.Value is not null).ToDictionary()
            : fields.ToDictionary(f => f, f => answer.GetValueOrDefault(f));
    }

    private static Dictionary<string, object> Summary(EventSummary s) =>
        new() { ["name"] = s.Name, ["first"] = VendorTime.Format(s.First), ["last"] = VendorTime.Format(s.Last), ["count"] = s.Count };

    /// <summary>Purchases by product: how many, first and last, and the revenue (price × quantity).</summary>
    private static List<(EventSummary Summary, decimal Revenue)> Purchases(IReadOnlyList<StoredEvent> purchases)
    {
        var byProduct = new Dictionary<string, (long Count, DateTimeOffset First, DateTimeOffset Last, decimal Revenue)>(StringComparer.Ordinal);
        foreach (var purchase in purchases)
        {
            using var document = JsonDocument.Parse(purchase.PropertiesJson);
            var properties = document.RootElement;
            // Purchases are written by /users/track; an event of this name from elsewhere without these fields is skipped.
            if (!properties.TryGetProperty("product_id", out var productElement) || productElement.ValueKind != JsonValueKind.String
                || !properties.TryGetProperty("price", out var price) || price.ValueKind != JsonValueKind.Number || !price.TryGetDecimal(out var amount)
                || Math.Abs(amount) > BrazeTrack.MaxPrice
                || !properties.TryGetProperty("quantity", out var quantity) || quantity.ValueKind != JsonValueKind.Number || !quantity.TryGetInt32(out var count)
                || count is < 1 or > 100)
            {
                continue;
            }
            var product = productElement.GetString()!;
            var revenue = amount * count;
            byProduct[product] = byProduct.TryGetValue(product, out var seen)
                ? (seen.Count + 1, purchase.Time < seen.First ? purchase.Time : seen.First, purchase.Time > seen.Last ? purchase.Time : seen.Last, seen.Revenue + revenue)
                : (1, purchase.Time, purchase.Time, revenue);
        }
        return byProduct.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => (new EventSummary(p.Key, p.Value.Count, p.Value.First, p.Value.Last), p.Value.Revenue)).ToList();
    }
}
