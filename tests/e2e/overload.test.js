// Overload: beyond the bounded ingest queue the server answers 503 with Retry-After instead of
// buffering without limit, and whatever it acknowledged is stored.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, basicAuth } = require('./harness');

test('a full ingest queue answers 503 with Retry-After and loses nothing acknowledged', async () => {
  const server = await startServer(undefined, ['--max-queue-mb', '1']);
  try {
    const { write_key: key } = await server.createSource('Flood', 'web');
    const pad = 'x'.repeat(3000);
    let next = 0;
    const body = () => JSON.stringify({ batch: Array.from({ length: 120 }, () => ({
      type: 'track', userId: `flood-${next % 50}`, event: 'Flood', messageId: `flood-${next++}`, properties: { pad },
    })) });
    const statuses = new Map();
    let acked = 0;
    let retryAfter = null;
    await Promise.all(Array.from({ length: 40 }, async () => {
      for (let i = 0; i < 5; i++) {
        const b = body();
        const r = await fetch(`${server.url}/v1/batch`, {
          method: 'POST', headers: { Authorization: basicAuth(key), 'Content-Type': 'application/json' }, body: b,
        });
        statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
        if (r.status === 200) acked += (await r.json()).stored;
        else {
          const e = await r.json();
          assert.equal(r.status, 503, JSON.stringify(e));
          assert.equal(e.error.code, 'unavailable');
          retryAfter = r.headers.get('retry-after');
        }
      }
    }));
    assert.ok(statuses.get(503) > 0, `no 503 under overload: ${JSON.stringify([...statuses])}`);
    assert.ok(statuses.get(200) > 0);
    assert.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
    const health = await server.waitProcessed(30000);
    assert.equal(health.log_seq, acked);
  } finally {
    await server.stop();
  }
});
