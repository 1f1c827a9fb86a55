/**
 * Real clients through the token flow: skopeo copies into a private project with robot
 * credentials (--dest-creds) and out with a user's (--src-creds), is refused without them, and
 * pulls a public project anonymously. Also /v2/_catalog filtering and cross-repository mount
 * needing read on the source. skopeo is required when CI=true.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { randomBlob, sha256 } from '../helpers/oci.js';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';

const run = promisify(execFile);
const SKOPEO = '/usr/bin/skopeo';
const haveSkopeo = existsSync(SKOPEO);
if (!haveSkopeo && process.env.CI === 'true') throw new Error('skopeo is required in CI (apt-get install -y skopeo)');

async function skopeo(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await run(SKOPEO, ['--insecure-policy', ...args], { timeout: 120_000 });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: (err.stdout ?? '') + (err.stderr ?? '') };
  }
}

describe('real clients with access control', { skip: haveSkopeo ? false : 'skopeo not installed' }, () => {
  let b: TestBerth;
  let dir: string;
  let robot: { name: string; secret: string };

  before(async () => {
    b = await startAuthBerth();
    dir = await mkdtemp(join(tmpdir(), 'berth-auth-clients-'));
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'private', public: false }));
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'public', public: true }));
    robot = await ok(api(b.url, 'POST', '/projects/private/robots', ADMIN, { name: 'ci', permissions: ['pull', 'push'] }));
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'reader', password: 'reader-password-1' }));
    await ok(api(b.url, 'PUT', '/projects/private/members/reader', ADMIN, { role: 'guest' }));
    // A small OCI layout to copy from.
    const layout = join(dir, 'src');
    const r = await skopeo(['copy', `docker://${b.host}/private/none:latest`, `oci:${layout}:x`, '--src-tls-verify=false']);
    assert.equal(r.ok, false); // nothing there yet, and no credentials: refused
    await seedLayout(layout);
  });
  after(async () => {
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function seedLayout(layout: string): Promise<void> {
    // Push one image over HTTP as admin, then copy it into a local OCI layout with skopeo.
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = randomBlob(5000);
    for (const blob of [config, layer]) {
      const res = await fetch(`${b.url}/v2/private/seed/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob as unknown as BodyInit, headers: { Authorization: ADMIN, 'Content-Type': 'application/octet-stream' } });
      assert.equal(res.status, 201);
    }
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    });
    const put = await fetch(`${b.url}/v2/private/seed/manifests/v1`, { method: 'PUT', body: manifest, headers: { Authorization: ADMIN, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(put.status, 201);
    const r = await skopeo(['copy', `docker://${b.host}/private/seed:v1`, `oci:${layout}:v1`, '--src-tls-verify=false', '--src-creds', `admin:admin-secret-1`]);
    assert.ok(r.ok, r.out);
  }

  test('skopeo pushes to a private project with robot credentials through the token flow', async () => {
    const r = await skopeo(['copy', `oci:${join(dir, 'src')}:v1`, `docker://${b.host}/private/app:1.0`, '--dest-tls-verify=false', '--dest-creds', `${robot.name}:${robot.secret}`]);
    assert.ok(r.ok, r.out);
    const issued = await ok(api(b.url, 'GET', `/audit?action=token.issue&user=${encodeURIComponent(robot.name)}`, ADMIN));
    assert.ok(issued.items.length > 0, 'skopeo went through /auth/token');
  });

  test('skopeo without credentials is refused with an authentication error', async () => {
    const r = await skopeo(['inspect', '--tls-verify=false', `docker://${b.host}/private/app:1.0`]);
    assert.equal(r.ok, false);
    assert.match(r.out, /unauthorized|authentication required|401/i);
  });

  test('skopeo pulls with a guest user; a guest cannot push', async () => {
    const out = join(dir, 'pulled');
    const r = await skopeo(['copy', `docker://${b.host}/private/app:1.0`, `oci:${out}:x`, '--src-tls-verify=false', '--src-creds', 'reader:reader-password-1']);
    assert.ok(r.ok, r.out);
    const push = await skopeo(['copy', `oci:${join(dir, 'src')}:v1`, `docker://${b.host}/private/app:guest`, '--dest-tls-verify=false', '--dest-creds', 'reader:reader-password-1']);
    assert.equal(push.ok, false);
    assert.match(push.out, /denied|unauthorized|authentication required/i);
  });

  test('anonymous skopeo pulls from a public project', async () => {
    const push = await skopeo(['copy', `oci:${join(dir, 'src')}:v1`, `docker://${b.host}/public/app:1.0`, '--dest-tls-verify=false', '--dest-creds', 'admin:admin-secret-1']);
    assert.ok(push.ok, push.out);
    const r = await skopeo(['inspect', '--tls-verify=false', `docker://${b.host}/public/app:1.0`]);
    assert.ok(r.ok, r.out);
    const anonPush = await skopeo(['copy', `oci:${join(dir, 'src')}:v1`, `docker://${b.host}/public/app:anon`, '--dest-tls-verify=false']);
    assert.equal(anonPush.ok, false);
  });

  test('/v2/_catalog lists only what the caller may read', async () => {
    const admin = (await (await fetch(`${b.url}/v2/_catalog`, { headers: { Authorization: ADMIN } })).json()) as { repositories: string[] };
    assert.deepEqual(admin.repositories, ['private/app', 'private/seed', 'public/app']);
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'stranger', password: 'stranger-password-1' }));
    const stranger = (await (await fetch(`${b.url}/v2/_catalog`, { headers: { Authorization: basic('stranger', 'stranger-password-1') } })).json()) as { repositories: string[] };
    assert.deepEqual(stranger.repositories, ['public/app']);
    const paged = await fetch(`${b.url}/v2/_catalog?n=1`, { headers: { Authorization: basic('stranger', 'stranger-password-1') } });
    assert.deepEqual(((await paged.json()) as { repositories: string[] }).repositories, ['public/app']);
    assert.equal((await fetch(`${b.url}/v2/_catalog`)).status, 401);
  });

  test('cross-repository mount needs read on the source, else the 202 fallback', async () => {
    const blob = randomBlob(300);
    const d = sha256(blob);
    const up = await fetch(`${b.url}/v2/private/app/blobs/uploads/?digest=${d}`, { method: 'POST', body: blob as unknown as BodyInit, headers: { Authorization: ADMIN } });
    assert.equal(up.status, 201);
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'other', public: false }));
    const other = await ok(api(b.url, 'POST', '/projects/other/robots', ADMIN, { name: 'ci', permissions: ['pull', 'push'] }));
    const denied = await fetch(`${b.url}/v2/other/app/blobs/uploads/?mount=${d}&from=private/app`, { method: 'POST', headers: { Authorization: basic(other.name, other.secret) } });
    assert.equal(denied.status, 202, 'no read on private/app: ordinary upload instead of a mount');
    const mounted = await fetch(`${b.url}/v2/other/app/blobs/uploads/?mount=${d}&from=private/app`, { method: 'POST', headers: { Authorization: ADMIN } });
    assert.equal(mounted.status, 201);
  });
});
