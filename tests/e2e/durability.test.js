// Acknowledged means durable: senders post batches while the server is killed with SIGKILL at
// random moments and restarted on the same data dir. Unacknowledged batches are re-sent (as an
// SDK retries). At the end every acknowledged messageId must be in the log exactly once, and the
// profiles derived after all the crashes must account for every event.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { startServer, Server, basicAuth, sleep } = require('./harness');

const seed = Number(process.env.TESSERA_SEED || Date.now() % 100000);
let state = seed;
function rand() { // xorshift, seeded so that a failure can be replayed
  state ^= state << 13; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
  return state / 4294967296;
}

test(`kill -9 loses no acknowledged event (seed ${seed})`, { timeout: 240000 }, async () => {
  let server = await startServer();
  const { write_key: key } = await server.createSource('Durability', 'web');
  const users = 40;
  const acked = new Set();
  const pending = []; // batches not yet acknowledged: re-sent after a restart
  let next = 0;

  function makeBatch() {
    const batch = [];
    const n = 1 + Math.floor(rand() * 50);
    for (let i = 0; i < n; i++) {
      const id = `dur-${seed}-${next++}`;
      const u = Math.floor(rand() * users);
      const msg = rand() < 0.2
        ? { type: 'identify', userId: `u${u}`, anonymousId: `anon-${u}-${Math.floor(rand() * 3)}`, traits: { n: next }, messageId: id }
        : { type: 'track', userId: `u${u}`, event: 'Tick', properties: { n: next }, messageId: id };
      batch.push(msg);
    }
    return batch;
  }

  async function sendLoop(stopAt) {
    while (Date.now() < stopAt) {
      const batch = pending.length ? pending.shift() : makeBatch();
      try {
        const r = await fetch(`${server.url}/v1/batch`, {
          method: 'POST',
          headers: { Authorization: basicAuth(key), 'Content-Type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        if (r.status === 200) {
          for (const m of batch) acked.add(m.messageId);
          continue;
        }
        pending.push(batch);
        if (r.status !== 503) assert.fail(`unexpected status ${r.status}: ${await r.text()}`);
      } catch (_) {
        pending.push(batch); // connection refused or reset by the kill
        await sleep(20);
      }
    }
  }

  for (let round = 0; round < 4; round++) {
    const runFor = 300 + Math.floor(rand() * 900);
    const stopAt = Date.now() + runFor + 300;
    const senders = Array.from({ length: 6 }, () => sendLoop(stopAt));
    await sleep(runFor);
    await server.stop('SIGKILL');
    await Promise.all(senders);
    server = await new Server(server.dataDir, server.port).start();
  }
  // Re-send what was never acknowledged, then check.
  while (pending.length) {
    const batch = pending.shift();
    const r = await fetch(`${server.url}/v1/batch`, {
      method: 'POST',
      headers: { Authorization: basicAuth(key), 'Content-Type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    assert.equal(r.status, 200);
    for (const m of batch) acked.add(m.messageId);
  }
  await server.waitProcessed(60000);
  assert.ok(acked.size > 100, `only ${acked.size} events acknowledged`);

  const seen = new Map();
  const profiles = {};
  let profileEvents = 0;
  for (let u = 0; u < users; u++) {
    const r = await server.profile(`user_id:u${u}`);
    if (r.status === 404) continue;
    assert.equal(r.status, 200, r.text);
    profiles[u] = r.json;
    const events = await server.events(`user_id:u${u}`);
    assert.equal(events.length, r.json.event_count, `u${u}: timeline and profile disagree`);
    profileEvents += events.length;
    for (const e of events) seen.set(e.message_id, (seen.get(e.message_id) || 0) + 1);
  }
  for (const id of acked) assert.equal(seen.get(id), 1, `${id} acknowledged but seen ${seen.get(id) || 0} times`);
  const health = (await server.api('GET', '/healthz')).json;
  assert.equal(health.log_seq, seen.size, 'the log holds exactly the distinct messages');
  assert.equal(profileEvents, seen.size);
  await server.stop();

  // Derived state is a function of the log: rebuilding it offline gives the same profiles.
  const rebuilt = spawnSync(process.env.TESSERA_BIN, ['rebuild', '--data-dir', server.dataDir], { encoding: 'utf8' });
  assert.equal(rebuilt.status, 0, rebuilt.stderr);
  server = await new Server(server.dataDir, server.port).start();
  for (const [u, before] of Object.entries(profiles)) {
    const after = await server.profile(`user_id:u${u}`);
    assert.deepEqual(after.json, before, `u${u} differs after rebuild`);
  }
  await server.stop();
});
