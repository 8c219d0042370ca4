// End-to-end with the real @segment/analytics-node and @rudderstack/rudder-sdk-node packages.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { Analytics } = require('@segment/analytics-node');
const RudderAnalytics = require('@rudderstack/rudder-sdk-node');
const { startServer, basicAuth } = require('./harness');

let server;
test.before(async () => { server = await startServer(); });
test.after(async () => { await server.stop(); });

function segment(writeKey) {
  return new Analytics({ writeKey, host: server.url, flushInterval: 50, maxEventsInBatch: 20 });
}

test('web and app anonymous histories merge when the same user logs in on both', async () => {
  const web = await server.createSource('Website', 'web');
  const app = await server.createSource('Mobile app', 'app');
  const webClient = segment(web.write_key);
  const appClient = segment(app.write_key);
  webClient.page({ anonymousId: 'web-anon-1', name: 'Home', properties: { path: '/' } });
  webClient.track({ anonymousId: 'web-anon-1', event: 'Product Viewed', properties: { sku: 'A1' } });
  appClient.screen({ anonymousId: 'app-anon-1', name: 'Catalogue', context: { device: { id: 'iphone-42' } } });
  appClient.track({ anonymousId: 'app-anon-1', event: 'Added To Cart', properties: { sku: 'A1' } });
  await webClient.closeAndFlush();
  await appClient.closeAndFlush();
  await server.waitProcessed();
  const before = await server.profile('anonymous_id:web-anon-1');
  const beforeApp = await server.profile('anonymous_id:app-anon-1');
  assert.notEqual(before.json.tessera_id, beforeApp.json.tessera_id);

  const webLogin = segment(web.write_key);
  webLogin.identify({ userId: 'ada-1', anonymousId: 'web-anon-1', traits: { email: ' Ada@Example.com ', name: 'Ada' } });
  await webLogin.closeAndFlush();
  const appLogin = segment(app.write_key);
  appLogin.identify({ userId: 'ada-1', anonymousId: 'app-anon-1', traits: { plan: 'pro' } });
  await appLogin.closeAndFlush();
  await server.waitProcessed();

  const byEmail = await server.profile('email:ada@example.com');
  assert.equal(byEmail.status, 200, byEmail.text);
  const p = byEmail.json;
  const ids = p.identifiers.map((i) => `${i.kind}:${i.value}`).sort();
  assert.deepEqual(ids, ['anonymous_id:app-anon-1', 'anonymous_id:web-anon-1', 'device_id:iphone-42',
    'email:ada@example.com', 'user_id:ada-1']);
  assert.equal(p.traits.name, 'Ada');
  assert.equal(p.traits.plan, 'pro');
  assert.equal(p.trait_provenance.plan.source, app.id);
  assert.deepEqual(p.sources.map((s) => s.touchpoint).sort(), ['app', 'web']);
  assert.ok(p.merges.some((m) => m.action === 'merge'), JSON.stringify(p.merges));
  for (const ref of ['user_id:ada-1', 'anonymous_id:app-anon-1', `tessera_id:${beforeApp.json.tessera_id}`]) {
    assert.equal((await server.profile(ref)).json.tessera_id, p.tessera_id, ref);
  }
  const events = await server.events('user_id:ada-1', 2);
  assert.equal(events.length, 6);
  assert.deepEqual(events.map((e) => e.type).sort(), ['identify', 'identify', 'page', 'screen', 'track', 'track']);
  for (let i = 1; i < events.length; i++) assert.ok(events[i - 1].timestamp >= events[i].timestamp);
});

test('two users on one shared device stay two profiles', async () => {
  const app = await server.createSource('Family tablet app', 'app');
  const c = segment(app.write_key);
  c.identify({ userId: 'alice', anonymousId: 'tablet-anon', context: { device: { id: 'family-tablet' } } });
  await c.closeAndFlush();
  const c2 = segment(app.write_key);
  c2.identify({ userId: 'bob', anonymousId: 'tablet-anon', context: { device: { id: 'family-tablet' } } });
  await c2.closeAndFlush();
  await server.waitProcessed();
  const alice = (await server.profile('user_id:alice')).json;
  const bob = (await server.profile('user_id:bob')).json;
  assert.notEqual(alice.tessera_id, bob.tessera_id);
  assert.equal(alice.identifiers.filter((i) => i.kind === 'user_id').length, 1);
  assert.equal(bob.identifiers.filter((i) => i.kind === 'user_id').length, 1);
  // The device follows the user who used it last.
  assert.equal((await server.profile('device_id:family-tablet')).json.tessera_id, bob.tessera_id);
});

