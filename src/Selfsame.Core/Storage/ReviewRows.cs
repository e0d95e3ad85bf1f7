using Selfsame.Graph;
using Selfsame.Guardrails;

namespace Selfsame.Storage;

/// <summary>The review_entries columns both stores read, in order, and the entry a row of them makes.</summary>
internal static class ReviewRows
{
    public const string Columns =
        "review_id, rule, status, reason, field, a_type, a_value, a_display, a_record, a_profile, b_type, b_value, b_display, b_record, b_profile, " +
        "surface, key_id, request_id, first_at, last_at, count, decided_at, decided_by_key, decision_request, link_id";

    /// <summary>An entry from a row of <see cref="Columns"/>, read through the store's own accessors (null for SQL NULL).</summary>
    public static ReviewEntry Read(Func<int, long?> number, Func<int, string?> text)
    {
        ReviewSide Side(int i) => new(
            text(i) is { } type && text(i + 1) is { } value ? new Identifier(type, value) : null,
            text(i + 2), number(i + 3) is { } record ? new RecordId(record) : null, number(i + 4) is { } profile ? new ProfileId(profile) : null);
        static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return new ReviewEntry(number(0)!.Value, text(1)!, ReviewStatuses.Parse(text(2))!.Value, text(3)!, text(4)!, Side(5), Side(10),
            text(15)!, text(16), text(17), Time(number(18)!.Value), Time(number(19)!.Value), number(20)!.Value,
            number(21) is { } decided ? Time(decided) : null, text(22), text(23), number(24) is { } link ? new LinkId(link) : null);
    }
}
