/**
 * End-to-end: buildah builds an image from scratch and pushes it (OCI and Docker schema 2),
 * podman pulls it back and pushes it to another repository, against a real Berth process over
 * plain HTTP on loopback. Both tools run headless as root with the vfs storage driver in
 * private temp storage, so nothing touches the host's container storage. Containers are not
 * run (the sandbox forbids setrlimit for crun); only the registry traffic is under test.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BerthProcess } from '../helpers/process.js';
import { missingTools, run } from '../helpers/tools.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

function sha256(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

describe('buildah + podman against a Berth process', { skip: missingTools('buildah', 'podman'), timeout: 120000 }, () => {
  let berth: BerthProcess;
  let work: string;
  let imageId: string;
  const ns = `e2e${Date.now().toString(36)}`;

  const buildah = (...args: string[]) => run('buildah', ['--root', join(work, 'buildah'), '--runroot', join(work, 'buildah-run'), '--storage-driver', 'vfs', ...args]);
  const podman = (...args: string[]) =>
    run('podman', ['--root', join(work, 'podman'), '--runroot', join(work, 'podman-run'), '--storage-driver', 'vfs', '--events-backend', 'file', '--cgroup-manager', 'cgroupfs', ...args]);

  async function manifest(repo: string, ref: string): Promise<{ contentType: string | null; digest: string | null; body: Buffer }> {
    const r = await fetch(`${berth.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: `${OCI_MANIFEST}, ${DOCKER_MANIFEST}` } });
    assert.equal(r.status, 200, `${repo}:${ref}`);
    return { contentType: r.headers.get('content-type'), digest: r.headers.get('docker-content-digest'), body: Buffer.from(await r.arrayBuffer()) };
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-podman-'));
    berth = await BerthProcess.start();
    const ctr = (await buildah('from', 'scratch')).stdout.trim();
    await writeFile(join(work, 'hello.txt'), `hello from buildah ${Math.random()}\n`);
    await buildah('copy', ctr, join(work, 'hello.txt'), '/hello.txt');
    await buildah('config', '--cmd', '/hello.txt', '--label', 'e2e=podman', ctr);
    imageId = (await buildah('commit', '-q', ctr, 'localhost/berth-e2e:v1')).stdout.trim();
    await buildah('rm', ctr);
  });

  after(async () => {
    await berth?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('buildah push (OCI and Docker schema 2)', async () => {
    await buildah('push', '--tls-verify=false', 'localhost/berth-e2e:v1', `docker://${berth.host}/${ns}/app:oci`);
    await buildah('push', '--tls-verify=false', '--format', 'v2s2', 'localhost/berth-e2e:v1', `docker://${berth.host}/${ns}/app:docker`);

    const oci = await manifest(`${ns}/app`, 'oci');
    assert.equal(oci.contentType, OCI_MANIFEST);
    assert.equal(oci.digest, sha256(oci.body));
    const docker = await manifest(`${ns}/app`, 'docker');
    assert.equal(docker.contentType, DOCKER_MANIFEST);
    assert.equal(docker.digest, sha256(docker.body));
    // The image id is the config digest; both formats carry the same config.
    for (const m of [oci, docker]) {
      const parsed = JSON.parse(m.body.toString('utf8')) as { config: { digest: string } };
      assert.equal(parsed.config.digest, `sha256:${imageId}`);
    }
  });

  test('podman pull gets the same image (by tag and by digest)', async () => {
    const oci = await manifest(`${ns}/app`, 'oci');
    const pulled = (await podman('pull', '-q', '--tls-verify=false', `${berth.host}/${ns}/app:oci`)).stdout.trim();
    assert.equal(pulled, imageId);
    const digest = (await podman('image', 'inspect', '--format', '{{.Digest}}', `${berth.host}/${ns}/app:oci`)).stdout.trim();
    assert.equal(digest, oci.digest);
    const byDigest = (await podman('pull', '-q', '--tls-verify=false', `${berth.host}/${ns}/app@${oci.digest}`)).stdout.trim();
    assert.equal(byDigest, imageId);
    const docker = (await podman('pull', '-q', '--tls-verify=false', `${berth.host}/${ns}/app:docker`)).stdout.trim();
    assert.equal(docker, imageId);
  });

  test('podman push to another repository', async () => {
    await podman('tag', `${berth.host}/${ns}/app:oci`, `${berth.host}/${ns}/copy:v1`);
    await podman('push', '--tls-verify=false', `${berth.host}/${ns}/copy:v1`);
    const m = await manifest(`${ns}/copy`, 'v1');
    const parsed = JSON.parse(m.body.toString('utf8')) as { config: { digest: string }; layers: { digest: string; size: number }[] };
    assert.equal(parsed.config.digest, `sha256:${imageId}`);
    for (const l of parsed.layers) {
      const r = await fetch(`${berth.url}/v2/${ns}/copy/blobs/${l.digest}`);
      const bytes = Buffer.from(await r.arrayBuffer());
      assert.equal(r.status, 200);
      assert.equal(sha256(bytes), l.digest);
      assert.equal(bytes.length, l.size);
    }
    const tags = (await (await fetch(`${berth.url}/v2/${ns}/copy/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['v1']);
  });

  test('podman manifest push --all (Docker manifest list and OCI index), then pull through the list', async () => {
    await podman('manifest', 'create', 'localhost/berth-e2e-list:v1');
    await podman('manifest', 'add', 'localhost/berth-e2e-list:v1', `containers-storage:${berth.host}/${ns}/app:oci`);
    await podman('manifest', 'push', '--all', '--tls-verify=false', '--format', 'v2s2', 'localhost/berth-e2e-list:v1', `docker://${berth.host}/${ns}/list:docker`);
    await podman('manifest', 'push', '--all', '--tls-verify=false', '--format', 'oci', 'localhost/berth-e2e-list:v1', `docker://${berth.host}/${ns}/list:oci`);

    for (const [tag, type] of [['docker', DOCKER_LIST], ['oci', OCI_INDEX]] as const) {
      const r = await fetch(`${berth.url}/v2/${ns}/list/manifests/${tag}`, { headers: { Accept: `${DOCKER_LIST}, ${OCI_INDEX}` } });
      const body = Buffer.from(await r.arrayBuffer());
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), type);
      assert.equal(r.headers.get('docker-content-digest'), sha256(body));
      const list = JSON.parse(body.toString('utf8')) as { mediaType: string; manifests: { digest: string; platform: { architecture: string } }[] };
      assert.equal(list.mediaType, type);
      assert.equal(list.manifests.length, 1);
      const child = await fetch(`${berth.url}/v2/${ns}/list/manifests/${list.manifests[0]!.digest}`, { method: 'HEAD' });
      assert.equal(child.status, 200);
      // Pulling the list's tag resolves it to the platform's image.
      const id = (await podman('pull', '-q', '--tls-verify=false', '--arch', list.manifests[0]!.platform.architecture, `${berth.host}/${ns}/list:${tag}`)).stdout.trim();
      assert.equal(id, imageId);
    }
    assert.doesNotMatch(berth.log, /"level":(50|60)/, berth.log);
  });
});
