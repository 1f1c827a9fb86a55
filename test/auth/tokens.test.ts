/**
 * Hostile registry tokens: each is refused with 401 UNAUTHORIZED and a challenge. Tokens are
 * forged with the server's own signing key (read from the database) so that only the one
 * property under test is wrong. Also: key rotation keeps old tokens valid, refresh tokens,
 * personal access tokens as passwords, and brute-force limiting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { Client } from 'undici';
import { SqlMetadataStore } from '../../src/metadata/sql/store.js';
import { activeSigningKey, ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';

describe('registry tokens', () => {
  let b: TestBerth;
  let robot: { name: string; secret: string };

  before(async () => {
    b = await startAuthBerth({ auth: { maxFailedLogins: 3, failedLoginWindowSeconds: 60 } });
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'a', public: false }));
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'b', public: false }));
    robot = await ok(api(b.url, 'POST', '/projects/a/robots', ADMIN, { name: 'ci', permissions: ['pull', 'push'] }));
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'dev', password: 'dev-password-1' }));
    await ok(api(b.url, 'PUT', '/projects/a/members/dev', ADMIN, { role: 'developer' }));
  });
  after(() => b.close());

  const key = () => activeSigningKey(b);

  async function robotOrigin(): Promise<{ account: number; via: 'robot'; at: number }> {
    const row = await (b.berth.meta as SqlMetadataStore).db.selectFrom('robots').select('id').where('name', '=', robot.name).executeTakeFirstOrThrow();
    return { account: Number(row.id), via: 'robot', at: Date.now() };
  }

  async function forge(opts: { iss?: string; aud?: string; sub?: string; iat?: number; nbf?: number; exp?: number; access?: unknown; use?: string; alg?: string; origin?: unknown } = {}): Promise<string> {
    const { kid, jwk } = await key();
    const now = Math.floor(Date.now() / 1000);
    const origin = 'origin' in opts ? opts.origin : await robotOrigin();
    return new SignJWT({ access: opts.access ?? [{ type: 'repository', name: 'a/app', actions: ['pull', 'push'] }], use: opts.use ?? 'access', ...(origin === undefined ? {} : { origin }) })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(opts.iss ?? 'berth')
      .setAudience(opts.aud ?? 'berth')
      .setSubject(opts.sub ?? robot.name)
      .setIssuedAt(opts.iat ?? now)
      .setNotBefore(opts.nbf ?? now)
      .setExpirationTime(opts.exp ?? now + 300)
      .sign(await importJWK(jwk, 'ES256'));
  }

  async function pull(token: string, repo = 'a/app'): Promise<{ status: number; code?: string; challenge: string | null }> {
    const r = await fetch(`${b.url}/v2/${repo}/tags/list`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await r.json()) as { errors?: { code: string }[] };
    return { status: r.status, code: body.errors?.[0]?.code, challenge: r.headers.get('www-authenticate') };
  }

  async function tokenFor(auth: string, scope: string): Promise<string> {
    const r = await fetch(`${b.url}/auth/token?service=berth&scope=${encodeURIComponent(scope)}`, { headers: { Authorization: auth } });
    assert.equal(r.status, 200);
    return ((await r.json()) as { token: string }).token;
  }

  test('a good forged token works (the control case)', async () => {
    assert.equal((await pull(await forge())).status, 404); // NAME_UNKNOWN: allowed, repository empty
  });

  const now = () => Math.floor(Date.now() / 1000);
  const hostile: [string, () => Promise<string>][] = [
    ['expired', () => forge({ iat: now() - 1000, nbf: now() - 1000, exp: now() - 600 })],
    ['not yet valid', () => forge({ nbf: now() + 3600, exp: now() + 7200 })],
    ['wrong audience', () => forge({ aud: 'another-registry' })],
    ['wrong issuer', () => forge({ iss: 'evil' })],
    ['refresh token used as access token', () => forge({ use: 'refresh' })],
    [
      'tampered signature',
      async () => {
        const t = await forge();
        const [h, p, s] = t.split('.') as [string, string, string];
        return `${h}.${p}.${s.slice(0, -4)}${s.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      },
    ],
    [
      'tampered payload',
      async () => {
        const t = await forge({ access: [{ type: 'repository', name: 'a/app', actions: ['pull'] }] });
        const [h, , s] = t.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
        claims.access = [{ type: 'repository', name: 'b/app', actions: ['pull', 'push'] }];
        return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      },
    ],
    [
      'alg none',
      async () => {
        const claims = { iss: 'berth', aud: 'berth', sub: 'admin', iat: now(), nbf: now(), exp: now() + 300, use: 'access', access: [{ type: 'repository', name: 'a/app', actions: ['pull'] }] };
        return `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
      },
    ],
    ['garbage', async () => 'not.a.jwt'],
    ['for an account but naming no origin', () => forge({ origin: undefined })],
    ['for another account of the same name (another id)', async () => forge({ origin: { ...(await robotOrigin()), account: 999_999 } })],
    ['from before the account existed', async () => forge({ origin: { ...(await robotOrigin()), at: 1 } })],
  ];
  for (const [name, make] of hostile) {
    test(`refuses a token that is ${name}`, async () => {
      const r = await pull(await make());
      assert.equal(r.status, 401, name);
      assert.equal(r.code, 'UNAUTHORIZED');
      assert.match(r.challenge ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/auth\/token",service="berth"/);
    });
  }

  test('a token for repository A is refused on B, with a challenge naming B', async () => {
    const t = await tokenFor(basic(robot.name, robot.secret), 'repository:a/app:pull');
    const r = await pull(t, 'b/app');
    assert.equal(r.status, 401);
    assert.match(r.challenge ?? '', /scope="repository:b\/app:pull"/);
    assert.match(r.challenge ?? '', /error="insufficient_scope"/);
    // Why, in the description clients print: the robot's own refusal, not "request a token".
    assert.match(r.challenge ?? '', /error_description="[^"]*(robot|project b)[^"]*"/);
    assert.doesNotMatch(r.challenge ?? '', /request a token/);
  });

  test('asking for more than allowed grants the intersection', async () => {
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'looker', password: 'looker-password-1' }));
    await ok(api(b.url, 'PUT', '/projects/a/members/looker', ADMIN, { role: 'guest' }));
    const t = await tokenFor(basic('looker', 'looker-password-1'), 'repository:a/app:pull,push,delete');
    const claims = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { access: { actions: string[] }[] };
    assert.deepEqual(claims.access[0]!.actions, ['pull']);
  });

  test('on one kept-alive connection: each request\'s token is checked, and a revoked token stops at once', async () => {
    // The last token a connection sent is remembered by the connection (authenticator.ts):
    // a different token on it, good or hostile, must be judged on its own.
    const client = new Client(b.url, { pipelining: 1, connections: 1 } as Client.Options);
    const sockets = new Set<unknown>();
    client.on('connect', (_origin, [c]) => void sockets.add(c));
    const pullOn = async (token: string, repo = 'a/app') => {
      const r = await client.request({ method: 'GET', path: `/v2/${repo}/tags/list`, headers: { authorization: `Bearer ${token}` } });
      await r.body.dump();
      return r.statusCode;
    };
    try {
      const r = await ok(api(b.url, 'POST', '/projects/a/robots', ADMIN, { name: 'conn', permissions: ['pull'] }));
      const good = await tokenFor(basic(r.name, r.secret), 'repository:a/app:pull');
      assert.equal(await pullOn(good), 404);
      assert.equal(await pullOn(good), 404);
      const [h, p] = good.split('.') as [string, string, string];
      assert.equal(await pullOn(`${h}.${p}.${Buffer.alloc(64, 1).toString('base64url')}`), 401, 'a tampered token after a good one');
      assert.equal(await pullOn(await forge({ exp: now() - 600, iat: now() - 1000, nbf: now() - 1000 })), 401, 'an expired token after a good one');
      assert.equal(await pullOn(good), 404);
      assert.equal(await pullOn(good, 'b/app'), 401, 'the remembered token still carries only its own grants');
      assert.equal((await api(b.url, 'DELETE', `/projects/a/robots/${encodeURIComponent(r.name)}`, ADMIN)).status, 204);
      assert.equal(await pullOn(good), 401, 'revoked: refused on the connection that used it');
      assert.equal(sockets.size, 1, 'every request went over one connection');
    } finally {
      await client.close();
    }
  });

  test('a revoked robot: its token and its secret stop working at once', async () => {
    const r = await ok(api(b.url, 'POST', '/projects/a/robots', ADMIN, { name: 'temp', permissions: ['pull'] }));
    const t = await tokenFor(basic(r.name, r.secret), 'repository:a/app:pull');
    assert.equal((await pull(t)).status, 404);
    assert.equal((await api(b.url, 'DELETE', `/projects/a/robots/${encodeURIComponent(r.name)}`, ADMIN)).status, 204);
    assert.equal((await pull(t)).status, 401);
    const direct = await fetch(`${b.url}/v2/a/app/tags/list`, { headers: { Authorization: basic(r.name, r.secret) } });
    assert.equal(direct.status, 401);
  });

  test('a robot deleted by another process (worker or node): its token stops within seconds', async () => {
    const r = await ok(api(b.url, 'POST', '/projects/a/robots', ADMIN, { name: 'elsewhere', permissions: ['pull'] }));
    const t = await tokenFor(basic(r.name, r.secret), 'repository:a/app:pull');
    assert.equal((await pull(t)).status, 404);
    // Straight in the shared database, as another process would: this one is not told.
    await (b.berth.meta as SqlMetadataStore).db.deleteFrom('robots').where('name', '=', r.name).execute();
    const deadline = Date.now() + 5000;
    let status = (await pull(t)).status;
    while (status !== 401 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await pull(t)).status;
    }
    assert.equal(status, 401);
  });

  test('a deleted user: tokens, refresh tokens and the password stop working', async () => {
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'gone', password: 'gone-password-1' }));
    await ok(api(b.url, 'PUT', '/projects/a/members/gone', ADMIN, { role: 'guest' }));
    const form = new URLSearchParams({ grant_type: 'password', username: 'gone', password: 'gone-password-1', service: 'berth', scope: 'repository:a/app:pull', client_id: 'test', access_type: 'offline' });
    const r = await fetch(`${b.url}/auth/token`, { method: 'POST', body: form });
    assert.equal(r.status, 200);
    const { access_token, refresh_token } = (await r.json()) as { access_token: string; refresh_token: string };
    assert.equal((await pull(access_token)).status, 404);
    const refreshed = await fetch(`${b.url}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token, service: 'berth', scope: 'repository:a/app:pull' }) });
    assert.equal(refreshed.status, 200);
    assert.equal((await api(b.url, 'DELETE', '/users/gone', ADMIN)).status, 204);
    assert.equal((await pull(access_token)).status, 401);
    const again = await fetch(`${b.url}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token, service: 'berth' }) });
    assert.equal(again.status, 401);
    assert.equal((await fetch(`${b.url}/v2/a/app/tags/list`, { headers: { Authorization: basic('gone', 'gone-password-1') } })).status, 401);
  });

  test('key rotation: old tokens stay valid, new ones use the new key', async () => {
    const before = await tokenFor(basic(robot.name, robot.secret), 'repository:a/app:pull');
    const oldKid = (await key()).kid;
    assert.equal((await api(b.url, 'POST', '/system/signing-keys/rotate', basic('dev', 'dev-password-1'))).status, 403);
    const rotated = await ok(api(b.url, 'POST', '/system/signing-keys/rotate', ADMIN));
    assert.notEqual((await key()).kid, oldKid);
    assert.equal(rotated.kid, (await key()).kid);
    assert.equal((await pull(before)).status, 404);
    const after = await tokenFor(basic(robot.name, robot.secret), 'repository:a/app:pull');
    assert.notEqual(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid, oldKid);
    assert.equal((await pull(after)).status, 404);
  });

  test('a personal access token works as the password, and its scopes narrow it', async () => {
    const t = await ok(api(b.url, 'POST', '/users/me/tokens', basic('dev', 'dev-password-1'), { name: 'ci', scopes: ['pull'] }));
    assert.match(t.token, /^berth_pat_/);
    const auth = basic('dev', t.token);
    assert.equal((await fetch(`${b.url}/v2/a/app/tags/list`, { headers: { Authorization: auth } })).status, 404);
    const push = await fetch(`${b.url}/v2/a/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: auth } });
    assert.equal(push.status, 403);
    assert.match(JSON.stringify(await push.json()), /lacks scope push/);
    assert.equal((await fetch(`${b.url}/v2/a/app/tags/list`, { headers: { Authorization: `Bearer ${t.token}` } })).status, 404);
    const list = await ok(api(b.url, 'GET', '/users/me/tokens', basic('dev', 'dev-password-1')));
    assert.equal(list.items[0].name, 'ci');
    assert.ok(list.items[0].lastUsedAt);
    assert.equal((await api(b.url, 'DELETE', `/users/me/tokens/${t.id}`, basic('dev', 'dev-password-1'))).status, 204);
    assert.equal((await fetch(`${b.url}/v2/a/app/tags/list`, { headers: { Authorization: auth } })).status, 401);
  });

  test('failed logins are limited per user with 429 TOOMANYREQUESTS and Retry-After', async () => {
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'victim', password: 'victim-password-1' }));
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${b.url}/v2/`, { headers: { Authorization: basic('victim', 'wrong' + i) } })).status, 401);
    const r = await fetch(`${b.url}/v2/`, { headers: { Authorization: basic('victim', 'victim-password-1') } });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    assert.equal(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code, 'TOOMANYREQUESTS');
  });
});
