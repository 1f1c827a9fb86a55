/**
 * Access changes reach every process at once, while warm requests use caches: two Berth nodes
 * over one PostgreSQL database, and two worker processes sharing one SQLite file. A user's
 * registry token and Basic credentials are used on node B until B has them cached; then an
 * admin on node A disables the user, or removes their role, and the very next request on B,
 * without any wait, is refused; a token signed with a key just rotated on A verifies on B.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pushImage } from '../helpers/oci.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { postgresNodeEnv, startBerthProcess, TEST_KEY_ENCRYPTION_KEY, type BerthProcess } from '../helpers/node-process.js';

const skip = await postgresSkipReason();
const ADMIN_PASSWORD = 'admin-password-for-revocation';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const ADMIN = basic('admin', ADMIN_PASSWORD);
const AUTH_ENV = { BERTH_AUTH__ENABLED: 'true', BERTH_ADMIN_PASSWORD: ADMIN_PASSWORD, BERTH_AUTH__KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY };

async function api(url: string, method: string, path: string, body?: unknown): Promise<void> {
  const r = await fetch(`${url}/api/v1${path}`, { method, headers: { authorization: ADMIN, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${text}`);
}

async function pull(url: string, authorization: string): Promise<number> {
  const r = await fetch(`${url}/v2/team/app/manifests/v1`, { headers: { authorization, accept: 'application/vnd.oci.image.manifest.v1+json' } });
  await r.arrayBuffer();
  return r.status;
}

/** Sets up on `a`, warms `b`'s caches, changes access on `a`, and checks `b` at once. */
function scenarios(nodes: () => [BerthProcess, BerthProcess]) {
  let n = 0;
  const user = () => `dev${n}`;
  const password = 'dev-password-123456';
  before(async () => {
    const [a] = nodes();
    await api(a.url, 'POST', '/projects', { name: 'team', public: false });
  });

  async function warmUser(): Promise<{ token: string; creds: string }> {
    const [a, b] = nodes();
    n++;
    await api(a.url, 'POST', '/users', { name: user(), password });
    await api(a.url, 'PUT', `/projects/team/members/${user()}`, { role: 'developer' });
    const creds = basic(user(), password);
    if (n === 1) await pushImage(a.url, 'team/app', 'v1', { headers: { authorization: creds } });
    const t = await fetch(`${a.url}/auth/token?service=berth&scope=repository:team/app:pull`, { headers: { authorization: creds } });
    const { token } = (await t.json()) as { token: string };
    for (let i = 0; i < 5; i++) {
      assert.equal(await pull(b.url, `Bearer ${token}`), 200);
      assert.equal(await pull(b.url, creds), 200);
    }
    return { token, creds };
  }

  it('a user disabled on one node is refused on the other at once (token and Basic)', async () => {
    const { token, creds } = await warmUser();
    const [a, b] = nodes();
    await api(a.url, 'PATCH', `/users/${user()}`, { disabled: true });
    assert.equal(await pull(b.url, `Bearer ${token}`), 401);
    assert.equal(await pull(b.url, creds), 401);
  });

  it('a token signed with a key rotated on one node verifies on the other at once', async () => {
    const { creds } = await warmUser();
    const [a, b] = nodes();
    await api(a.url, 'POST', '/system/signing-keys/rotate');
    const t = await fetch(`${a.url}/auth/token?service=berth&scope=repository:team/app:pull`, { headers: { authorization: creds } });
    const { token } = (await t.json()) as { token: string };
    assert.equal(await pull(b.url, `Bearer ${token}`), 200);
  });

  it('a role removed on one node is refused on the other at once', async () => {
    const { creds } = await warmUser();
    const [a, b] = nodes();
    await api(a.url, 'DELETE', `/projects/team/members/${user()}`);
    const status = await pull(b.url, creds);
    assert.ok(status === 401 || status === 403 || status === 404, `expected a refusal, got ${status}`);
  });
}

describe('access changes across two nodes over PostgreSQL', { skip }, () => {
  let db: TestDatabase;
  let dir: string;
  let both: BerthProcess[] = [];
  before(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'berth-revocation-'));
    both = await Promise.all(['a', 'b'].map((n) => startBerthProcess({ env: { ...postgresNodeEnv(db.url, join(dir, 'storage'), join(dir, n)), ...AUTH_ENV } })));
  });
  after(async () => {
    for (const p of both) await p.stop().catch(() => {});
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  scenarios(() => both as [BerthProcess, BerthProcess]);
});
