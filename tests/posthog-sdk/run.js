// Sends one person's journey through PostHog's Node library, which gzips its batches and posts them to HOST + /batch/,
// to Selfsame's PostHog surface, and prints, as JSON, the errors the library reported (none when all went through).
// Usage: node run.js HOST API_KEY PREFIX   (HOST such as http://127.0.0.1:5000/posthog)
const { PostHog } = require('posthog-node');
const [host, apiKey, prefix] = process.argv.slice(2);
const client = new PostHog(apiKey, { host, flushAt: 100, flushInterval: 0, fetchRetryCount: 0 });
const errors = [];
client.on('error', (error) => errors.push(String(error && (error.message || error))));
const anonymous = `${prefix}-anon`;
const user = `${prefix}-user`;
client.capture({ distinctId: anonymous, event: 'viewed pricing', properties: { plan: 'team' } });
// As posthog-node documents it: the anonymous id is the distinct id and the user id its alias, which joins it; the identify
// that follows makes the alias a user id.
client.alias({ distinctId: anonymous, alias: user });
client.identify({ distinctId: user, properties: { $set: { name: 'Ann', email: `${prefix}@acme.com` }, $set_once: { first_seen_plan: 'team' } } });
client.capture({ distinctId: user, event: 'invited teammate', properties: { seats: 3 }, groups: { company: `${prefix}-acme` } });
client.groupIdentify({ groupType: 'company', groupKey: `${prefix}-acme`, properties: { name: 'Acme' } });
// An event that asks for no person profile, from an id nobody holds: stored nowhere and listed as refused, no record made.
client.capture({ distinctId: `${prefix}-ghost`, event: 'viewed docs', properties: { $process_person_profile: false } });
client.shutdown(10000).then(
  () => console.log(JSON.stringify({ errors })),
  (error) => console.log(JSON.stringify({ errors: [...errors, String(error && (error.message || error))] })));
