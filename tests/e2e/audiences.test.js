// Audiences and computed traits over HTTP, against the real binary: define, backfill, live
// entries from ingested events, members (pages, CSV, NDJSON), preview, profile memberships and
// history, versions, deletion, errors, and a restart.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, basicAuth, sleep } = require('./harness');

async function eventually(what, fn, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('audiences: define, backfill, live entry, members, preview, versions, deletion', async () => {
  const server = await startServer();
  try {
    const shop = await server.createSource('Shop', 'store');
    const web = await server.createSource('Web', 'web');
    const send = (src, batch) => server.api('POST', '/v1/batch', { batch }, { token: null, headers: { Authorization: basicAuth(src.write_key) } });

    // 40 customers; every fourth is on the pro plan; customers 0..9 bought twice in the shop.
    const batch = [];
    for (let i = 0; i < 40; i++) {
      batch.push({ type: 'identify', userId: `c${i}`, traits: { plan: i % 4 === 0 ? 'pro' : 'free', email: `c${i}@example.com` } });
    }
    for (let i = 0; i < 10; i++) {
      for (let k = 0; k < 2; k++) batch.push({ type: 'track', userId: `c${i}`, event: 'Order Completed', properties: { total: 60 } });
    }
    assert.equal((await send(shop, batch)).status, 200);
    await server.waitProcessed();

    // Trait-only audience over existing profiles: 201 once backfilled, with its size.
    let r = await server.api('POST', '/v1/audiences', { name: 'Pro plan', condition: 'trait plan = "pro"' });
    assert.equal(r.status, 201, r.text);
    const pro = r.json;
    assert.match(pro.id, /^aud_/);
    assert.equal(pro.version, 1);
    assert.equal(pro.size, 10);
    assert.equal(pro.status, 'ready');
    assert.deepEqual(pro.condition, { trait: 'plan', op: 'eq', value: 'pro' });

    // The JSON form is accepted too, and an event condition with a window.
    r = await server.api('POST', '/v1/audiences', {
      name: 'Shop buyers',
      condition: 'performed "Order Completed" at least 2 times from touchpoint store in last 30 days',
    });
    assert.equal(r.status, 201, r.text);
    const buyers = r.json;
    assert.equal(buyers.size, 10);

    r = await server.api('POST', '/v1/audiences', { name: 'Pro buyers', condition: { and: [{ audience: 'Pro plan' }, { audience: buyers.id }] } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.size, 3);  // c0, c4, c8

    // Members: pages with a cursor, then CSV and NDJSON exports of all.
    const seen = [];
    let cursor = null;
    do {
      r = await server.api('GET', `/v1/audiences/${buyers.id}/members?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, r.text);
      seen.push(...r.json.members.map((m) => m.tessera_id));
      for (const m of r.json.members) assert.match(m.entered_at, /^\d{4}-\d\d-\d\dT/);
      cursor = r.json.next_cursor;
    } while (cursor);
    assert.equal(seen.length, 10);
    assert.equal(new Set(seen).size, 10);
    r = await server.api('GET', `/v1/audiences/${buyers.id}/members?format=csv`);
    assert.equal(r.headers.get('content-type'), 'text/csv');
    assert.equal(r.text.trim().split('\n').length, 11);
    assert.equal(r.text.split('\n')[0], 'tessera_id,entered_at');
    r = await server.api('GET', `/v1/audiences/${buyers.id}/members?format=ndjson`);
    assert.equal(r.text.trim().split('\n').map((l) => JSON.parse(l)).length, 10);

    // Live: a web customer buys twice in the shop and enters; the entry is on their timeline.
    assert.equal((await send(shop, [
      { type: 'track', userId: 'c21', event: 'Order Completed', properties: { total: 5 } },
      { type: 'track', userId: 'c21', event: 'Order Completed', properties: { total: 7 } },
    ])).status, 200);
    await eventually('c21 to enter', async () => (await server.api('GET', `/v1/audiences/${buyers.id}`)).json.size === 11);
    const memberships = (await server.api('GET', '/v1/profiles/user_id:c21/audiences')).json;
    assert.deepEqual(memberships.audiences.map((a) => a.name), ['Shop buyers']);
    assert.equal(memberships.history[0].event, 'entered');
    assert.equal(memberships.history[0].reason, 'event');
    const timeline = await eventually('the entry on the timeline', async () => {
      const ev = await server.events('user_id:c21');
      return ev.some((e) => e.event === 'Audience Entered') && ev;
    });
    const entered = timeline.find((e) => e.event === 'Audience Entered');
    assert.equal(entered.message.properties.audience_id, buyers.id);
    assert.equal(entered.message.properties.audience_name, 'Shop buyers');

    // Preview: size and a sample, nothing saved.
    r = await server.api('POST', '/v1/audiences/preview', { condition: 'trait plan = "free" and has email' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.size, 30);
    assert.equal(r.json.sample.length, 20);
    assert.equal((await server.api('GET', '/v1/audiences')).json.audiences.length, 3);

    // A change is a new version, and membership is recomputed.
    r = await server.api('PUT', `/v1/audiences/${pro.id}`, { condition: 'trait plan in ["pro", "free"]' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 2);
    assert.equal(r.json.size, 40);

    // Deleting: refused while another audience reads it; then everyone exits.
    r = await server.api('DELETE', `/v1/audiences/${pro.id}`);
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, 'conflict');
    const proBuyers = (await server.api('GET', '/v1/audiences')).json.audiences.find((a) => a.name === 'Pro buyers');
    assert.equal((await server.api('DELETE', `/v1/audiences/${proBuyers.id}`)).status, 204);
    assert.equal((await server.api('GET', `/v1/audiences/${proBuyers.id}`)).status, 404);

    // Errors name the problem.
    r = await server.api('POST', '/v1/audiences', { name: 'Broken', condition: 'trait plan =' });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /^condition: line 1, column 13: expected/);
    r = await server.api('POST', '/v1/audiences', { name: 'Broken', condition: { and: [{ trait: 'a', op: 'exists' }, { trait: 'b', op: 'nope' }] } });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /\$\.and\[1\]\.op/);
    r = await server.api('POST', '/v1/audiences', { name: 'Shop buyers', condition: 'has email' });
    assert.equal(r.status, 409);
    r = await server.api('POST', '/v1/audiences', { name: 'Loop', condition: 'in audience "nobody"' });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /unknown audience "nobody"/);
    r = await server.api('GET', '/v1/audiences', undefined, { token: null, headers: { Authorization: basicAuth(web.write_key) } });
    assert.ok(r.status === 401 || r.status === 403, String(r.status));
  } finally {
    await server.stop();
  }
});

test('computed traits: values on profiles, usable in audiences, kept over a restart', async () => {
  const server = await startServer();
  try {
    const shop = await server.createSource('Shop', 'store');
    const send = (batch) => server.api('POST', '/v1/batch', { batch }, { token: null, headers: { Authorization: basicAuth(shop.write_key) } });
    let r = await server.api('POST', '/v1/computed-traits', { name: 'spend_90d', aggregate: 'sum of properties.total over "Order Completed" in last 90 days' });
    assert.equal(r.status, 201, r.text);
    const spend = r.json;
    assert.match(spend.id, /^ct_/);
    r = await server.api('POST', '/v1/audiences', { name: 'Big spenders', condition: 'trait spend_90d >= 100' });
    assert.equal(r.status, 201, r.text);
    const big = r.json;

    assert.equal((await send([
      { type: 'track', userId: 'ada', event: 'Order Completed', properties: { total: 70 } },
      { type: 'track', userId: 'ada', event: 'Order Completed', properties: { total: 40 } },
      { type: 'track', userId: 'bob', event: 'Order Completed', properties: { total: 10 } },
      { type: 'identify', userId: 'bob', traits: { name: 'Bob' }, context: { consent: { categoryPreferences: { email: true } } } },
    ])).status, 200);
    const ada = await eventually('spend_90d on ada', async () => {
      const p = (await server.profile('user_id:ada')).json;
      return p && p.traits && p.traits.spend_90d === 110 && p;
    });
    assert.deepEqual(ada.trait_provenance.spend_90d, { source: 'computed_trait', computed_trait: spend.id });
    await eventually('ada to be a big spender', async () => (await server.api('GET', `/v1/audiences/${big.id}`)).json.size === 1);
    const bob = (await server.profile('user_id:bob')).json;
    assert.equal(bob.consent.email.granted, true);

    r = await server.api('GET', `/v1/computed-traits/${spend.id}/members`);
    assert.equal(r.json.members.length, 2);
    assert.deepEqual(r.json.members.map((m) => m.value).sort((a, b) => a - b), [10, 110]);
    r = await server.api('POST', '/v1/computed-traits/preview', { aggregate: 'count of "Order Completed"' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.size, 2);
    r = await server.api('POST', '/v1/computed-traits', { name: 'not a name', aggregate: 'count of any event' });
    assert.equal(r.status, 400);

    // A restart keeps definitions, values and memberships.
    await server.stop();
    await server.start();
    assert.equal((await server.api('GET', `/v1/audiences/${big.id}`)).json.size, 1);
    assert.equal((await server.profile('user_id:ada')).json.traits.spend_90d, 110);
    assert.equal((await server.api('GET', '/v1/computed-traits')).json.computed_traits.length, 1);
  } finally {
    await server.stop();
  }
});
