using System.Globalization;

namespace Selfsame.Bench;

/// <summary>An identifier as a client sends it: a type and a value, already in the form the server stores.</summary>
public readonly record struct SentIdentifier(string Type, string Value);

/// <summary>One native identify call: the user_id when the person logs in, and the other identifiers (the first of them
/// is the primary when there is no user_id).</summary>
public sealed record IdentifyCall(string? UserId, IReadOnlyList<SentIdentifier> Identifiers)
{
    /// <summary>Every identifier of the call, the primary first: the user_id when there is one.</summary>
    public IEnumerable<SentIdentifier> All =>
        UserId is null ? Identifiers : Identifiers.Prepend(new SentIdentifier(IdentityPopulation.UserId, UserId));
}

/// <summary>
/// A synthetic population with its ground truth, and the identify traffic it sends, both from one seed. Each person has
/// 1 to 3 devices; 60% are registered (a user_id), 20% are known by email only, 20% are anonymous visitors (one device and
/// nothing else, since two devices that never identify cannot be told apart from two people). Registered and email-only
/// people have 1 or 2 emails and, about half of them, a phone of their own. 5% of registered people share one of their
/// devices with another registered person, who logs in on it too; 3% of all people once type a junk email into a form
/// instead of their own.
/// </summary>
public sealed class IdentityPopulation
{
    public const string UserId = "user_id";
    public const string DeviceId = "device_id";
    public const string Email = "email";
    public const string Phone = "phone";

    /// <summary>The owner of a junk email: nobody.</summary>
    public const int Nobody = -1;

    /// <summary>The owner of a family device: two people at once, so the device is left out of the scoring.</summary>
    public const int Shared = -2;

    private static readonly string[] JunkEmails = ["test@test.com", "none@none.com", "example@example.com", "noreply@gmail.com", "a@a.com"];

    private sealed record Person(int Index, string? UserId, IReadOnlyList<string> Devices, IReadOnlyList<string> Emails, string? Phone)
    {
        public List<IdentifyCall> Timeline { get; } = [];
    }

    private readonly Dictionary<SentIdentifier, int> _owners = [];
    private readonly HashSet<int> _junkTypers = [];
    private readonly HashSet<int> _sharers = [];

    private IdentityPopulation(IReadOnlyList<IdentifyCall> calls) => Calls = calls;

    /// <summary>The traffic: each person's sessions in their own order, people interleaved at random.</summary>
    public IReadOnlyList<IdentifyCall> Calls { get; }

    public int Registered { get; private init; }
    public int EmailOnly { get; private init; }
    public int Anonymous { get; private init; }
    public int SharedDevices { get; private init; }
    public int JunkTypers => _junkTypers.Count;

    /// <summary>The person an identifier belongs to (0 and up), <see cref="Nobody"/> for a junk email, <see cref="Shared"/>
    /// for a family device.</summary>
    public int Owner(SentIdentifier identifier) => _owners[identifier];

    /// <summary>Whether the person once typed a junk email.</summary>
    public bool TypedJunk(int person) => _junkTypers.Contains(person);

    /// <summary>Whether the person shares a device (as its owner or as the other one who logs in on it).</summary>
    public bool SharesDevice(int person) => _sharers.Contains(person);

