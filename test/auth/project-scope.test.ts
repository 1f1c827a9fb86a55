/**
 * Lifecycle routes authorize the objects they touch (trash entries, retention runs), not a
 * query parameter the caller picks; and refusals do not tell who may not see a project
 * whether it exists (a private project and a missing one read the same), while members still
 * get the precise reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { bytes, imageManifest, randomBlob, sha256 } from '../helpers/oci.js';

describe('lifecycle routes and project visibility', () => {
  let b: TestBerth;
  const MALLORY = basic('mallory', 'mallory-password-1');
  const MAINT = basic('maint', 'maint-password-1');
  const GUEST = basic('guest', 'guest-password-1');
  let victimRun: number;
  let victimIds: number[];

  async function push(repo: string, tag: string): Promise<void> {
    const config = randomBlob(64);
    const up = await fetch(`${b.url}/v2/${repo}/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: bytes(config), headers: { Authorization: ADMIN } });
    assert.equal(up.status, 201);
    const m = await fetch(`${b.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: bytes(imageManifest(config, [])), headers: { Authorization: ADMIN, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 201);
  }

  before(async () => {
    b = await startAuthBerth({ lifecycle: { gc: { schedule: null }, schedulerEnabled: false } as never });
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'victim', public: false }));
    for (const u of ['mallory', 'maint', 'guest']) await ok(api(b.url, 'POST', '/users', ADMIN, { name: u, password: `${u}-password-1` }));
    await ok(api(b.url, 'PUT', '/projects/victim/members/maint', ADMIN, { role: 'maintainer' }));
    await ok(api(b.url, 'PUT', '/projects/victim/members/guest', ADMIN, { role: 'guest' }));
    // Mallory owns a project of her own (everyone may create one by default).
    await ok(api(b.url, 'POST', '/projects', MALLORY, { name: 'mallory', public: false }));
    for (const tag of ['v1', 'v2', 'v3']) await push('victim/app', tag);
    await ok(api(b.url, 'PUT', '/projects/victim/retention', ADMIN, { rules: [{ tags: ['v*'], keep: { kind: 'lastPushed', count: 1 } }], trashDays: 7 }));
    const run = await ok(api(b.url, 'POST', '/projects/victim/retention/runs', ADMIN, { dryRun: false }));
    victimRun = run.runId;
    const trash = await ok(api(b.url, 'GET', '/trash?project=victim', ADMIN));
    victimIds = trash.items.map((e: { id: number }) => e.id);
    assert.equal(victimIds.length, 2);
  });
  after(() => b.close());

  test("a project admin cannot restore or list another project's trash through their own project", async () => {
    const byRun = await api(b.url, 'POST', '/trash/restore?project=mallory', MALLORY, { runId: victimRun });
    assert.equal(byRun.status, 200);
    assert.deepEqual(byRun.body.restored, [], 'nothing of victim is restored');
    const byIds = await api(b.url, 'POST', '/trash/restore?project=mallory', MALLORY, { ids: victimIds });
    assert.deepEqual(byIds.body.restored, []);
    const named = await api(b.url, 'POST', '/trash/restore?project=mallory', MALLORY, { runId: victimRun, project: 'victim' });
    assert.equal(named.status, 400);
    const listed = await ok(api(b.url, 'GET', `/trash?project=mallory&runId=${victimRun}`, MALLORY));
    assert.deepEqual(listed.items, []);
    // Naming the project twice does not slip past the check (nor crash).
    for (const path of ['/trash?project=mallory&project=victim', '/trash?project=victim&project=mallory', '/retention/runs?project=mallory&project=victim']) {
      assert.equal((await api(b.url, 'GET', path, MALLORY)).status, 400, path);
    }
    assert.equal((await api(b.url, 'POST', '/trash/restore?project=mallory&project=victim', MALLORY, { runId: victimRun })).status, 400);
    assert.equal((await api(b.url, 'GET', '/trash?project=victim', MALLORY)).status, 403);
    assert.equal((await api(b.url, 'POST', '/trash/restore?project=victim', MALLORY, { runId: victimRun })).status, 403);
    assert.equal((await api(b.url, 'GET', '/trash', MALLORY)).status, 403, 'all projects: system admins only');
    const still = await ok(api(b.url, 'GET', '/trash?project=victim', ADMIN));
    assert.equal(still.items.length, 2, 'the trash of victim is untouched');
  });

  test("a maintainer restores their project's trash through ?project=", async () => {
    assert.equal((await api(b.url, 'POST', '/trash/restore?project=victim', GUEST, { runId: victimRun })).status, 403, 'guests may not');
    const r = await ok(api(b.url, 'POST', '/trash/restore?project=victim', MAINT, { runId: victimRun }));
    assert.equal(r.restored.length, 2);
  });

  test('a private project and a missing one are refused alike to non-members; members get the reason', async () => {
    const refusal = async (auth: string | undefined, project: string, path: (p: string) => { method: string; url: string }) => {
      const { method, url } = path(project);
      const r = await fetch(`${b.url}${url}`, { method, headers: auth ? { Authorization: auth } : {} });
      const text = (await r.text()).replaceAll(project, '<p>');
      return { status: r.status, text };
    };
    const probes: [string, (p: string) => { method: string; url: string }][] = [
      ['pull', (p) => ({ method: 'GET', url: `/v2/${p}/app/manifests/v1` })],
      ['push', (p) => ({ method: 'POST', url: `/v2/${p}/app/blobs/uploads/` })],
      ['delete', (p) => ({ method: 'DELETE', url: `/v2/${p}/app/manifests/v1` })],
      ['tags', (p) => ({ method: 'GET', url: `/v2/${p}/app/tags/list` })],
      ['project', (p) => ({ method: 'GET', url: `/api/v1/projects/${p}` })],
      ['retention', (p) => ({ method: 'GET', url: `/api/v1/projects/${p}/retention` })],
      ['trash', (p) => ({ method: 'GET', url: `/api/v1/trash?project=${p}` })],
    ];
    for (const [who, auth] of [['signed-in stranger', MALLORY], ['anonymous', undefined]] as const) {
      for (const [what, path] of probes) {
        const existing = await refusal(auth, 'victim', path);
        const missing = await refusal(auth, 'nosuchproject', path);
        assert.ok(existing.status === 401 || existing.status === 403, `${who} ${what}: ${existing.status}`);
        assert.equal(existing.status, missing.status, `${who} ${what}: status`);
        // Request ids differ; everything else must be identical.
        const strip = (s: string) => s.replace(/"requestId":"[^"]*"/, '');
        assert.equal(strip(existing.text), strip(missing.text), `${who} ${what}: body`);
      }
    }
    // A member of the project learns why.
    const guestPush = await fetch(`${b.url}/v2/victim/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: GUEST } });
    assert.equal(guestPush.status, 403);
    assert.match(await guestPush.text(), /role guest in project victim does not allow it/);
  });
});
