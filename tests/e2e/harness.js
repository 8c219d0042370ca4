// Starts a real `tessera serve` process for an end-to-end test and talks to it over HTTP.
// TESSERA_BIN names the binary (ctest sets it). Every server listens on loopback only.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ADMIN_TOKEN = 'e2e-admin-token';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Server {
  constructor(dataDir, port, extraArgs = []) {
    this.extraArgs = extraArgs;
    this.dataDir = dataDir;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.proc = null;
  }

  async start() {
    const bin = process.env.TESSERA_BIN;
    if (!bin) throw new Error('TESSERA_BIN is not set');
    // Background workers at nice 10, not the default SCHED_IDLE: ctest runs these servers
    // beside other tests that keep the CPUs busy, which SCHED_IDLE workers would wait for.
    this.proc = spawn(bin, ['serve', '--data-dir', this.dataDir, '--listen', `127.0.0.1:${this.port}`,
      '--log-level', 'warn', '--background-cpu', 'low', ...this.extraArgs], {
      env: { ...process.env, TESSERA_ADMIN_TOKEN: ADMIN_TOKEN },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) return this;
      } catch (_) { /* not up yet */ }
      if (this.proc.exitCode !== null) throw new Error(`tessera exited with ${this.proc.exitCode}`);
      await sleep(50);
    }
    throw new Error('tessera did not become healthy in 30 s');
  }

  async stop(signal = 'SIGTERM') {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    const result = await this.exited;
    if (signal === 'SIGTERM' && result.code !== 0) throw new Error(`tessera exit code ${result.code}`);
  }

  async api(method, urlPath, body, { token = ADMIN_TOKEN, headers = {} } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/json';
    const r = await fetch(`${this.url}${urlPath}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : (typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
    return { status: r.status, json, text, headers: r.headers };
  }

  async createSource(name, touchpoint) {
    const r = await this.api('POST', '/v1/sources', { name, touchpoint });
    if (r.status !== 201) throw new Error(`create source: ${r.status} ${r.text}`);
    return r.json;
  }

  // Waits until every logged event is applied to profiles.
  async waitProcessed(timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const h = (await this.api('GET', '/healthz')).json;
      if (h && h.processed_seq >= h.log_seq) return h;
      await sleep(20);
    }
    throw new Error('processing did not catch up');
  }

  async profile(ref) {
    return this.api('GET', `/v1/profiles/${encodeURIComponent(ref)}`);
  }

  async events(ref, limit = 1000) {
    const out = [];
    let cursor = null;
    do {
      const q = `limit=${limit}` + (cursor ? `&cursor=${cursor}` : '');
      const r = await this.api('GET', `/v1/profiles/${encodeURIComponent(ref)}/events?${q}`);
      if (r.status !== 200) throw new Error(`events: ${r.status} ${r.text}`);
      out.push(...r.json.events);
      cursor = r.json.next_cursor;
    } while (cursor);
    return out;
  }
}

// Data dirs this process made are removed when it exits (servers are stopped by then).
const madeDirs = [];
process.on('exit', () => {
  for (const d of madeDirs) fs.rmSync(d, { recursive: true, force: true });
});

async function startServer(dataDir, extraArgs = []) {
  const dir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-'));
  if (!dataDir) madeDirs.push(dir);
  const server = new Server(dir, await freePort(), extraArgs);
  return server.start();
}

function basicAuth(writeKey) {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

module.exports = { startServer, Server, basicAuth, sleep, ADMIN_TOKEN };
