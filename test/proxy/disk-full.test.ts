/**
 * A cache whose disk fills during a cold fetch: the blob store sits on a small tmpfs mounted by
 * the test (as root; CI runs as root), the upstream is a real Distribution on loopback. A blob
 * larger than the free space is pulled through the cache: the client's connection fails (never
 * a complete 200), the fetch ends at once instead of waiting on a store that will never take
 * more, nothing is stored, the space is given back, and a blob that fits is cached afterwards.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { randomBlob } from '../helpers/oci.js';
import { mountTmpfs, tmpfsSkipReason, type Tmpfs } from '../helpers/tmpfs.js';
import { missingTools } from '../helpers/tools.js';
import { pushBlobTo } from './seed.js';
import { startDistribution, type Distribution } from './upstreams.js';

const MiB = 1024 * 1024;

describe('pull-through cache on a full disk', { skip: tmpfsSkipReason() ?? missingTools('docker-registry'), timeout: 120_000 }, () => {
  let fs: Tmpfs;
  let upstream: Distribution;
  let b: TestBerth;
  let elsewhere: string;

  before(async () => {
    fs = await mountTmpfs('12m');
    elsewhere = await mkdtemp(join(tmpdir(), 'berth-proxy-full-'));
    upstream = await startDistribution();
    b = await startBerth({
      dataDir: elsewhere,
      storage: { driver: 'filesystem', filesystem: { root: join(fs.dir, 'storage') } },
      proxy: { upstreams: [{ name: 'hub', url: upstream.url }] },
    });
  });
  after(async () => {
    await b?.close();
    await upstream?.dispose();
    await fs?.unmount();
    if (elsewhere) await rm(elsewhere, { recursive: true, force: true });
  });

  async function pull(digest: string): Promise<{ status: number; body: Promise<{ digest: string; size: number }> }> {
    const r = await fetch(`${b.url}/v2/hub/team/app/blobs/${digest}`);
    const body = (async () => {
      const h = createHash('sha256');
      let size = 0;
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        h.update(chunk);
        size += chunk.byteLength;
      }
      return { digest: `sha256:${h.digest('hex')}`, size };
    })();
    body.catch(() => {});
    return { status: r.status, body };
  }

  it('a blob larger than the free space fails the client, stores nothing and gives the space back', async () => {
    const big = randomBlob(40 * MiB);
    const bigDigest = await pushBlobTo(upstream.url, 'team/app', big);
    const t0 = performance.now();
    const r = await pull(bigDigest);
    assert.equal(r.status, 200, 'the first bytes went out before the disk filled');
    await assert.rejects(r.body, 'the body fails instead of completing');
    assert.ok(performance.now() - t0 < 30_000, 'the fetch ended at once');
    assert.equal(await b.berth.meta.blobs.get(bigDigest as never), undefined, 'nothing was stored');

    // The failed fetch gave its space back: a blob that fits is cached and served whole.
    const small = randomBlob(6 * MiB);
    const smallDigest = await pushBlobTo(upstream.url, 'team/app', small);
    const ok = await pull(smallDigest);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.body, { digest: smallDigest, size: small.length });
    const again = await fetch(`${b.url}/v2/hub/team/app/blobs/${smallDigest}`);
    assert.equal(again.headers.get('x-berth-proxy'), 'hit');
    await again.arrayBuffer();
  });
});
