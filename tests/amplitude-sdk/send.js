// Sends two events through Amplitude's official Node SDK to a Selfsame server and prints, as JSON, the result the SDK
// itself reports for each. Usage: node send.js SERVER_URL API_KEY USER_ID DEVICE_ID
const amplitude = require('@amplitude/analytics-node');
const [serverUrl, apiKey, userId, deviceId] = process.argv.slice(2);
(async () => {
  amplitude.init(apiKey, { serverUrl, flushQueueSize: 10, flushIntervalMillis: 100, logLevel: 0 });
  const results = await Promise.all([
    amplitude.track('Button Clicked', { color: 'blue' }, { user_id: userId, device_id: deviceId }).promise,
    amplitude.track('Page Viewed', { path: '/home' }, { device_id: deviceId }).promise,
  ]);
  await amplitude.flush().promise;
  console.log(JSON.stringify(results.map(r => ({ code: r.code, message: r.message, event: r.event.event_type }))));
})();
