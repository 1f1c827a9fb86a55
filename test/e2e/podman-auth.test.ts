/**
 * End-to-end access control with podman and buildah: a robot with push pushes to a private
 * project through the Docker token flow, a user logs in with `podman login` and pulls, and an
 * anonymous pull of the private project is refused. Runs against a Berth process with access
 * control on, over plain HTTP on loopback, with private vfs storage.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BerthProcess } from '../helpers/process.js';
import { missingTools, run } from '../helpers/tools.js';

const ADMIN = 'admin';
const PASSWORD = 'e2e-admin-password-1';

describe('podman and buildah with credentials', { skip: missingTools('buildah', 'podman'), timeout: 120000 }, () => {
  let berth: BerthProcess;
  let work: string;
  const project = `priv${Date.now().toString(36)}`;
  let robot: { name: string; secret: string };

  const buildah = (...args: string[]) => run('buildah', ['--root', join(work, 'buildah'), '--runroot', join(work, 'buildah-run'), '--storage-driver', 'vfs', ...args]);
  const podman = (...args: string[]) =>
    run('podman', ['--root', join(work, 'podman'), '--runroot', join(work, 'podman-run'), '--storage-driver', 'vfs', '--events-backend', 'file', '--cgroup-manager', 'cgroupfs', ...args]);

  async function api(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${berth.url}${path}`, {
      method,
      headers: { Authorization: 'Basic ' + Buffer.from(`${ADMIN}:${PASSWORD}`).toString('base64'), 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-podman-auth-'));
    berth = await BerthProcess.start({ env: { BERTH_AUTH__ENABLED: 'true', BERTH_ADMIN_PASSWORD: PASSWORD } });
    assert.equal((await api('POST', '/api/v1/projects', { name: project, public: false })).status, 201);
    const r = await api('POST', `/api/v1/projects/${project}/robots`, { name: 'ci', permissions: ['pull', 'push'] });
    assert.equal(r.status, 201);
    robot = (await r.json()) as { name: string; secret: string };
    assert.equal((await api('POST', '/api/v1/users', { name: 'dev', password: 'dev-password-123' })).status, 201);
    assert.ok([200, 201, 204].includes((await api('PUT', `/api/v1/projects/${project}/members/dev`, { role: 'guest' })).status));
    const ctr = (await buildah('from', 'scratch')).stdout.trim();
    await writeFile(join(work, 'f.txt'), `private ${Math.random()}\n`);
    await buildah('copy', ctr, join(work, 'f.txt'), '/f.txt');
    await buildah('commit', '-q', ctr, 'localhost/berth-auth:v1');
    await buildah('rm', ctr);
  });

  after(async () => {
    await berth?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('buildah pushes with the robot credentials; without them the push is refused', async () => {
    const target = `docker://${berth.host}/${project}/app:v1`;
    await assert.rejects(buildah('push', '--tls-verify=false', 'localhost/berth-auth:v1', target), /unauthorized|authentication required|denied/i);
    await buildah('push', '--tls-verify=false', '--creds', `${robot.name}:${robot.secret}`, 'localhost/berth-auth:v1', target);
    const anon = await fetch(`${berth.url}/v2/${project}/app/manifests/v1`);
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Bearer realm="[^"]+\/auth\/token",service="[^"]+",scope="repository:[^"]+:pull"/);
  });

  test('podman login as a guest pulls, an anonymous pull is refused, and the guest cannot push', async () => {
    const authfile = join(work, 'auth.json');
    await writeFile(authfile, '{"auths":{}}');
    await assert.rejects(podman('pull', '-q', '--tls-verify=false', '--authfile', authfile, `${berth.host}/${project}/app:v1`), /unauthorized|authentication required|denied/i);
    await podman('login', '--tls-verify=false', '--authfile', authfile, '-u', 'dev', '-p', 'dev-password-123', berth.host);
    const id = (await podman('pull', '-q', '--tls-verify=false', '--authfile', authfile, `${berth.host}/${project}/app:v1`)).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    await assert.rejects(podman('push', '--tls-verify=false', '--authfile', authfile, `${berth.host}/${project}/app:v1`, `docker://${berth.host}/${project}/app:guest`), /denied|unauthorized/i);
  });
});
