/**
 * The permission matrix through HTTP: every project role, robot scope, a non-member, the
 * system admin and anonymous against pull, push, delete, member management and project
 * settings, over Basic auth on /v2 and /api/v1, and again through the token flow.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pushImage } from '../helpers/oci.js';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';

const ZERO = 'sha256:' + '0'.repeat(64);
type Who = 'anonymous' | 'outsider' | 'guest' | 'developer' | 'maintainer' | 'admin' | 'sysadmin' | 'robot-pull' | 'robot-push' | 'robot-delete';
type Act = 'pull' | 'push' | 'delete' | 'members' | 'settings';

// The expected table, written out independently of src/policy/roles.ts.
const EXPECTED: Record<Who, Act[]> = {
  anonymous: [],
  outsider: [],
  guest: ['pull'],
  developer: ['pull', 'push', 'delete'],
  maintainer: ['pull', 'push', 'delete'],
  admin: ['pull', 'push', 'delete', 'members', 'settings'],
  sysadmin: ['pull', 'push', 'delete', 'members', 'settings'],
  'robot-pull': ['pull'],
  'robot-push': ['pull', 'push'],
  'robot-delete': ['delete'],
};

describe('permission matrix', () => {
  let b: TestBerth;
  const creds: Partial<Record<Who, string>> = { sysadmin: ADMIN };
  let tagged = '';

  before(async () => {
    b = await startAuthBerth();
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'p', public: false }));
    for (const role of ['guest', 'developer', 'maintainer', 'admin'] as const) {
      await ok(api(b.url, 'POST', '/users', ADMIN, { name: `u-${role}`, password: `pw-${role}-123` }));
      await ok(api(b.url, 'PUT', `/projects/p/members/u-${role}`, ADMIN, { role }));
      creds[role] = basic(`u-${role}`, `pw-${role}-123`);
    }
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'u-outsider', password: 'pw-outsider-1' }));
    creds.outsider = basic('u-outsider', 'pw-outsider-1');
    for (const [who, perms] of [['robot-pull', ['pull']], ['robot-push', ['pull', 'push']], ['robot-delete', ['delete']]] as const) {
      const r = await ok(api(b.url, 'POST', '/projects/p/robots', ADMIN, { name: who, permissions: perms }));
      creds[who] = basic(r.name, r.secret);
    }
    // Seed an image as the system admin (Basic auth works directly on /v2).
    const img = await pushImageAs(b.url, 'p/app', 'v1', ADMIN);
    tagged = img;
  });
  after(() => b.close());

  async function probe(who: Who, act: Act, auth: string | undefined): Promise<number> {
    const h: Record<string, string> = auth ? { Authorization: auth } : {};
    switch (act) {
      case 'pull':
        return (await fetch(`${b.url}/v2/p/app/manifests/v1`, { headers: h })).status;
      case 'push': {
        const r = await fetch(`${b.url}/v2/p/app/blobs/uploads/`, { method: 'POST', headers: h });
        return r.status;
      }
      case 'delete':
        return (await fetch(`${b.url}/v2/p/app/manifests/${ZERO}`, { method: 'DELETE', headers: h })).status;
      case 'members':
        return (await api(b.url, 'PUT', '/projects/p/members/u-outsider', auth, { role: 'guest' })).status;
      case 'settings':
        return (await api(b.url, 'PATCH', '/projects/p', auth, { public: false })).status;
    }
    void who;
  }

  const allowedStatus: Record<Act, number> = { pull: 200, push: 202, delete: 404, members: 200, settings: 200 };

  for (const who of Object.keys(EXPECTED) as Who[]) {
    test(`${who} over Basic auth`, async () => {
      for (const act of ['pull', 'push', 'delete', 'members', 'settings'] as Act[]) {
        const status = await probe(who, act, creds[who]);
        const want = EXPECTED[who].includes(act);
        if (want) assert.equal(status, allowedStatus[act], `${who} ${act} should be allowed`);
        else assert.equal(status, who === 'anonymous' ? 401 : 403, `${who} ${act} should be refused`);
        if (act === 'members' && want) await ok(api(b.url, 'DELETE', '/projects/p/members/u-outsider', ADMIN));
      }
    });
  }

  for (const who of Object.keys(EXPECTED) as Who[]) {
    test(`${who} through the token flow gets exactly the allowed actions`, async () => {
      const h: Record<string, string> = creds[who] ? { Authorization: creds[who]! } : {};
      const r = await fetch(`${b.url}/auth/token?service=berth&scope=repository:p/app:pull,push,delete`, { headers: h });
      assert.equal(r.status, 200);
      const { token } = (await r.json()) as { token: string };
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { access: { name: string; actions: string[] }[] };
      const granted = claims.access.find((a) => a.name === 'p/app')?.actions ?? [];
      const expected: Act[] = EXPECTED[who].filter((a) => a === 'pull' || a === 'push' || a === 'delete');
      assert.deepEqual([...granted].sort(), [...expected].sort(), `${who} grants`);
      for (const act of ['pull', 'push', 'delete'] as Act[]) {
        const status = await probe(who, act, `Bearer ${token}`);
        assert.equal(status, expected.includes(act) ? allowedStatus[act] : 401, `${who} ${act} with token`);
      }
    });
  }

  test('a push to a project that does not exist is DENIED with a clear message', async () => {
    const r = await fetch(`${b.url}/v2/nope/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: ADMIN } });
    assert.equal(r.status, 403);
    const body = (await r.json()) as { errors: { code: string; detail: { reason: string } }[] };
    assert.equal(body.errors[0]!.code, 'DENIED');
    assert.match(body.errors[0]!.detail.reason, /project nope does not exist/);
    assert.ok(tagged);
  });
});

/** Pushes an image with an Authorization header (the shared helper pushes anonymously). */
async function pushImageAs(url: string, repo: string, tag: string, auth: string): Promise<string> {
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((input: any, init: any = {}) => realFetch(input, { ...init, headers: { ...(init.headers ?? {}), Authorization: auth } })) as typeof fetch;
  try {
    return (await pushImage(url, repo, tag)).digest;
  } finally {
    globalThis.fetch = realFetch;
  }
}
