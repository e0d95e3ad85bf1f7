// Sends one person's journey through RudderStack's Node SDK, which speaks Segment's spec and gzips its batches by
// default, to Selfsame's Segment surface, and prints, as JSON, what the SDK reported for each call.
// Usage: node run.js DATA_PLANE_URL WRITE_KEY PREFIX   (DATA_PLANE_URL such as http://127.0.0.1:5000/segment; the SDK posts to it + /v1/batch)
const Analytics = require('@rudderstack/rudder-sdk-node');
const [dataPlaneUrl, writeKey, prefix] = process.argv.slice(2);
const client = new Analytics(writeKey, { dataPlaneUrl, flushAt: 20, flushInterval: 200, retryCount: 0, logLevel: 'error' });
const anonymousId = `${prefix}-anon`;
const userId = `${prefix}-user`;
const results = [];
const done = (call) => (error) => results.push({ call, error: error ? String(error.message || error) : null });
client.track({ anonymousId, event: 'Opened App', properties: { build: 42 } }, done('track anonymous'));
client.alias({ previousId: anonymousId, userId }, done('alias'));
client.identify({ userId, traits: { email: `${prefix}@acme.com`, plan: 'team' } }, done('identify'));
client.track({ userId, event: 'Invited Teammate', properties: { seats: 3 } }, done('track'));
client.group({ userId, groupId: `${prefix}-acme`, traits: { name: 'Acme' } }, done('group'));
client.flush((error) => console.log(JSON.stringify({ results, flush: error ? String(error.message || error) : null })));
