// Probabilistic record linkage in the server, against the real binary: two touchpoints' customer
// files with no shared key (FEBRL 4: a shop's 5,000 records and a CRM's 5,000 corrupted copies)
// arrive through the Segment API; the engine trains on its own once there are enough, inferring
// the settings from the trait names; true pairs become one profile; the review queue is worked through; an unlink gives both profiles back as
// they were; everything survives a kill -9; a new record is linked as it arrives; a linked
// record that changes so that it no longer matches is separated again.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, Server, basicAuth, sleep } = require('./harness');

const shared = process.env.TESSERA_SHARED_DATA ||
  path.join(process.env.TESSERA_SOURCE_DIR || path.join(__dirname, '..', '..'), '..', 'shared', 'data');
const febrl = path.join(shared, 'febrl');

function readCsv(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = lines[0].split(',').map((s) => s.trim());
  return lines.slice(1).map((line) => {
    const cells = line.split(',').map((s) => s.trim());
    const row = {};
    header.forEach((h, i) => { row[h] = cells[i] || ''; });
    return row;
  });
}

async function eventually(what, fn, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// One identify per record: the record id is the touchpoint's own user id; every other column a
// trait (empty cells left out, as `tessera import` does).
function identify(prefix, row) {
  const traits = {};
  for (const [k, v] of Object.entries(row)) {
    if (k !== 'rec_id' && v !== '') traits[k] = v;
  }
  return { type: 'identify', userId: `${prefix}-${row.rec_id}`, traits, messageId: `${prefix}-${row.rec_id}` };
}

async function sendAll(server, source, messages) {
  for (let i = 0; i < messages.length; i += 500) {
    const r = await server.api('POST', '/v1/batch', { batch: messages.slice(i, i + 500) },
      { token: null, headers: { Authorization: basicAuth(source.write_key) } });
    assert.equal(r.status, 200, r.text);
  }
}

const linkedIds = (p) => new Set([p.tessera_id, ...(p.linked_profiles || [])]);

test('linkage: train, link true pairs, review, unlink, restart, live linking', { timeout: 600000 }, async () => {
  const shop = readCsv(path.join(febrl, 'dataset4a.csv'));
  const crm = readCsv(path.join(febrl, 'dataset4b.csv'));
  const truth = readCsv(path.join(febrl, 'truth', 'dataset4_pairs.csv'));
  assert.equal(shop.length, 5000);
  assert.equal(crm.length, 5000);

  let server = await startServer();
  try {
    const shopSrc = await server.createSource('Shop', 'store');
    const crmSrc = await server.createSource('CRM', 'crm');
    // One true pair first, kept as its profiles are before anything is linked, to compare after
    // the unlink.
    const sample = truth.slice(0, 200);
    const [keepL, keepR] = [`user_id:shop-${sample[0].rec_id_l}`, `user_id:crm-${sample[0].rec_id_r}`];
    const keptRows = { l: shop.find((row) => row.rec_id === sample[0].rec_id_l), r: crm.find((row) => row.rec_id === sample[0].rec_id_r) };
    await sendAll(server, shopSrc, [identify('shop', keptRows.l)]);
    await sendAll(server, crmSrc, [identify('crm', keptRows.r)]);
    await server.waitProcessed(60000);
    const before = { l: (await server.profile(keepL)).json, r: (await server.profile(keepR)).json };
    const beforeEvents = { l: await server.events(keepL), r: await server.events(keepR) };
    assert.equal(before.l.linked_profiles, undefined);
    // Two profiles: far below the automatic training's minimum; nothing is linked.
    let r = await server.api('GET', '/v1/linkage/status');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'inactive');
    assert.equal(r.json.auto_train.enabled, true);
    assert.equal(r.json.auto_train.min_profiles, 1000);
    assert.deepEqual(r.json.trainings, []);
    r = await server.api('GET', '/v1/linkage/settings');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.stored, false);

    // Everyone else: once 1,000 profiles exist the engine trains on its own (settings inferred
    // from the trait names, then stored), and again as the profiles double.
    await sendAll(server, shopSrc, shop.filter((row) => row !== keptRows.l).map((row) => identify('shop', row)));
    await sendAll(server, crmSrc, crm.filter((row) => row !== keptRows.r).map((row) => identify('crm', row)));
    await server.waitProcessed(60000);
    r = await eventually('the automatic trainings', async () => {
      const s = await server.api('GET', '/v1/linkage/status');
      const j = s.json;
      return j.model && j.state === 'ready' && !j.auto_train.training && j.auto_train.next_at_profiles > 10000 ? s : null;
    });
    assert.equal(r.json.model.trigger, 'auto');
    assert.ok(r.json.model.population > 5000, JSON.stringify(r.json.model));
    const autoTrainings = r.json.trainings;
    assert.ok(autoTrainings.every((t) => t.trigger === 'auto'), JSON.stringify(autoTrainings));
    assert.match(autoTrainings[autoTrainings.length - 1].reason, /^first training: \d+ profiles \(min_profiles 1000\)$/);
    if (autoTrainings.length > 1) assert.match(autoTrainings[0].reason, /^profiles grew from \d+ to \d+ \(growth 2\)$/);
    r = await server.api('GET', '/v1/linkage/settings');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.stored, true);
    const compared = r.json.comparisons.map((c) => c.column).sort();
    for (const c of ['given_name', 'surname', 'date_of_birth', 'soc_sec_id', 'postcode']) {
      assert.ok(compared.includes(c), `${c} compared: ${compared}`);
    }
    assert.deepEqual(r.json.fields.surname, ['trait:surname']);
    assert.deepEqual(r.json.auto_train, { enabled: true, min_profiles: 1000, growth: 2 });
    // Store them with a wider review band (FEBRL's pairs are well separated: the default band
    // [0.1, 0.5) catches nothing here), training by hand from now on.
    const settings = { ...r.json, review_low: 0.001, auto_train: { enabled: false } };
    r = await server.api('PUT', '/v1/linkage/settings', settings);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 2);
    assert.equal(r.json.review_low, 0.001);
    assert.equal(r.json.auto_train.enabled, false);
    assert.equal((await server.api('GET', '/v1/linkage/settings')).json.stored, true);
    assert.equal((await server.api('GET', '/v1/linkage/status')).json.state, 'inactive');

    // Errors: 400 naming the path, admin token required.
    r = await server.api('PUT', '/v1/linkage/settings', { threshold: 3 });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'invalid_argument');
    assert.match(r.json.error.message, /threshold/);
    r = await server.api('POST', '/v1/linkage/train', undefined, { token: null, headers: { Authorization: basicAuth(shopSrc.write_key) } });
    assert.ok(r.status === 401 || r.status === 403, String(r.status));
    r = await server.api('POST', '/v1/linkage/reviews/rv_999999', { decision: 'accept' });
    assert.equal(r.status, 404, r.text);
    r = await server.api('POST', '/v1/linkage/reviews/rv_1', { decision: 'maybe' });
    assert.equal(r.status, 400, r.text);

    // Train: the model is learnt over every profile, then every profile is scored.
    r = await server.api('POST', '/v1/linkage/train');
    assert.equal(r.status, 200, r.text);
    const generation = autoTrainings[0].generation + 1;
    assert.equal(r.json.generation, generation);
    assert.equal(r.json.profiles, 10000);
    assert.equal(r.json.settings_inferred, false);
    assert.equal(r.json.trigger, 'manual');
    await eventually('the backfill', async () => (await server.api('GET', '/v1/linkage/status')).json.state === 'ready');
    r = await server.api('GET', '/v1/linkage/model');
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.comparisons.length >= 5);

    // True pairs read as one profile, from either side; few false links.
    let found = 0;
    let falseLinks = 0;
    for (const pair of sample) {
      const p = (await server.profile(`user_id:shop-${pair.rec_id_l}`)).json;
      const q = (await server.profile(`user_id:crm-${pair.rec_id_r}`)).json;
      if (linkedIds(p).has(q.tessera_id)) {
        found++;
        assert.equal(p.entity_id, q.entity_id);
        assert.deepEqual(p.traits, q.traits);
        assert.equal(p.event_count, 2);
        assert.ok(p.links.length >= 1 && p.links[0].probability >= 0.5);
        assert.ok(p.links[0].explanation.comparisons.length >= 5);
        assert.ok(p.identifiers.some((i) => i.value === `crm-${pair.rec_id_r}` && i.linked_profile === q.tessera_id));
      }
      falseLinks += (p.linked_profiles || []).length - (linkedIds(p).has(q.tessera_id) ? 1 : 0);
    }
    assert.ok(found >= 190, `true pairs linked: ${found}/200`);
    assert.ok(falseLinks <= 4, `false links among the sample: ${falseLinks}`);

    // The review queue: pages, both profiles' summaries, an explanation per comparison.
    r = await server.api('GET', '/v1/linkage/reviews?limit=2');
    assert.equal(r.status, 200, r.text);
    const first = r.json.reviews;
    assert.equal(first.length, 2, 'some pairs need a person');
    for (const item of first) {
      assert.match(item.id, /^rv_\d+$/);
      assert.equal(item.profiles.length, 2);
      assert.ok(item.profiles[0].fields && item.profiles[0].identifiers.length >= 1);
      assert.ok((item.probability >= 0.001 && item.probability < 0.5) || /^(chaining|cluster)/.test(item.reason), JSON.stringify(item));
      assert.ok(item.explanation.comparisons.every((c) => 'level' in c && 'weight' in c && 'left' in c));
    }
    if (r.json.next_cursor) {
      const next = await server.api('GET', `/v1/linkage/reviews?limit=2&cursor=${r.json.next_cursor}`);
      assert.equal(next.status, 200);
      assert.ok(!next.json.reviews.some((i) => first.some((f) => f.id === i.id)));
    }
    const refOf = (summary) => `tessera_id:${summary.tessera_id}`;
    const pairOf = (item) => ({ profiles: item.profiles.map(refOf) });
    const sameEntity = async (item) => linkedIds((await server.profile(refOf(item.profiles[0]))).json).has(item.profiles[1].tessera_id);
    // Accept the first: the two read as one.
    const accept = first[0];
    r = await server.api('POST', `/v1/linkage/reviews/${accept.id}`, { decision: 'accept' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.decision, 'accept');
    assert.ok(await sameEntity(accept));
    let a = (await server.profile(refOf(accept.profiles[0]))).json;
    assert.ok(a.links.some((l) => l.decided_by === 'review' && l.review_id === accept.id));
    r = await server.api('POST', `/v1/linkage/reviews/${accept.id}`, { decision: 'reject' });
    assert.equal(r.status, 404, 'decided already');
    // Reject the second: if the accept joined its two profiles through others, the person has
    // to say which link is wrong first (409); once unlinked, the rejection is remembered.
    const reject = first[1];
    if (await sameEntity(reject)) {
      r = await server.api('POST', `/v1/linkage/reviews/${reject.id}`, { decision: 'reject' });
      assert.equal(r.status, 409, r.text);
      assert.equal(r.json.error.code, 'conflict');
      r = await server.api('POST', '/v1/linkage/unlink', pairOf(accept));
      assert.equal(r.status, 200, r.text);
      assert.ok(!(await sameEntity(accept)));
    }
    r = await server.api('POST', `/v1/linkage/reviews/${reject.id}`, { decision: 'reject' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.decision, 'reject');
    assert.ok(!(await sameEntity(reject)));
    r = await server.api('GET', '/v1/linkage/reviews?limit=1000');
    assert.ok(!r.json.reviews.some((i) => i.id === accept.id || i.id === reject.id));

    // Unlink a true pair: both profiles come back exactly as they were.
    const linked = (await server.profile(keepL)).json;
    const other = (await server.profile(keepR)).json;
    assert.ok(linkedIds(linked).has(other.tessera_id), 'the kept pair was linked');
    assert.equal((await server.events(keepL)).length, 2);
    r = await server.api('POST', '/v1/linkage/unlink', { profiles: [keepL, keepR] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.unlinked.sort(), [linked.tessera_id, other.tessera_id].sort());
    const after = { l: (await server.profile(keepL)).json, r: (await server.profile(keepR)).json };
    for (const side of ['l', 'r']) {
      assert.deepEqual(after[side], before[side]);
      assert.deepEqual(await server.events(side === 'l' ? keepL : keepR), beforeEvents[side]);
    }
    r = await server.api('POST', '/v1/linkage/unlink', { profiles: [keepL, keepR] });
    assert.equal(r.status, 404, r.text);
    r = await server.api('POST', '/v1/linkage/unlink', { profiles: [keepL] });
    assert.equal(r.status, 400, r.text);

    // A rejected pair is never linked again automatically: not when the CRM record changes.
    const rowR = crm.find((row) => row.rec_id === sample[0].rec_id_r);
    await sendAll(server, crmSrc, [{ ...identify('crm', rowR), messageId: 'crm-again', traits: { ...identify('crm', rowR).traits, state: 'act' } }]);
    await server.waitProcessed();
    await eventually('the change scored', async () => {
      const s = (await server.api('GET', '/v1/linkage/status')).json;
      return s.applied_seq >= s.processed_seq;
    });
    assert.ok(!linkedIds((await server.profile(keepL)).json).has(other.tessera_id));

    // kill -9 and restart: model, links, decisions and the unlink are all still there.
    const dataDir = server.dataDir;
    await server.stop('SIGKILL');
    server = await new Server(dataDir, server.port).start();
    r = await server.api('GET', '/v1/linkage/status');
    assert.equal(r.json.model.generation, generation);
    assert.equal(r.json.trainings[0].trigger, 'manual');
    await eventually('ready after restart', async () => (await server.api('GET', '/v1/linkage/status')).json.state === 'ready');
    assert.ok(!linkedIds((await server.profile(keepL)).json).has(other.tessera_id));
    assert.ok(!(await sameEntity(reject)));
    const pair1 = sample[1];
    const p1 = (await server.profile(`user_id:shop-${pair1.rec_id_l}`)).json;
    assert.ok((p1.linked_profiles || []).length >= 1);

    // Live: a call centre record of a shop customer arrives and is linked as it does.
    const callSrc = await server.createSource('Call centre', 'call_centre');
    const rowL = shop.find((row) => row.rec_id === sample[2].rec_id_l);
    await sendAll(server, callSrc, [{ ...identify('call', rowL) }]);
    await server.waitProcessed();
    const shopProfile = (await server.profile(`user_id:shop-${rowL.rec_id}`)).json;
    await eventually('the live link', async () => {
      const p = (await server.profile(`user_id:call-${rowL.rec_id}`)).json;
      return linkedIds(p).has(shopProfile.tessera_id);
    }, 30000);

    // A linked CRM record changes so that it no longer matches (someone else's details): the
    // model's link is withdrawn, the two profiles read apart again, and the status says why.
    let pairW;
    for (const pair of sample.slice(3)) {
      const p = (await server.profile(`user_id:shop-${pair.rec_id_l}`)).json;
      const q = (await server.profile(`user_id:crm-${pair.rec_id_r}`)).json;
      if (linkedIds(p).has(q.tessera_id) && p.links.every((l) => l.decided_by === 'model')) { pairW = pair; break; }
    }
    assert.ok(pairW, 'a linked pair to change');
    const leftW = `user_id:shop-${pairW.rec_id_l}`;
    const rightW = (await server.profile(`user_id:crm-${pairW.rec_id_r}`)).json.tessera_id;
    const rowW = crm.find((row) => row.rec_id === pairW.rec_id_r);
    const stranger = shop.find((row) => row.rec_id === sample[150].rec_id_l);
    const traitsW = {};
    for (const k of Object.keys(rowW)) if (k !== 'rec_id') traitsW[k] = stranger[k] || '';
    const withdrawnBefore = (await server.api('GET', '/v1/linkage/status')).json.links_withdrawn.total;
    await sendAll(server, crmSrc, [{ type: 'identify', userId: `crm-${rowW.rec_id}`, traits: traitsW, messageId: 'crm-moved' }]);
    await server.waitProcessed();
    await eventually('the link withdrawn', async () => !linkedIds((await server.profile(leftW)).json).has(rightW), 30000);
    r = await server.api('GET', '/v1/linkage/status');
    assert.ok(r.json.links_withdrawn.total > withdrawnBefore, JSON.stringify(r.json.links_withdrawn));
    const w = r.json.links_withdrawn.recent.find((x) => x.profiles.includes(rightW));
    assert.ok(w, JSON.stringify(r.json.links_withdrawn));
    assert.equal(w.cause, 'profile changed');
    assert.match(w.reason, /^link withdrawn/);
    assert.ok(w.probability < 0.5 && w.probability_before >= 0.5, JSON.stringify(w));
    assert.ok(w.explanation.comparisons.length >= 5);
    const leftAfter = (await server.profile(leftW)).json;
    assert.ok(!(leftAfter.linked_profiles || []).includes(rightW));
  } finally {
    await server.stop();
  }
});
