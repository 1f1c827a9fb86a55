/**
 * What each credential can do and how long it lives (issue: tokens carry only their grants).
 * A registry token is its grants on /v2 and nothing anywhere else; a refresh token stands
 * for the credential it was issued for and dies with it; one's own password changes only
 * with the current one; a session cookie alone does not write on /v2; the signing keys are
 * sealed at rest. Every case here was an account takeover or a widening before.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqlMetadataStore } from '../../src/metadata/sql/store.js';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { createTestDatabase, postgresSkipReason } from '../helpers/postgres.js';
import { randomBlob, sha256 } from '../helpers/oci.js';

interface Tokens {
  access_token: string;
  refresh_token?: string;
}

async function passwordGrant(b: TestBerth, username: string, password: string, scope: string): Promise<Tokens> {
  const r = await fetch(`${b.url}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password, service: 'berth', scope, client_id: 'test' }) });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as Tokens;
}

async function refreshGrant(b: TestBerth, refresh_token: string, scope: string): Promise<{ status: number; access?: { actions: string[] }[]; body: any }> {
  const r = await fetch(`${b.url}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token, service: 'berth', scope, client_id: 'test' }) });
  const body = (await r.json()) as any;
  if (r.status !== 200) return { status: r.status, body };
  const claims = JSON.parse(Buffer.from(String(body.access_token).split('.')[1]!, 'base64url').toString()) as { access: { actions: string[] }[] };
  return { status: r.status, access: claims.access, body };
}

function actionsOf(access: { actions: string[] }[] | undefined): string[] {
  return (access ?? []).flatMap((g) => g.actions).sort();
}

describe('credentials: a registry token is only its grants', () => {
  let b: TestBerth;

  before(async () => {
    b = await startAuthBerth();
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'a', public: false }));
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'dev', password: 'dev-password-1' }));
    await ok(api(b.url, 'PUT', '/projects/a/members/dev', ADMIN, { role: 'developer' }));
  });
  after(() => b.close());

  test('a registry JWT granting nothing is refused on /api/v1 (no password change, no token, no admin)', async () => {
    const { access_token } = await passwordGrant(b, 'admin', 'admin-secret-1', '');
    const bearer = `Bearer ${access_token}`;
    const me = await api(b.url, 'GET', '/auth/me', bearer);
    assert.equal(me.status, 401);
    assert.match(JSON.stringify(me.body), /accepted on \/v2 only/);
    assert.equal((await api(b.url, 'PATCH', '/users/admin', bearer, { password: 'taken-over-1' })).status, 401);
    assert.equal((await api(b.url, 'POST', '/users/me/tokens', bearer, { name: 'x' })).status, 401);
    assert.equal((await api(b.url, 'POST', '/users', bearer, { name: 'evil', password: 'evil-password-1', admin: true })).status, 401);
    assert.equal((await api(b.url, 'GET', '/users/evil', ADMIN)).status, 404);
    // The admin's password is unchanged.
    assert.equal((await api(b.url, 'GET', '/auth/me', ADMIN)).status, 200);
  });

  test("an admin's pull-only registry JWT cannot mint wider tokens at /auth/token", async () => {
    const { access_token } = await passwordGrant(b, 'admin', 'admin-secret-1', 'repository:a/app:pull');
    const r = await fetch(`${b.url}/auth/token?service=berth&scope=${encodeURIComponent('repository:a/app:pull,push,delete')}&offline_token=true`, { headers: { Authorization: `Bearer ${access_token}` } });
    assert.equal(r.status, 401);
    const body = (await r.json()) as { token?: string; refresh_token?: string };
    assert.equal(body.token, undefined);
    assert.equal(body.refresh_token, undefined);
  });

  test('the same JWT still works on /v2 for exactly its grants', async () => {
    const { access_token } = await passwordGrant(b, 'dev', 'dev-password-1', 'repository:a/app:pull');
    const pull = await fetch(`${b.url}/v2/a/app/tags/list`, { headers: { Authorization: `Bearer ${access_token}` } });
    assert.equal(pull.status, 404); // allowed; the repository is empty
    const push = await fetch(`${b.url}/v2/a/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${access_token}` } });
    assert.equal(push.status, 401);
  });

  test('changing your own password needs the current one; an admin resets another without it', async () => {
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'pwd', password: 'pwd-password-1' }));
    const self = basic('pwd', 'pwd-password-1');
    const missing = await api(b.url, 'PATCH', '/users/pwd', self, { password: 'pwd-password-2' });
    assert.equal(missing.status, 400);
    assert.match(JSON.stringify(missing.body), /currentPassword/);
    assert.equal((await api(b.url, 'PATCH', '/users/me', self, { password: 'pwd-password-2', currentPassword: 'wrong-password' })).status, 403);
    assert.equal((await api(b.url, 'PATCH', '/users/pwd', self, { password: 'pwd-password-2', currentPassword: 'pwd-password-1' })).status, 200);
    assert.equal((await api(b.url, 'GET', '/auth/me', basic('pwd', 'pwd-password-2'))).status, 200);
    assert.equal((await api(b.url, 'PATCH', '/users/pwd', ADMIN, { password: 'pwd-password-3' })).status, 200);
    assert.equal((await api(b.url, 'GET', '/auth/me', basic('pwd', 'pwd-password-3'))).status, 200);
  });

  test('a personal access token cannot change the password or create a wider token', async () => {
    const pat = await ok(api(b.url, 'POST', '/users/me/tokens', basic('dev', 'dev-password-1'), { name: 'narrow', scopes: ['pull', 'manage'] }));
    const auth = `Bearer ${pat.token}`;
    assert.equal((await api(b.url, 'PATCH', '/users/me', auth, { password: 'stolen-password-1' })).status, 400);
    assert.equal((await api(b.url, 'POST', '/users/me/tokens', auth, { name: 'wide' })).status, 403);
    assert.equal((await api(b.url, 'POST', '/users/me/tokens', auth, { name: 'wider', scopes: ['pull', 'push'] })).status, 403);
    assert.equal((await api(b.url, 'POST', '/users/me/tokens', auth, { name: 'same', scopes: ['pull'] })).status, 201);
  });
});

describe('credentials: a refresh token never widens or outlives its origin', () => {
  let b: TestBerth;

  before(async () => {
    b = await startAuthBerth();
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'a', public: false }));
    for (const name of ['dev', 'gone', 'locked']) {
      await ok(api(b.url, 'POST', '/users', ADMIN, { name, password: `${name}-password-1` }));
      await ok(api(b.url, 'PUT', `/projects/a/members/${name}`, ADMIN, { role: 'developer' }));
    }
  });
  after(() => b.close());

  test('from a pull-only personal access token: refresh yields pull only, and dies with the token', async () => {
    const pat = await ok(api(b.url, 'POST', '/users/me/tokens', basic('dev', 'dev-password-1'), { name: 'ci', scopes: ['pull'] }));
    const t = await passwordGrant(b, 'dev', pat.token, 'repository:a/app:pull');
    assert.ok(t.refresh_token);
    const wide = await refreshGrant(b, t.refresh_token!, 'repository:a/app:pull,push,delete');
    assert.equal(wide.status, 200);
    assert.deepEqual(actionsOf(wide.access), ['pull']);
    assert.equal((await api(b.url, 'DELETE', `/users/me/tokens/${pat.id}`, basic('dev', 'dev-password-1'))).status, 204);
    assert.equal((await refreshGrant(b, t.refresh_token!, 'repository:a/app:pull')).status, 401);
    // The access token issued from it stops too (same process: at once).
    const pull = await fetch(`${b.url}/v2/a/app/tags/list`, { headers: { Authorization: `Bearer ${t.access_token}` } });
    assert.equal(pull.status, 401);
  });

  test('from a password: refresh keeps the user\'s rights, and dies when the password changes', async () => {
    const t = await passwordGrant(b, 'dev', 'dev-password-1', 'repository:a/app:pull');
    const r = await refreshGrant(b, t.refresh_token!, 'repository:a/app:pull,push,delete');
    assert.deepEqual(actionsOf(r.access), ['delete', 'pull', 'push']);
    assert.equal((await api(b.url, 'PATCH', '/users/dev', basic('dev', 'dev-password-1'), { password: 'dev-password-2', currentPassword: 'dev-password-1' })).status, 200);
    const after = await refreshGrant(b, t.refresh_token!, 'repository:a/app:pull');
    assert.equal(after.status, 401);
    assert.match(JSON.stringify(after.body), /no longer valid/);
    // A new login works and gives a working refresh token.
    const fresh = await passwordGrant(b, 'dev', 'dev-password-2', 'repository:a/app:pull');
    assert.equal((await refreshGrant(b, fresh.refresh_token!, 'repository:a/app:pull')).status, 200);
  });

  test('dies when the user is disabled, and stays dead when the user is enabled again', async () => {
    const t = await passwordGrant(b, 'locked', 'locked-password-1', 'repository:a/app:pull');
    assert.equal((await api(b.url, 'PATCH', '/users/locked', ADMIN, { disabled: true })).status, 200);
    assert.equal((await refreshGrant(b, t.refresh_token!, 'repository:a/app:pull')).status, 401);
    assert.equal((await api(b.url, 'PATCH', '/users/locked', ADMIN, { disabled: false })).status, 200);
    assert.equal((await refreshGrant(b, t.refresh_token!, 'repository:a/app:pull')).status, 401);
  });

  test('a deleted and re-created user of the same name does not inherit refresh or access tokens', async () => {
    const t = await passwordGrant(b, 'gone', 'gone-password-1', 'repository:a/app:pull');
    assert.equal((await api(b.url, 'DELETE', '/users/gone', ADMIN)).status, 204);
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'gone', password: 'gone-password-2' }));
    await ok(api(b.url, 'PUT', '/projects/a/members/gone', ADMIN, { role: 'developer' }));
    assert.equal((await refreshGrant(b, t.refresh_token!, 'repository:a/app:pull')).status, 401);
    assert.equal((await fetch(`${b.url}/v2/a/app/tags/list`, { headers: { Authorization: `Bearer ${t.access_token}` } })).status, 401);
  });

  test('a deleted and re-created robot of the same name does not inherit refresh tokens', async () => {
    const r1 = await ok(api(b.url, 'POST', '/projects/a/robots', ADMIN, { name: 'ci', permissions: ['pull', 'push'] }));
    const t = await passwordGrant(b, r1.name, r1.secret, 'repository:a/app:pull');
    assert.equal((await refreshGrant(b, t.refresh_token!, 'repository:a/app:pull')).status, 200);
    assert.equal((await api(b.url, 'DELETE', `/projects/a/robots/${encodeURIComponent(r1.name)}`, ADMIN)).status, 204);
    const r2 = await ok(api(b.url, 'POST', '/projects/a/robots', ADMIN, { name: 'ci', permissions: ['pull', 'push'] }));
    assert.equal(r2.name, r1.name);
    assert.equal((await refreshGrant(b, t.refresh_token!, 'repository:a/app:pull')).status, 401);
    assert.equal((await fetch(`${b.url}/v2/a/app/tags/list`, { headers: { Authorization: `Bearer ${t.access_token}` } })).status, 401);
  });
});

describe('credentials: a remembered password is re-checked against the shared database', () => {
  test('a password changed by another process stops the old one here within seconds', async () => {
    const b = await startAuthBerth({ auth: { credentialCacheSeconds: 600 } });
    try {
      await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'dev', password: 'dev-password-1' }));
      const old = basic('dev', 'dev-password-1');
      assert.equal((await api(b.url, 'GET', '/auth/me', old)).status, 200); // now remembered for 10 minutes
      // As another process would: straight in the shared database; this process is not told.
      const db = (b.berth.meta as SqlMetadataStore).db;
      await db.updateTable('users').set({ password_hash: 'x', credentials_changed_at: Date.now() }).where('name', '=', 'dev').execute();
      const deadline = Date.now() + 5000;
      let status = 200;
      while (status === 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        status = (await api(b.url, 'GET', '/auth/me', old)).status;
      }
      assert.equal(status, 401);
    } finally {
      await b.close();
    }
  });
});

describe('credentials: hostile input on PostgreSQL', () => {
  test('a NUL in a user name or password is refused as a bad login, never a server error', async (t) => {
    const reason = await postgresSkipReason();
    if (reason) return t.skip(reason);
    const db = await createTestDatabase();
    const b = await startAuthBerth({ metadata: { driver: 'postgres', postgres: { url: db.url } } });
    try {
      assert.equal((await fetch(`${b.url}/v2/`, { headers: { Authorization: basic('ad\u0000min', 'x') } })).status, 401);
      assert.equal((await fetch(`${b.url}/v2/`, { headers: { Authorization: basic('admin', 'se\u0000cret') } })).status, 401);
      const form = await fetch(`${b.url}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'a\u0000', password: 'b', service: 'berth' }) });
      assert.equal(form.status, 401);
      assert.equal((await api(b.url, 'GET', '/auth/me', ADMIN)).status, 200);
    } finally {
      await b.close();
      await db.drop();
    }
  });
});

describe('credentials: revocation holds after a restart', () => {
  test('a deleted-and-re-created account\'s old refresh token is refused by a restarted server', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-restart-'));
    const first = await startAuthBerth({ dataDir });
    let second: TestBerth | undefined;
    try {
      await ok(api(first.url, 'POST', '/projects', ADMIN, { name: 'a', public: false }));
      await ok(api(first.url, 'POST', '/users', ADMIN, { name: 'dev', password: 'dev-password-1' }));
      await ok(api(first.url, 'PUT', '/projects/a/members/dev', ADMIN, { role: 'developer' }));
      const t = await passwordGrant(first, 'dev', 'dev-password-1', 'repository:a/app:pull');
      assert.equal((await api(first.url, 'DELETE', '/users/dev', ADMIN)).status, 204);
      await ok(api(first.url, 'POST', '/users', ADMIN, { name: 'dev', password: 'dev-password-2' }));
      await ok(api(first.url, 'PUT', '/projects/a/members/dev', ADMIN, { role: 'developer' }));
      await first.close();
      second = await startAuthBerth({ dataDir });
      assert.equal((await refreshGrant(second, t.refresh_token!, 'repository:a/app:pull')).status, 401);
      // The new account itself is fine.
      const fresh = await passwordGrant(second, 'dev', 'dev-password-2', 'repository:a/app:pull');
      assert.equal((await refreshGrant(second, fresh.refresh_token!, 'repository:a/app:pull')).status, 200);
    } finally {
      await second?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('credentials: session cookies on /v2, and behind a proxy', () => {
  let b: TestBerth;
  let cookie: string;
  let csrf: string;

  before(async () => {
    b = await startAuthBerth({ http: { trustProxy: '127.0.0.1' } });
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'a', public: false }));
    const r = await fetch(`${b.url}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin-secret-1' }) });
    assert.equal(r.status, 200);
    cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    csrf = ((await r.json()) as { csrfToken: string }).csrfToken;
  });
  after(() => b.close());

  test('a session cookie alone cannot write on /v2 (a foreign page could send it)', async () => {
    const blob = randomBlob(64);
    const r = await fetch(`${b.url}/v2/a/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(blob) });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /X-CSRF-Token/);
    const head = await fetch(`${b.url}/v2/a/app/blobs/${sha256(blob)}`, { method: 'HEAD', headers: { Authorization: ADMIN } });
    assert.equal(head.status, 404, 'nothing was written');
  });

  test('with its CSRF token the session writes; reads need none', async () => {
    const blob = randomBlob(64);
    const r = await fetch(`${b.url}/v2/a/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(blob) });
    assert.equal(r.status, 201);
    const get = await fetch(`${b.url}/v2/a/app/blobs/${sha256(blob)}`, { headers: { Cookie: cookie } });
    assert.equal(get.status, 200);
  });

  test('the cookie is Secure when a trusted proxy says the request came over HTTPS', async () => {
    const login = (headers: Record<string, string>) =>
      fetch(`${b.url}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ username: 'admin', password: 'admin-secret-1' }) });
    assert.match((await login({ 'X-Forwarded-Proto': 'https' })).headers.get('set-cookie') ?? '', /; Secure/);
    assert.doesNotMatch((await login({})).headers.get('set-cookie') ?? '', /; Secure/);
  });

  test('an untrusted proxy header does not make the cookie Secure or change the client address', async () => {
    const plain = await startAuthBerth();
    try {
      const r = await fetch(`${plain.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.9' },
        body: JSON.stringify({ username: 'admin', password: 'admin-secret-1' }),
      });
      assert.doesNotMatch(r.headers.get('set-cookie') ?? '', /; Secure/);
      const audit = await ok(api(plain.url, 'GET', '/audit?action=login&limit=5', ADMIN));
      assert.ok(audit.items.length > 0);
      for (const e of audit.items) assert.notEqual(e.sourceAddress, '203.0.113.9');
    } finally {
      await plain.close();
    }
  });
});

describe('credentials: token-signing keys are sealed at rest', () => {
  test('no signing key is stored in plain; the key file is private; another key cannot open them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-sealed-'));
    const b = await startAuthBerth({ dataDir });
    try {
      const db = (b.berth.meta as SqlMetadataStore).db;
      const rows = await db.selectFrom('signing_keys').selectAll().execute();
      assert.ok(rows.length > 0);
      for (const r of rows) {
        assert.match(r.private_jwk, /^sealed:v1:/);
        assert.doesNotMatch(r.private_jwk, /"d"|"kty"/);
      }
      const { statSync } = await import('node:fs');
      assert.equal(statSync(`${dataDir}/signing-keys.key`).mode & 0o777, 0o600);
      await b.close();
      await assert.rejects(startAuthBerth({ dataDir, auth: { keyEncryptionKey: 'another-key-encryption-key-0123456789abcdef' } }), /cannot decrypt the token signing keys/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('a key stored in plain by an older version is sealed on start and still verifies its tokens', async () => {
    const key = 'configured-key-encryption-key-0123456789abcdef';
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-legacy-key-'));
    const b = await startBerth({ dataDir, auth: { enabled: true, keyEncryptionKey: key } });
    let again: TestBerth | undefined;
    try {
      const db = (b.berth.meta as SqlMetadataStore).db;
      const { KeySealer } = await import('../../src/auth/key-sealing.js');
      const row = await db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).executeTakeFirstOrThrow();
      const plain = new KeySealer(key).open(row.private_jwk);
      await db.updateTable('signing_keys').set({ private_jwk: plain }).where('kid', '=', row.kid).execute();
      await b.close();
      again = await startBerth({ dataDir, auth: { enabled: true, keyEncryptionKey: key } });
      const stored = await (again.berth.meta as SqlMetadataStore).db.selectFrom('signing_keys').select('private_jwk').where('kid', '=', row.kid).executeTakeFirstOrThrow();
      assert.match(stored.private_jwk, /^sealed:v1:/);
      assert.equal(new KeySealer(key).open(stored.private_jwk), plain);
    } finally {
      await again?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
