// Workspace configuration: custom identifier kinds and identity limits from --config.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startServer, basicAuth } = require('./harness');

test('a custom identifier kind links records and addresses profiles', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-config-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'tessera.json');
  fs.writeFileSync(config, JSON.stringify({
    identity: { limits: { email: 2 }, priority: ['user_id', 'loyalty_id', 'email', 'phone', 'device_id', 'anonymous_id'] },
    identifiers: { custom: [{ kind: 'loyalty_id', paths: ['traits.loyalty_id', 'context.traits.loyalty_id'] }], default_phone_region: 'GB' },
  }));
  const server = await startServer(path.join(dir, 'data'), ['--config', config]);
  try {
    const src = await server.createSource('Loyalty', 'store');
    const send = (body) => server.api('POST', '/v1/batch', body, { token: null, headers: { Authorization: basicAuth(src.write_key) } });
    let r = await send({ batch: [
      { type: 'identify', anonymousId: 'till-1', traits: { loyalty_id: 'L-77', phone: '020 7946 0958' } },
      { type: 'identify', userId: 'web-77', traits: { loyalty_id: 'L-77', email: 'a@example.com' } },
      { type: 'identify', userId: 'web-77', traits: { email: 'b@example.com' } },
      { type: 'identify', userId: 'web-77', traits: { email: 'c@example.com' } },
    ] });
    assert.equal(r.status, 200, r.text);
    await server.waitProcessed();
    const p = (await server.profile('loyalty_id:L-77')).json;
    assert.equal((await server.profile('user_id:web-77')).json.tessera_id, p.tessera_id);
    assert.equal((await server.profile('phone:+44 20 7946 0958')).json.tessera_id, p.tessera_id);
    // The configured limit of two emails holds: the third was dropped, and says so.
    assert.equal(p.identifiers.filter((i) => i.kind === 'email').length, 2);
    assert.ok(p.merges.some((m) => m.action === 'drop' && m.identifiers[0].value === 'c@example.com'), JSON.stringify(p.merges));
  } finally {
    await server.stop();
  }
  // A bad config is refused with a message naming the field.
  fs.writeFileSync(config, JSON.stringify({ identity: { limits: { email: 0 } } }));
  const bad = spawnSync(process.env.TESSERA_BIN, ['serve', '--data-dir', path.join(dir, 'data2'), '--config', config], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr + bad.stdout, /identity\.limits\.email/);
});
