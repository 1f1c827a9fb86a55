/**
 * Clients that join a cold blob fetch under way read along (the stored prefix, then the
 * stream), with a real upstream on loopback (Distribution) behind a counting proxy that sends
 * the blob slowly and, when asked, with a flipped byte: one upstream GET however many clients,
 * and wrong bytes are never a complete 200 for anyone.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { randomBlob, sha256OfBody } from '../helpers/oci.js';
import { missingTools } from '../helpers/tools.js';
import { pushBlobTo } from './seed.js';
import { CountingProxy, startDistribution, type Distribution } from './upstreams.js';

const MiB = 1024 * 1024;


describe('reading along a cold fetch', { skip: missingTools('docker-registry'), timeout: 120_000 }, () => {
  let plain: Distribution;
  let counting: CountingProxy;
  let cache: TestBerth;
  const ns = `a${Date.now().toString(36)}`;

  before(async () => {
    plain = await startDistribution();
    counting = await CountingProxy.start(plain.url);
    cache = await startBerth({ proxy: { downBackoffSeconds: 1, upstreams: [{ name: 'hub', url: counting.url }] } });
  });

  after(async () => {
    await cache?.close();
    await counting?.close();
    await plain?.dispose();
  });

  test('a client joining a cold fetch under way reads along: its first byte comes before the first client is done, one upstream GET', async () => {
    const block = randomBlob(MiB);
    const blob = Buffer.concat([...Array.from({ length: 47 }, () => block), randomBlob(MiB)]);
    const digest = await pushBlobTo(plain.url, `${ns}/along`, blob);
    counting.faults.set(digest, 'slow');
    const url = `${cache.url}/v2/hub/${ns}/along/blobs/${digest}`;
    const t0 = performance.now();
    const read = async (r: Response, onByte?: (n: number) => void) => {
      const h = createHash('sha256');
      let size = 0;
      let first = 0;
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        if (size === 0) first = performance.now() - t0;
        h.update(chunk);
        size += chunk.byteLength;
        onByte?.(size);
      }
      return { digest: `sha256:${h.digest('hex')}`, size, first, done: performance.now() - t0 };
    };
    let reached!: () => void;
    const halfway = new Promise<void>((r) => (reached = r));
    let firstHas = 0;
    const first = fetch(url).then((r) => read(r, (n) => ((firstHas = n), n >= 20 * MiB && reached())));
    await halfway;
    const joined = await fetch(url);
    assert.equal(joined.status, 200);
    assert.equal(joined.headers.get('content-length'), String(blob.length));
    let firstHadWhenJoinedStarted = -1;
    const [a, b] = await Promise.all([first, read(joined, (n) => void (firstHadWhenJoinedStarted < 0 && n > 0 && (firstHadWhenJoinedStarted = firstHas)))]);
    counting.faults.delete(digest);
    assert.deepEqual({ digest: a.digest, size: a.size }, { digest, size: blob.length });
    assert.deepEqual({ digest: b.digest, size: b.size }, { digest, size: blob.length });
    assert.ok(b.first < a.done, `the joining client's first byte (${b.first.toFixed(0)} ms) came before the first client finished (${a.done.toFixed(0)} ms)`);
    // Well before: the first client was still far from the end (waiting for the stored blob
    // would only start the second client once the first had everything but its last chunk).
    assert.ok(firstHadWhenJoinedStarted < blob.length - 8 * MiB, `the first client had ${firstHadWhenJoinedStarted} of ${blob.length} bytes when the second got its first`);
    assert.equal(counting.count('GET', `/blobs/${digest}`), 1, 'exactly one upstream GET');
  });

  test('a client joining a fetch whose bytes turn out wrong sees its connection fail, never a complete 200', async () => {
    // Over 32 MiB: verified by the hashing thread (UploadService.openBlob).
    const blob = randomBlob(40 * MiB);
    const digest = await pushBlobTo(plain.url, `${ns}/along-bad`, blob);
    counting.faults.set(digest, 'corrupt-slow');
    const url = `${cache.url}/v2/hub/${ns}/along-bad/blobs/${digest}`;
    let reached!: () => void;
    const started = new Promise<void>((r) => (reached = r));
    const first = fetch(url).then(async (r) => {
      let size = 0;
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size >= 2 * MiB) reached();
      }
    });
    await started;
    const joined = await fetch(url);
    assert.equal(joined.status, 200);
    await assert.rejects(sha256OfBody(joined.body), 'the joining client does not get a complete body');
    await assert.rejects(first, 'nor does the first');
    counting.faults.delete(digest);
    await sleep(100);
    assert.equal(await cache.berth.meta.blobs.get(digest as never), undefined, 'nothing was stored');
    await sleep(1100);
  });

});
