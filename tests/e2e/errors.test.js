// The ingest and admin API's error answers: status codes and JSON error bodies.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, basicAuth } = require('./harness');

let server;
let key;
test.before(async () => {
  server = await startServer();
  key = (await server.createSource('Errors', 'web')).write_key;
});
test.after(async () => { await server.stop(); });

async function ingest(pathname, body, headers = {}) {
  return server.api('POST', pathname, body, {
    token: null, headers: { Authorization: basicAuth(key), 'Content-Type': 'application/json', ...headers },
  });
}

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  if (code) assert.equal(r.json.error.code, code);
}

test('ingest errors', async () => {
  assertError(await ingest('/v1/track', '{"userId": "u", "event": '), 400, 'invalid_argument');
  assertError(await ingest('/v1/track', { event: 'No Ids' }), 400);
  const batch = await ingest('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'ok', messageId: 'half-1' }, { type: 'track', event: 'bad' }] });
  assertError(batch, 400);
  assert.match(batch.json.error.message, /batch\[1\]/);
  const unknown = await server.api('POST', '/v1/track', { userId: 'u', event: 'x' }, {
    token: null, headers: { Authorization: basicAuth('wk_unknown') } });
  assertError(unknown, 401, 'unauthenticated');
  assertError(await server.api('POST', '/v1/track', { userId: 'u', event: 'x' }, { token: null }), 401);
  assertError(await ingest('/v1/track', { userId: 'u', event: 'x', properties: { big: 'x'.repeat(40 * 1024) } }), 413);
  const many = { batch: Array.from({ length: 20 }, (_, i) => ({ type: 'track', userId: 'u', event: 'x', properties: { pad: 'y'.repeat(30 * 1024), i } })) };
  assertError(await ingest('/v1/batch', many), 413);
  assertError(await ingest('/v1/track', 'xx', { 'Content-Encoding': 'br' }), 415);
  // Nothing of the rejected requests was stored.
  const health = (await server.api('GET', '/healthz')).json;
  assert.equal(health.log_seq, 0);
  // The body writeKey works like Basic auth.
  const r = await server.api('POST', '/v1/track', { userId: 'u', event: 'x', writeKey: key }, { token: null });
  assert.equal(r.status, 200, r.text);
});

test('admin endpoints need the admin token; a write key only writes', async () => {
  assertError(await server.api('GET', '/v1/sources', undefined, { token: null }), 401);
  assertError(await server.api('GET', '/v1/sources', undefined, { token: 'wrong' }), 401);
  assertError(await server.api('GET', '/v1/profiles/user_id:u', undefined, {
    token: null, headers: { Authorization: basicAuth(key) } }), 403, 'permission_denied');
  const list = await server.api('GET', '/v1/sources');
  assert.equal(list.status, 200);
  assert.ok(list.json.sources.every((s) => s.write_key === undefined));
  assertError(await server.api('POST', '/v1/sources', { name: 'x', touchpoint: 'fax' }), 400);
  assertError(await server.api('POST', '/v1/sources', { name: 'Errors', touchpoint: 'web' }), 409);
  assertError(await server.api('GET', '/v1/profiles/user_id:nobody'), 404, 'not_found');
  assertError(await server.api('GET', '/v1/profiles/nokind'), 400);
  // user_id:u's profile exists once the track of the first test is processed (not at its ack).
  await server.waitProcessed();
  assertError(await server.api('GET', '/v1/profiles/user_id:u/events?limit=0'), 400);
  assertError(await server.api('GET', '/v1/profiles/user_id:u/events?cursor=zz'), 400);
  const metrics = await server.api('GET', '/metrics');
  assert.match(metrics.text, /tessera_ingest_events_total/);
  assert.match(metrics.text, /tessera_pipeline_lag_events/);
});
