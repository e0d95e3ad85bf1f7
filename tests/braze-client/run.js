// Drives a Selfsame server through the community Braze client (braze-api), pointed at Selfsame's /braze base URL, and
// prints as JSON what the client returned for each call, or the ResponseError it threw.
// Usage: node run.js BASE_URL API_KEY PREFIX
const { Braze } = require('braze-api');
const [baseUrl, apiKey, prefix] = process.argv.slice(2);
const braze = new Braze(baseUrl, apiKey);
const wrong = new Braze(baseUrl, 'ss_000000000000_not-a-key');

async function attempt(call) {
  try {
    return { ok: await call() };
  } catch (e) {
    return { error: { message: e.message, status: e.status, errors: e.errors ?? null } };
  }
}

(async () => {
  const alias = { alias_name: `${prefix}-visitor`, alias_label: 'web' };
  const results = {};
  results.aliasNew = await attempt(() => braze.users.alias.new({ user_aliases: [alias] }));
  results.trackAlias = await attempt(() => braze.users.track({
    attributes: [{ user_alias: alias, _update_existing_only: false, plan: 'trial', color: 'red' }],
  }));
  results.trackUser = await attempt(() => braze.users.track({
    attributes: [{ external_id: `${prefix}-user`, plan: 'pro' }],
    events: [{ external_id: `${prefix}-user`, name: 'signed_in', time: '2026-11-20T10:00:00Z' }],
  }));
  results.identify = await attempt(() => braze.users.identify({
    aliases_to_identify: [{ external_id: `${prefix}-user`, user_alias: alias }],
  }));
  results.trackOther = await attempt(() => braze.users.track({ attributes: [{ external_id: `${prefix}-other`, city: 'Oslo' }] }));
  results.merge = await attempt(() => braze.users.merge({
    merge_updates: [{ identifier_to_merge: { external_id: `${prefix}-other` }, identifier_to_keep: { external_id: `${prefix}-user` } }],
  }));
  results.export = await attempt(() => braze.users.export.ids({ external_ids: [`${prefix}-user`, `${prefix}-other`, `${prefix}-nobody`] }));
  results.wrongKey = await attempt(() => wrong.users.alias.new({ user_aliases: [alias] }));
  results.tooMany = await attempt(() => braze.users.alias.new({
    user_aliases: Array.from({ length: 51 }, (_, i) => ({ alias_name: `${prefix}-${i}`, alias_label: 'bulk' })),
  }));
  console.log(JSON.stringify(results));
})();
