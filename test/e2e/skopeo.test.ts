/**
 * End-to-end: skopeo and umoci (real clients from Debian) against a real Berth process over
 * plain HTTP on loopback. Images are built locally as OCI layouts with umoci, pushed, inspected,
 * pulled back and compared digest by digest; also a multi-platform index, Docker schema 2
 * conversion, tag listing, a cross-repository copy that must mount instead of re-uploading,
 * and delete by digest.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { initLayout, readBlob, readIndexJson, refDescriptor, sha256Hex, umociImage, writeIndex, type Descriptor, type OciManifest } from '../helpers/layout.js';
import { BerthProcess } from '../helpers/process.js';
import { missingTools, run } from '../helpers/tools.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

function skopeo(...args: string[]) {
  return run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 60000 });
}

describe('skopeo + umoci against a Berth process', { skip: missingTools('skopeo', 'umoci'), timeout: 120000 }, () => {
  let berth: BerthProcess;
  let work: string;
  let layout: string;
  let image: Descriptor;
  let imageManifestBytes: Buffer;
  let other: Descriptor;
  // A fresh namespace per run: skopeo's blob-info cache outlives the test and remembers repositories.
  const ns = `e2e${Date.now().toString(36)}`;
  const reg = () => berth.host;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-skopeo-'));
    layout = join(work, 'layout');
    await initLayout(layout);
    image = await umociImage(layout, 'v1', { scratch: work, files: { '/etc/motd': 'hello from berth e2e\n', '/opt/app/data.txt': 'x'.repeat(5000) } });
    other = await umociImage(layout, 'other', { scratch: work, files: { '/other.txt': `other ${Math.random()}\n` } });
    imageManifestBytes = await readBlob(layout, image.digest);
    berth = await BerthProcess.start();
  });

  after(async () => {
    await berth?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('push an OCI image, inspect it, pull it back unchanged', async () => {
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${reg()}/${ns}/app:v1`);

    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg()}/${ns}/app:v1`);
    assert.equal(raw.stdout, imageManifestBytes.toString('utf8'), 'the registry serves the manifest bytes as pushed');

    const info = JSON.parse((await skopeo('inspect', '--tls-verify=false', `docker://${reg()}/${ns}/app:v1`)).stdout) as { Digest: string; Layers: string[]; Architecture: string; Os: string; Labels: Record<string, string> };
    const manifest = JSON.parse(imageManifestBytes.toString('utf8')) as OciManifest;
    assert.equal(info.Digest, image.digest);
    assert.deepEqual(info.Layers, manifest.layers.map((l) => l.digest));
    assert.equal(manifest.layers.length, 2);
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Os, 'linux');
    assert.equal(info.Labels['e2e.tag'], 'v1');

    const r = await fetch(`${berth.url}/v2/${ns}/app/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), OCI_MANIFEST);
    assert.equal(r.headers.get('docker-content-digest'), `sha256:${sha256Hex(body)}`);

    const back = join(work, 'back');
    await skopeo('copy', '--src-tls-verify=false', `docker://${reg()}/${ns}/app:v1`, `oci:${back}:v1`);
    const pulled = await refDescriptor(back, 'v1');
    assert.equal(pulled.digest, image.digest, 'same manifest digest after the round trip');
    const pulledManifest = JSON.parse((await readBlob(back, pulled.digest)).toString('utf8')) as OciManifest;
    assert.deepEqual(pulledManifest.layers.map((l) => l.digest), manifest.layers.map((l) => l.digest));
    assert.equal(pulledManifest.config.digest, manifest.config.digest);
    // readBlob verifies every blob's bytes against its digest.
    for (const d of [pulledManifest.config, ...pulledManifest.layers]) {
      assert.deepEqual(await readBlob(back, d.digest), await readBlob(layout, d.digest));
    }
  });

  test('a multi-platform index is pushed with --all and every platform is pullable', async () => {
    const mlayout = join(work, 'multi');
    await initLayout(mlayout);
    const amd64 = await umociImage(mlayout, 'amd64', { scratch: work, architecture: 'amd64', files: { '/arch': 'amd64\n' } });
    const arm64 = await umociImage(mlayout, 'arm64', { scratch: work, architecture: 'arm64', files: { '/arch': 'arm64\n' } });
    const { descriptor: index, bytes } = await writeIndex(mlayout, 'multi', [
      { ...amd64, platform: { architecture: 'amd64', os: 'linux' } },
      { ...arm64, platform: { architecture: 'arm64', os: 'linux' } },
    ]);

    await skopeo('copy', '--all', '--dest-tls-verify=false', `oci:${mlayout}:multi`, `docker://${reg()}/${ns}/multi:latest`);

    const r = await fetch(`${berth.url}/v2/${ns}/multi/manifests/latest`, { headers: { Accept: OCI_INDEX } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), OCI_INDEX);
    assert.equal(r.headers.get('docker-content-digest'), index.digest);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), bytes);

    for (const [arch, child] of [['amd64', amd64], ['arm64', arm64]] as const) {
      const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg()}/${ns}/multi@${child.digest}`);
      assert.equal(`sha256:${sha256Hex(raw.stdout)}`, child.digest, `${arch} child by digest`);
      // Pulling the tag for one platform resolves the index to that child.
      const out = join(work, `multi-${arch}`);
      await skopeo('copy', '--src-tls-verify=false', '--override-os', 'linux', '--override-arch', arch, `docker://${reg()}/${ns}/multi:latest`, `oci:${out}:x`);
      assert.equal((await refDescriptor(out, 'x')).digest, child.digest, `${arch} platform pulled`);
      const m = JSON.parse((await readBlob(out, child.digest)).toString('utf8')) as OciManifest;
      for (const d of [m.config, ...m.layers]) await readBlob(out, d.digest);
    }
  });

  test('Docker schema 2 (--format v2s2): pushed, served with Docker media types, pulled back', async () => {
    await skopeo('copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${reg()}/${ns}/docker:v2`);

    const r = await fetch(`${berth.url}/v2/${ns}/docker/manifests/v2`, { headers: { Accept: `${DOCKER_MANIFEST}, ${OCI_MANIFEST}` } });
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), DOCKER_MANIFEST);
    assert.equal(r.headers.get('docker-content-digest'), `sha256:${sha256Hex(body)}`);
    const manifest = JSON.parse(body.toString('utf8')) as OciManifest;
    assert.equal(manifest.mediaType, DOCKER_MANIFEST);
    assert.equal(manifest.config.mediaType, DOCKER_CONFIG);
    assert.ok(manifest.layers.length === 2 && manifest.layers.every((l) => l.mediaType === DOCKER_LAYER));

    const head = await fetch(`${berth.url}/v2/${ns}/docker/manifests/v2`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-type'), DOCKER_MANIFEST);
    assert.equal(head.headers.get('content-length'), String(body.length));

    // dir: keeps the manifest exactly as served.
    const dir = join(work, 'docker-dir');
    await skopeo('copy', '--src-tls-verify=false', `docker://${reg()}/${ns}/docker:v2`, `dir:${dir}`);
    assert.deepEqual(await readFile(join(dir, 'manifest.json')), body);
    for (const d of [manifest.config, ...manifest.layers]) {
      const bytes = await readFile(join(dir, d.digest.split(':')[1]!));
      assert.equal(`sha256:${sha256Hex(bytes)}`, d.digest);
      assert.equal(bytes.length, d.size);
    }
  });

  test('list-tags', async () => {
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${reg()}/${ns}/app:latest`);
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:other`, `docker://${reg()}/${ns}/app:other`);
    const out = JSON.parse((await skopeo('list-tags', '--tls-verify=false', `docker://${reg()}/${ns}/app`)).stdout) as { Repository: string; Tags: string[] };
    assert.equal(out.Repository, `${reg()}/${ns}/app`);
    assert.deepEqual([...out.Tags].sort(), ['latest', 'other', 'v1']);
  });

  test('a copy between repositories of the registry mounts the layers instead of uploading them', async () => {
    const { stderr } = await skopeo('--debug', 'copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${reg()}/${ns}/app:v1`, `docker://${reg()}/${ns}/copy:v1`);
    const manifest = JSON.parse(imageManifestBytes.toString('utf8')) as OciManifest;
    const layers = manifest.layers.map((l) => l.digest);

    // Uploads that were finished in the target repository (PUT .../uploads/<id>?digest=...).
    const finished = [...stderr.matchAll(/PUT http:\/\/[^ ]+\/v2\/[^ ]+\/copy\/blobs\/uploads\/[^?]+\?digest=([^"\s&]+)/g)].map((m) => decodeURIComponent(m[1]!));
    for (const l of layers) assert.ok(!finished.includes(l), `layer ${l} was uploaded again: ${finished.join(', ')}`);
    for (const l of layers) {
      assert.match(stderr, new RegExp(`POST http://[^ ]+/copy/blobs/uploads/\\?from=[^ ]*mount=${encodeURIComponent(l)}`), `mount of ${l} attempted`);
    }
    assert.match(stderr, /mount OK/);

    // The registry's own record of how each layer got there (SQLite runs only; on PostgreSQL
    // the request log above is the evidence).
    const db = process.env.BERTH_TEST_METADATA === 'postgres' ? undefined : new Database(join(berth.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
    if (db) try {
      const rows = db
        .prepare('SELECT rb.digest, rb.source FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.name = ?')
        .all(`${ns}/copy`) as { digest: string; source: string }[];
      const source = new Map(rows.map((r) => [r.digest, r.source]));
      for (const l of layers) assert.equal(source.get(l), 'mounted', `layer ${l} in ${ns}/copy`);
    } finally {
      db.close();
    }

    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg()}/${ns}/copy:v1`);
    assert.equal(raw.stdout, imageManifestBytes.toString('utf8'));
    const blob = await fetch(`${berth.url}/v2/${ns}/copy/blobs/${layers[0]}`);
    assert.equal(blob.status, 200);
    assert.equal(`sha256:${sha256Hex(Buffer.from(await blob.arrayBuffer()))}`, layers[0]);
  });

  test('skopeo delete by digest removes the manifest and its tags; other manifests stay', async () => {
    await skopeo('delete', '--tls-verify=false', `docker://${reg()}/${ns}/app@${image.digest}`);
    for (const ref of ['v1', 'latest', image.digest]) {
      const r = await fetch(`${berth.url}/v2/${ns}/app/manifests/${ref}`, { method: 'HEAD' });
      assert.equal(r.status, 404, `${ref} after delete`);
    }
    await assert.rejects(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg()}/${ns}/app:v1`), /manifest unknown|not found/i);
    const kept = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg()}/${ns}/app:other`);
    assert.equal(`sha256:${sha256Hex(kept.stdout)}`, other.digest);
    const tags = JSON.parse((await skopeo('list-tags', '--tls-verify=false', `docker://${reg()}/${ns}/app`)).stdout) as { Tags: string[] };
    assert.deepEqual(tags.Tags, ['other']);
    // The copy in the other repository is untouched.
    const copy = await fetch(`${berth.url}/v2/${ns}/copy/manifests/v1`, { method: 'HEAD' });
    assert.equal(copy.status, 200);
    // Every layout still has its index (nothing was written through to the source layout).
    assert.ok((await readIndexJson(layout)).manifests.length >= 2);
  });

  test('the server logged no errors', () => {
    assert.doesNotMatch(berth.log, /"level":(50|60)/, berth.log);
  });
});
