/**
 * Two cache nodes over one PostgreSQL database and one blob folder, in front of one upstream
 * (Distribution behind a counting proxy): what one node cached the other serves without asking
 * the upstream, and concurrent cold pulls through both nodes make at most one upstream GET per
 * node (single flight is per process, not across nodes) with every client getting the right
 * bytes and one stored blob.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { randomBlob } from '../helpers/oci.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { missingTools } from '../helpers/tools.js';
import { pushBlobTo, seedImage } from './seed.js';
import { CountingProxy, startDistribution, type Distribution } from './upstreams.js';

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

async function digestOf(r: Response): Promise<string> {
  const h = createHash('sha256');
  for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) h.update(c);
  return `sha256:${h.digest('hex')}`;
}

describe('pull-through cache on two nodes over PostgreSQL', { skip: missingTools('docker-registry') || (await postgresSkipReason()), timeout: 120_000 }, () => {
  let upstream: Distribution;
  let counting: CountingProxy;
  let db: TestDatabase;
  let storage: string;
  let a: TestBerth;
  let b: TestBerth;
  const ns = `m${Date.now().toString(36)}`;

  before(async () => {
    upstream = await startDistribution();
    counting = await CountingProxy.start(upstream.url);
    db = await createTestDatabase();
    storage = await mkdtemp(join(tmpdir(), 'berth-proxy-nodes-'));
    const config = {
      metadata: { driver: 'postgres' as const, postgres: { url: db.url } },
      storage: { driver: 'filesystem' as const, filesystem: { root: storage } },
      proxy: { upstreams: [{ name: 'hub', url: counting.url }] },
      // Nodes share the key that seals the token signing keys in the shared database.
      auth: { enabled: false, keyEncryptionKey: 'multinode-test-key-encryption-key-0123456789' },
    };
    a = await startBerth(config);
    b = await startBerth(config);
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
    await counting?.close();
    await upstream?.dispose();
    if (storage) await rm(storage, { recursive: true, force: true });
  });

  test('what one node cached, the other serves without asking the upstream', async () => {
    const img = await seedImage(upstream.url, `${ns}/app`, 'v1');
    const m = await fetch(`${a.url}/v2/hub/${ns}/app/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(m.headers.get('x-berth-proxy'), 'miss');
    await m.arrayBuffer();
    for (const d of img.blobs) assert.equal(await digestOf(await fetch(`${a.url}/v2/hub/${ns}/app/blobs/${d}`)), d);

    const m2 = await fetch(`${b.url}/v2/hub/${ns}/app/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(m2.headers.get('x-berth-proxy'), 'hit');
    assert.equal(m2.headers.get('docker-content-digest'), img.digest);
    await m2.arrayBuffer();
    for (const d of img.blobs) {
      const r = await fetch(`${b.url}/v2/hub/${ns}/app/blobs/${d}`);
      assert.equal(r.headers.get('x-berth-proxy'), 'hit');
      assert.equal(await digestOf(r), d);
      assert.equal(counting.count('GET', `/blobs/${d}`), 1);
    }
    assert.equal(counting.count('GET', `/${ns}/app/manifests/v1`), 1);
  });

  test('concurrent cold pulls through both nodes: at most one upstream GET per node, right bytes everywhere', async () => {
    const blob = randomBlob(16 * 1024 * 1024);
    const digest = await pushBlobTo(upstream.url, `${ns}/big`, blob);
    const got = await Promise.all(
      Array.from({ length: 8 }, (_, i) => fetch(`${(i % 2 ? a : b).url}/v2/hub/${ns}/big/blobs/${digest}`).then(async (r) => (assert.equal(r.status, 200), digestOf(r)))),
    );
    for (const d of got) assert.equal(d, digest);
    const gets = counting.count('GET', `/blobs/${digest}`);
    assert.ok(gets >= 1 && gets <= 2, `${gets} upstream GETs for 2 nodes`);
    assert.equal((await a.berth.meta.blobs.get(digest as never))?.size, blob.length);
    const after = await fetch(`${b.url}/v2/hub/${ns}/big/blobs/${digest}`);
    assert.equal(after.headers.get('x-berth-proxy'), 'hit');
    assert.equal(await digestOf(after), digest);
  });
});