test('a re-sent batch is stored once', async () => {
  const src = await server.createSource('Retrying backend', 'other');
  const body = JSON.stringify({ batch: [
    { type: 'track', userId: 'retry-user', event: 'Order Completed', messageId: 'order-1', properties: { total: 10 } },
    { type: 'track', userId: 'retry-user', event: 'Order Shipped', messageId: 'order-2' },
  ] });
  const headers = { Authorization: basicAuth(src.write_key), 'Content-Type': 'application/json' };
  const send = () => fetch(`${server.url}/v1/batch`, { method: 'POST', headers, body });
  const first = await (await send()).json();
  const second = await (await send()).json();
  assert.equal(first.success, true);
  assert.equal(first.stored, 2);
  assert.equal(second.stored, 0);
  assert.equal(second.duplicates, 2);
  await server.waitProcessed();
  assert.equal((await server.events('user_id:retry-user')).length, 2);
});

test('a client clock one hour fast is corrected', async () => {
  const src = await server.createSource('Skewed kiosk', 'store');
  const RealDate = Date;
  const skew = 3600 * 1000;
  class SkewedDate extends RealDate {
    constructor(...args) { if (args.length) super(...args); else super(RealDate.now() + skew); }
    static now() { return RealDate.now() + skew; }
  }
  global.Date = SkewedDate;
  let client;
  try {
    client = segment(src.write_key);
    client.track({ userId: 'skewed-user', event: 'Kiosk Used' });
    await client.closeAndFlush();
  } finally {
    global.Date = RealDate;
  }
  await server.waitProcessed();
  const [e] = await server.events('user_id:skewed-user');
  const stored = new Date(e.timestamp).getTime();
  assert.ok(Math.abs(stored - Date.now()) < 60 * 1000, `timestamp ${e.timestamp} not corrected`);
  assert.ok(new Date(e.original_timestamp).getTime() - stored > 50 * 60 * 1000, e.original_timestamp);
});

test('RudderStack SDK with gzip bodies', async () => {
  const src = await server.createSource('Rudder backend', 'web');
  const client = new RudderAnalytics(src.write_key, { dataPlaneUrl: server.url, flushAt: 5, flushInterval: 50 });
  const flushed = [];
  for (let i = 0; i < 12; i++) {
    client.track({ userId: 'rudder-user', event: 'Rudder Event', properties: { i } });
  }
  client.identify({ userId: 'rudder-user', traits: { email: 'rudder@example.com' } });
  flushed.push(new Promise((resolve) => client.flush(resolve)));
  await Promise.all(flushed);
  // The SDK flushes in the background in batches of 5: wait until all 13 are in.
  const deadline = Date.now() + 15000;
  let events = [];
  while (Date.now() < deadline) {
    await server.waitProcessed();
    const r = await server.api('GET', '/v1/profiles/user_id:rudder-user/events?limit=100');
    events = r.status === 200 ? r.json.events : [];
    if (events.length >= 13) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(events.length, 13);
  assert.equal((await server.profile('email:rudder@example.com')).json.traits.email, 'rudder@example.com');
  // And a gzip body sent by hand goes through the same path.
  const gz = zlib.gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'gz-user', event: 'Zipped' }] }));
  const r = await server.api('POST', '/v1/batch', gz, {
    token: null, headers: { Authorization: basicAuth(src.write_key), 'Content-Encoding': 'gzip', 'Content-Type': 'application/json' },
  });
  assert.equal(r.status, 200, r.text);
});

test('an accepted message shows in the profile within one second', async () => {
  const src = await server.createSource('Freshness', 'web');
  for (let i = 0; i < 5; i++) {
    const r = await server.api('POST', '/v1/identify', { userId: `fresh-${i}`, traits: { n: i } }, {
      token: null, headers: { Authorization: basicAuth(src.write_key) },
    });
    assert.equal(r.status, 200, r.text);
    const acked = Date.now();
    let seen = false;
    while (Date.now() - acked < 1000) {
      const p = await server.profile(`user_id:fresh-${i}`);
      if (p.status === 200 && p.json.traits.n === i) { seen = true; break; }
      await new Promise((res) => setTimeout(res, 5));
    }
    assert.ok(seen, `fresh-${i} not visible within 1 s of its 200`);
  }
});
