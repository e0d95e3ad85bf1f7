// Sends one person's journey through Segment's official Node library to a Selfsame server (anonymous visit, alias on
// sign-up, identify with traits, track, page, group) and prints, as JSON, what the library reported for each call.
// Usage: node run.js HOST WRITE_KEY PREFIX   (HOST such as http://127.0.0.1:5000; the library posts to HOST/segment/v1/batch,
// its path replacing any path of the host)
const { Analytics } = require('@segment/analytics-node');
const [host, writeKey, prefix] = process.argv.slice(2);
const analytics = new Analytics({ writeKey, host, path: '/segment/v1/batch', flushAt: 50, flushInterval: 200, maxRetries: 1 });
const anonymousId = `${prefix}-anon`;
const userId = `${prefix}-user`;
const results = [];
const failures = [];
analytics.on('error', (error) => failures.push(String(error?.reason?.message ?? error?.message ?? JSON.stringify(error))));
const done = (call) => (error) => results.push({ call, error: error ? String(error.message || error) : null });
analytics.identify({ anonymousId, traits: { referrer: 'ad' } }, done('identify anonymous'));
analytics.track({ anonymousId, event: 'Viewed Pricing', properties: { plan: 'pro' } }, done('track anonymous'));
analytics.alias({ previousId: anonymousId, userId }, done('alias'));
analytics.identify({ userId, traits: { email: `${prefix}@acme.com`, name: 'Ann', address: { city: 'Oslo' } } }, done('identify'));
analytics.track({ userId, event: 'Signed Up', properties: { plan: 'pro' } }, done('track'));
analytics.page({ userId, name: 'Home', properties: { path: '/' } }, done('page'));
analytics.group({ userId, groupId: `${prefix}-acme`, traits: { name: 'Acme', employees: 12 } }, done('group'));
analytics.closeAndFlush({ timeout: 20000 }).then(() => console.log(JSON.stringify({ results, failures })));
