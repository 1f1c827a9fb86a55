/**
 * `/v2/_catalog` through the Docker token flow (`crane catalog`, `regctl repo ls`): a token
 * granting `registry:catalog:*` is the right to list, and what it lists is what the token's
 * subject may pull at that moment, exactly as with Basic credentials.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { bytes, imageManifest, sha256 } from '../helpers/oci.js';

describe('catalog through registry tokens', () => {
  let b: TestBerth;
  let robot: { name: string; secret: string };
  const DEV = basic('dev', 'dev-password-1');

  async function push(repo: string): Promise<void> {
    const config = Buffer.from(JSON.stringify({ repo }));
    const up = await fetch(`${b.url}/v2/${repo}/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: bytes(config), headers: { Authorization: ADMIN } });
    assert.equal(up.status, 201);
    const m = await fetch(`${b.url}/v2/${repo}/manifests/v1`, { method: 'PUT', body: bytes(imageManifest(config, [])), headers: { Authorization: ADMIN, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 201);
  }

  before(async () => {
    b = await startAuthBerth();
    for (const [name, pub] of [['alpha', false], ['beta', false], ['open', true]] as const) await ok(api(b.url, 'POST', '/projects', ADMIN, { name, public: pub }));
    for (const repo of ['alpha/app', 'alpha/db', 'beta/app', 'open/tool']) await push(repo);
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'dev', password: 'dev-password-1' }));
    await ok(api(b.url, 'PUT', '/projects/alpha/members/dev', ADMIN, { role: 'guest' }));
    robot = await ok(api(b.url, 'POST', '/projects/beta/robots', ADMIN, { name: 'lister', permissions: ['pull'] }));
  });
  after(() => b.close());

  async function catalogToken(auth: string | undefined): Promise<string> {
    const r = await fetch(`${b.url}/auth/token?service=berth&scope=registry:catalog:*`, { headers: auth ? { Authorization: auth } : {} });
    assert.equal(r.status, 200);
    return ((await r.json()) as { token: string }).token;
  }

  async function catalog(auth: string, query = ''): Promise<{ status: number; repositories?: string[]; link: string | null }> {
    const r = await fetch(`${b.url}/v2/_catalog${query}`, { headers: { Authorization: auth } });
    const body = (await r.json()) as { repositories?: string[] };
    return { status: r.status, repositories: body.repositories, link: r.headers.get('link') };
  }

  test('a catalog token lists what its subject may pull, as Basic does', async () => {
    const cases: [string, string, string[]][] = [
      ['system admin', ADMIN, ['alpha/app', 'alpha/db', 'beta/app', 'open/tool']],
      ['project member', DEV, ['alpha/app', 'alpha/db', 'open/tool']],
      ['robot', basic(robot.name, robot.secret), ['beta/app', 'open/tool']],
    ];
    for (const [who, auth, expected] of cases) {
      assert.deepEqual((await catalog(auth)).repositories, expected, `${who} with Basic`);
      const token = await catalogToken(auth);
      const viaToken = await catalog(`Bearer ${token}`);
      assert.equal(viaToken.status, 200, who);
      assert.deepEqual(viaToken.repositories, expected, `${who} with a registry:catalog:* token`);
    }
  });

  test('pages through a token are full and linked', async () => {
    const token = await catalogToken(ADMIN);
    const first = await catalog(`Bearer ${token}`, '?n=3');
    assert.deepEqual(first.repositories, ['alpha/app', 'alpha/db', 'beta/app']);
    assert.match(first.link ?? '', /last=beta%2Fapp/);
    assert.deepEqual((await catalog(`Bearer ${token}`, '?n=3&last=beta%2Fapp')).repositories, ['open/tool']);
  });

  test('what is listed is decided when the catalog is read, not when the token was issued', async () => {
    const token = await catalogToken(DEV);
    await ok(api(b.url, 'DELETE', '/projects/alpha/members/dev', ADMIN));
    try {
      assert.deepEqual((await catalog(`Bearer ${token}`)).repositories, ['open/tool']);
    } finally {
      await ok(api(b.url, 'PUT', '/projects/alpha/members/dev', ADMIN, { role: 'guest' }));
    }
  });

  test('a token without the catalog grant is refused with a challenge naming the scope', async () => {
    const r = await fetch(`${b.url}/auth/token?service=berth&scope=repository:alpha/app:pull`, { headers: { Authorization: DEV } });
    const token = ((await r.json()) as { token: string }).token;
    const res = await fetch(`${b.url}/v2/_catalog`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /scope="registry:catalog:\*"/);
  });
});
