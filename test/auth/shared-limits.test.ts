/**
 * Login throttling and revocation across the processes of `berth serve --workers 4`: every
 * request goes on a connection of its own, so the cluster spreads them over the workers, and
 * comes from a chosen loopback address (127.0.0.x), so attacker and owner are told apart.
 * The counters and the revocation facts live in the shared database: no worker can be asked
 * again after another refused, and a deleted account's refresh token is dead on every worker.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN_PASSWORD, basic } from '../helpers/auth.js';
import { startBerthProcess, type BerthProcess } from '../helpers/node-process.js';

interface Reply {
  status: number;
  body: string;
}

/** One request on a new connection from `from` (a loopback address). */
function call(url: string, opts: { method?: string; from?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', agent: false, localAddress: opts.from ?? '127.0.0.1', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

describe('limits shared by every worker', () => {
  let node: BerthProcess;
  let dataDir: string;
  const admin = basic('admin', ADMIN_PASSWORD);

  async function apiCall(method: string, path: string, body?: unknown): Promise<Reply> {
    return call(`${node.url}/api/v1${path}`, { method, headers: { Authorization: admin, ...(body ? { 'Content-Type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'berth-limits-'));
    node = await startBerthProcess({
      args: ['--workers', '4'],
      env: {
        BERTH_DATA_DIR: dataDir,
        BERTH_AUTH__ENABLED: 'true',
        BERTH_ADMIN_PASSWORD: ADMIN_PASSWORD,
        BERTH_AUTH__MAX_FAILED_LOGINS: '5',
        BERTH_AUTH__MAX_FAILED_LOGINS_PER_ADDRESS: '30',
        BERTH_AUTH__FAILED_LOGIN_MAX_DELAY_MS: '500',
        // Every Basic request is checked (no remembered passwords), as a new client's would be.
        BERTH_AUTH__CREDENTIAL_CACHE_SECONDS: '0',
      },
    });
    assert.equal((await apiCall('POST', '/projects', { name: 'a', public: false })).status, 201);
    for (const name of ['victim', 'owner', 'dev']) {
      assert.equal((await apiCall('POST', '/users', { name, password: `${name}-password-1` })).status, 201);
      assert.equal((await apiCall('PUT', `/projects/a/members/${name}`, { role: 'developer' })).status, 200);
    }
  });
  after(async () => {
    await node?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('failed logins are counted once for all workers: the 6th attempt from an address is refused with 429', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await call(`${node.url}/v2/`, { headers: { Authorization: basic('victim', `wrong-${i}`) } })).status, 401);
    // Even the right password: this address has used up its guesses for this account.
    for (let i = 0; i < 4; i++) {
      const r = await call(`${node.url}/v2/`, { headers: { Authorization: basic('victim', 'victim-password-1') } });
      assert.equal(r.status, 429, `attempt ${i} after the limit: ${r.body}`);
      assert.match(r.body, /TOOMANYREQUESTS/);
    }
  });

  test('an attacker elsewhere does not lock the owner out (slowed, never refused)', async () => {
    for (let i = 0; i < 12; i++) {
      const r = await call(`${node.url}/v2/`, { from: '127.0.0.2', headers: { Authorization: basic('owner', `guess-${i}`) } });
      assert.ok(r.status === 401 || r.status === 429, `guess ${i}: ${r.status}`);
    }
    const guess = await call(`${node.url}/v2/`, { from: '127.0.0.2', headers: { Authorization: basic('owner', 'owner-password-1') } });
    assert.equal(guess.status, 429, 'the attacking address is stopped, even with the right password');
    for (let i = 0; i < 4; i++) assert.equal((await call(`${node.url}/v2/`, { headers: { Authorization: basic('owner', 'owner-password-1') } })).status, 200);
  });

  test('an attacker guessing a robot never stalls the robot', async () => {
    const created = await apiCall('POST', '/projects/a/robots', { name: 'ci', permissions: ['pull', 'push'] });
    assert.equal(created.status, 201);
    const robot = JSON.parse(created.body) as { name: string; secret: string };
    for (let i = 0; i < 25; i++) await call(`${node.url}/v2/`, { from: '127.0.0.3', headers: { Authorization: basic(robot.name, `guess-${i}`) } });
    for (let i = 0; i < 4; i++) assert.equal((await call(`${node.url}/v2/`, { headers: { Authorization: basic(robot.name, robot.secret) } })).status, 200);
  });

  test('one address trying many accounts is refused for all of them', async () => {
    for (let i = 0; i < 30; i++) await call(`${node.url}/v2/`, { from: '127.0.0.4', headers: { Authorization: basic(`nobody${i}`, 'x') } });
    assert.equal((await call(`${node.url}/v2/`, { from: '127.0.0.4', headers: { Authorization: basic('dev', 'dev-password-1') } })).status, 429);
    assert.equal((await call(`${node.url}/v2/`, { headers: { Authorization: basic('dev', 'dev-password-1') } })).status, 200);
  });

  test("a deleted and re-created account's refresh token is refused by every worker", async () => {
    const token = await call(`${node.url}/auth/token`, form({ grant_type: 'password', username: 'dev', password: 'dev-password-1', service: 'berth', scope: 'repository:a/app:pull', client_id: 't' }));
    assert.equal(token.status, 200, token.body);
    const { refresh_token } = JSON.parse(token.body) as { refresh_token: string };
    assert.equal((await apiCall('DELETE', '/users/dev')).status, 204);
    assert.equal((await apiCall('POST', '/users', { name: 'dev', password: 'dev-password-2' })).status, 201);
    assert.equal((await apiCall('PUT', '/projects/a/members/dev', { role: 'developer' })).status, 200);
    for (let i = 0; i < 8; i++) {
      const r = await call(`${node.url}/auth/token`, form({ grant_type: 'refresh_token', refresh_token, service: 'berth', scope: 'repository:a/app:pull', client_id: 't' }));
      assert.equal(r.status, 401, `attempt ${i}: ${r.body}`);
    }
  });
});