    public static IdentityPopulation Generate(int people, int seed)
    {
        var random = new Random(seed);
        var persons = new List<Person>(people);
        for (var i = 0; i < people; i++)
        {
            persons.Add(NewPerson(i, random));
        }

        var registered = persons.Where(p => p.UserId is not null).ToList();
        var sharedDevices = new HashSet<string>();
        var sharing = new HashSet<int>();
        foreach (var owner in registered)
        {
            if (random.NextDouble() >= 0.05 || sharing.Contains(owner.Index))
            {
                continue;
            }
            var other = registered[random.Next(registered.Count)];
            if (other == owner || sharing.Contains(other.Index))
            {
                continue; // a person shares one device at most
            }
            sharing.Add(owner.Index);
            sharing.Add(other.Index);
            var device = owner.Devices[random.Next(owner.Devices.Count)];
            sharedDevices.Add(device);
            Insert(other.Timeline, new IdentifyCall(other.UserId, [new(DeviceId, device)]), random);
        }

        var junkTypers = new List<int>();
        foreach (var person in persons.Where(p => p.Emails.Count > 0))
        {
            // 3% of all people are 3.75% of the 80% who ever type an email.
            if (random.NextDouble() < 0.0375)
            {
                junkTypers.Add(person.Index);
                var device = person.Devices[random.Next(person.Devices.Count)];
                var junk = JunkEmails[random.Next(JunkEmails.Length)];
                Insert(person.Timeline, new IdentifyCall(null, [new(DeviceId, device), new(Email, junk)]), random);
            }
        }

        var turns = persons.SelectMany(p => Enumerable.Repeat(p.Index, p.Timeline.Count)).ToArray();
        random.Shuffle(turns);
        var next = new int[people];
        var calls = turns.Select(person => persons[person].Timeline[next[person]++]).ToList();

        var population = new IdentityPopulation(calls)
        {
            Registered = registered.Count,
            EmailOnly = persons.Count(p => p.UserId is null && p.Emails.Count > 0),
            Anonymous = persons.Count(p => p.Emails.Count == 0),
            SharedDevices = sharedDevices.Count,
        };
        population._junkTypers.UnionWith(junkTypers);
        population._sharers.UnionWith(sharing);
        foreach (var person in persons)
        {
            foreach (var device in person.Devices)
            {
                population._owners[new(DeviceId, device)] = sharedDevices.Contains(device) ? Shared : person.Index;
            }
            foreach (var email in person.Emails)
            {
                population._owners[new(Email, email)] = person.Index;
            }
            if (person.Phone is not null)
            {
                population._owners[new(Phone, person.Phone)] = person.Index;
            }
            if (person.UserId is not null)
            {
                population._owners[new(UserId, person.UserId)] = person.Index;
            }
        }
        foreach (var junk in JunkEmails)
        {
            population._owners[new(Email, junk)] = Nobody;
        }
        return population;
    }

    /// <summary>A person and their sessions, device by device: one or two anonymous visits, then (unless anonymous) a form
    /// with an email, or for a registered person a sign-up form on the first device and a login on each.</summary>
    private static Person NewPerson(int i, Random random)
    {
        var n = i.ToString(CultureInfo.InvariantCulture);
        var kind = random.NextDouble();
        var anonymous = kind is >= 0.6 and < 0.8;
        var devices = Enumerable.Range(0, anonymous ? 1 : random.Next(1, 4)).Select(k => $"d{n}.{k}").ToList();
        List<string> emails = anonymous ? [] : new[] { $"p{n}@mail.acme.org", $"p{n}.second@post.acme.net" }.Take(random.Next(1, 3)).ToList();
        // +1 415 200-0000 and up: a number of its own per person.
        var phone = !anonymous && random.NextDouble() < 0.5 ? "+1415" + (2_000_000 + i).ToString(CultureInfo.InvariantCulture) : null;
        var person = new Person(i, kind < 0.6 ? $"u{n}" : null, devices, emails, phone);

        for (var k = 0; k < devices.Count; k++)
        {
            SentIdentifier device = new(DeviceId, devices[k]);
            for (var visit = random.Next(1, 3); visit > 0; visit--)
            {
                person.Timeline.Add(new IdentifyCall(null, [device]));
            }
            if (person.UserId is not null)
            {
                if (k == 0)
                {
                    person.Timeline.Add(new IdentifyCall(null, [device, new(Email, emails[0])]));
                }
                List<SentIdentifier> login = [device];
                if (random.NextDouble() < 0.5)
                {
                    login.Add(new(Email, emails[k % emails.Count]));
                }
                if (phone is not null && random.NextDouble() < 0.3)
                {
                    login.Add(new(Phone, phone));
                }
                person.Timeline.Add(new IdentifyCall(person.UserId, login));
            }
            else if (!anonymous)
            {
                List<SentIdentifier> form = [device, new(Email, emails[0])];
                if (phone is not null && random.NextDouble() < 0.3)
                {
                    form.Add(new(Phone, phone));
                }
                person.Timeline.Add(new IdentifyCall(null, form));
                if (k == devices.Count - 1 && emails.Count > 1)
                {
                    person.Timeline.Add(new IdentifyCall(null, [device, new(Email, emails[1])]));
                }
            }
        }
        return person;
    }

    private static void Insert(List<IdentifyCall> timeline, IdentifyCall call, Random random) =>
        timeline.Insert(random.Next(timeline.Count + 1), call);
}
