/**
 * What real clients show when the registry's disk is full: skopeo and podman push an image
 * whose layer cannot fit on the small tmpfs holding the blob store, fail, and print the cause
 * (containers/image reports the status of a failed chunk upload, `507 Insufficient Storage`,
 * where it would otherwise print a bare 500); once space is freed the same push succeeds.
 * Needs root (tmpfs) and skopeo, umoci and podman.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { initLayout, umociImage } from '../helpers/layout.js';
import { mountTmpfs, tmpfsSkipReason, type Tmpfs } from '../helpers/tmpfs.js';
import { missingTools, run } from '../helpers/tools.js';

const MiB = 1024 * 1024;
const skip = tmpfsSkipReason() ?? missingTools('skopeo', 'umoci', 'podman');

async function fails(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail('the push succeeded although the disk is full');
}

describe('skopeo and podman on a full disk', { skip, timeout: 300_000 }, () => {
  let fs: Tmpfs;
  let b: TestBerth;
  let work: string;
  let layout: string;
  const ns = `full${Date.now().toString(36)}`;
  const podman = (...args: string[]) =>
    run('podman', ['--root', join(work, 'podman'), '--runroot', join(work, 'podman-run'), '--storage-driver', 'vfs', '--events-backend', 'file', '--cgroup-manager', 'cgroupfs', ...args], { timeoutMs: 120_000 });
  const skopeo = (...args: string[]) => run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 120_000 });

  before(async () => {
    // Lower case: podman names an image pulled from an OCI layout after the layout's path.
    work = join(tmpdir(), `bfc-${Date.now().toString(36)}`);
    await mkdir(work);
    layout = join(work, 'layout');
    await initLayout(layout);
    // Random text barely compresses: a layer of about 4 MiB.
    await umociImage(layout, 'big', { scratch: work, files: { '/data.txt': randomBytes(4 * MiB).toString('base64').slice(0, 5 * MiB) } });
    await umociImage(layout, 'other', { scratch: work, files: { '/other.txt': randomBytes(4 * MiB).toString('base64').slice(0, 5 * MiB) } });
    fs = await mountTmpfs('32m');
    b = await startBerth({ storage: { driver: 'filesystem', filesystem: { root: join(fs.dir, 'storage') } }, jobs: { enabled: false, concurrency: 1, pollMs: 1000, leaseSeconds: 60 } });
  });
  after(async () => {
    await b?.close();
    await fs?.unmount();
    await rm(work, { recursive: true, force: true });
  });

  it('skopeo copy prints that the registry storage is full, and succeeds once space is freed', async () => {
    const filler = await fs.leaveFree(2 * MiB);
    const message = await fails(skopeo('copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${layout}:big`, `docker://${b.host}/${ns}/skopeo:v1`));
    assert.match(message, /507 Insufficient Storage|storage is full/, message);
    assert.doesNotMatch(message, /500 Internal Server Error|see the server log/);
    await filler.release();
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:big`, `docker://${b.host}/${ns}/skopeo:v1`);
  });

  it('podman push prints that the registry storage is full', async () => {
    const id = (await podman('pull', '-q', `oci:${layout}:other`)).stdout.trim().split('\n').at(-1)!;
    await podman('tag', id, `${b.host}/${ns}/podman:v1`);
    const filler = await fs.leaveFree(2 * MiB);
    const message = await fails(podman('push', '--tls-verify=false', `${b.host}/${ns}/podman:v1`));
    assert.match(message, /507 Insufficient Storage|storage is full/, message);
    assert.doesNotMatch(message, /500 Internal Server Error|see the server log/);
    await filler.release();
    await podman('push', '--tls-verify=false', `${b.host}/${ns}/podman:v1`);
  });
});
