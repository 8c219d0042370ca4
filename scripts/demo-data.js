// Loads demo customers into a running Tessera through the real Segment SDK: web visitors who log
// in, app users on their phones, store purchases by loyalty number and call-centre contacts.
// Deterministic (fixed seed), and skipped when the demo sources already exist.
'use strict';
const path = require('node:path');
const { Analytics } = require(path.join(__dirname, '../tests/e2e/node_modules/@segment/analytics-node'));

const url = process.argv[2] || 'http://127.0.0.1:8080';
const csvPath = process.argv[3] || 'call-centre.csv';
const token = process.env.TESSERA_ADMIN_TOKEN;
const customers = Number(process.env.TESSERA_DEMO_CUSTOMERS || 3000);
let state = 42;
const rand = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648; };
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

async function api(method, p, body) {
  const r = await fetch(`${url}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, json: await r.json() };
}

async function main() {
  const existing = (await api('GET', '/v1/sources')).json.sources || [];
  if (existing.some((s) => s.name === 'Website')) {
    console.log('demo data already loaded');
    return;
  }
  const keys = {};
  for (const [name, touchpoint] of [['Website', 'web'], ['Mobile App', 'app'], ['Store Tills', 'store'], ['Call Centre', 'call_centre']]) {
    const r = await api('POST', '/v1/sources', { name, touchpoint });
    if (r.status !== 201) throw new Error(`create source ${name}: ${JSON.stringify(r.json)}`);
    keys[touchpoint] = r.json.write_key;
  }
  const client = (k) => new Analytics({ writeKey: keys[k], host: url, maxEventsInBatch: 100, flushInterval: 200 });
  const c = { web: client('web'), app: client('app'), store: client('store'), call_centre: client('call_centre') };
  const now = Date.now();
  const day = 86400000;
  const at = (daysAgo) => new Date(now - daysAgo * day - Math.floor(rand() * day));
  const first = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim'];
  const last = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Lee'];
  const skus = ['SKU-100', 'SKU-200', 'SKU-300', 'SKU-400', 'SKU-500'];
  let events = 0;
  const crm = [];
  for (let i = 0; i < customers; i++) {
    const userId = `cust-${i}`;
    const email = `customer${i}@example.com`;
    const name = `${pick(first)} ${pick(last)}`;
    const web = `web-anon-${i}`;
    const start = 10 + Math.floor(rand() * 50);
    for (let v = 0; v < 1 + Math.floor(rand() * 4); v++) {
      c.web.page({ anonymousId: web, name: pick(['Home', 'Catalogue', 'Product', 'Offers']), timestamp: at(start - v) });
      c.web.track({ anonymousId: web, event: 'Product Viewed', properties: { sku: pick(skus) }, timestamp: at(start - v) });
      events += 2;
    }
    if (rand() < 0.7) {
      c.web.identify({ userId, anonymousId: web, traits: { email, name, plan: pick(['free', 'plus', 'pro']) }, timestamp: at(start - 5) });
      events++;
    }
    if (rand() < 0.5) {
      const anon = `app-anon-${i}`;
      const device = { id: `device-${i}`, model: pick(['iPhone15,2', 'Pixel 8', 'SM-S911B']) };
      c.app.screen({ anonymousId: anon, name: 'Home', context: { device }, timestamp: at(start - 6) });
      c.app.identify({ userId, anonymousId: anon, context: { device }, timestamp: at(start - 6) });
      c.app.track({ userId, anonymousId: anon, event: 'Added To Cart', properties: { sku: pick(skus) }, context: { device }, timestamp: at(start - 7) });
      events += 3;
    }
    if (rand() < 0.4) {
      c.store.track({ userId, event: 'Store Purchase', properties: { total: Math.round(rand() * 20000) / 100, store: pick(['Leeds', 'York', 'Bath']) }, timestamp: at(start - 8) });
      c.store.identify({ userId, traits: { loyalty_tier: pick(['bronze', 'silver', 'gold']) }, timestamp: at(start - 8) });
      events += 2;
    }
    if (rand() < 0.2) {
      // The call centre's CRM knows people by email and phone only: imported as CSV below,
      // these records join the web and app profiles through the email address.
      const phone = `+4420794${String(i).padStart(5, '0')}`;
      crm.push([email, phone, pick(['delivery', 'refund', 'billing']), 1 + Math.floor(rand() * 5), at(start - 9).toISOString()]);
    }
  }
  await Promise.all(Object.values(c).map((x) => x.closeAndFlush({ timeout: 120000 })));
  console.log(`demo data: ${customers} customers, ${events} events sent`);
  const csv = ['email,phone,last_call_reason,satisfaction,called_at', ...crm.map((r) => r.join(','))].join('\n') + '\n';
  require('node:fs').writeFileSync(csvPath, csv);
  console.log(`demo data: ${crm.length} call-centre records written to ${csvPath}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
