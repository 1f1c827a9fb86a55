/**
 * The core OCI push/pull flow with blobs on S3 (a real Ceph RADOS Gateway): monolithic and
 * chunked pushes whose chunks cross the 5 MiB part boundaries, pulls with ranges, an upload
 * whose chunks go to two Berth servers sharing the metadata and the bucket (so the finish
 * re-hashes the staged bytes read back from S3), a rejected digest followed by a fix, a
 * cancelled upload, and presigned redirects. The rest of the HTTP suite runs on S3 with
 * `BERTH_TEST_STORAGE=s3 npm test`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { bytes, errorCode, imageManifest, putManifest, randomBlob, sha256, pushBlob } from '../helpers/oci.js';
import { cephEndpoint } from '../helpers/s3.js';
import { testStorage, type TestStorage } from '../helpers/storage.js';

const ep = await cephEndpoint();
const MiB = 1024 * 1024;

async function startUpload(url: string, repo: string): Promise<string> {
  const r = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(r.status, 202);
  return new URL(r.headers.get('location')!, url).pathname;
}

async function patch(url: string, path: string, data: Buffer, start: number): Promise<void> {
  const r = await fetch(`${url}${path}`, {
    method: 'PATCH',
    body: bytes(data),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${start + data.length - 1}` },
  });
  assert.equal(r.status, 202, await r.text());
  assert.equal(r.headers.get('range'), `0-${start + data.length - 1}`);
}

/** Pushes `data` in chunks of `chunk` bytes, alternating between the given servers. */
async function chunkedPush(urls: string[], repo: string, data: Buffer, chunk: number): Promise<string> {
  const path = await startUpload(urls[0]!, repo);
  let i = 0;
  for (let off = 0; off < data.length; off += chunk, i++) await patch(urls[i % urls.length]!, path, data.subarray(off, off + chunk), off);
  const digest = sha256(data);
  const r = await fetch(`${urls[i % urls.length]}${path}?digest=${digest}`, { method: 'PUT' });
  assert.equal(r.status, 201, await r.text());
  return digest;
}

async function assertEmptyStorage(b: TestBerth): Promise<void> {
  const uploads: string[] = [];
  for await (const u of b.berth.blobs.listUploads()) uploads.push(u.id);
  assert.deepEqual(uploads, [], 'no upload is left in storage');
}

describe('registry over S3 (Ceph RGW)', { skip: typeof ep === 'string' ? ep : false }, () => {
  let b: TestBerth;
  let storage: TestStorage;
  before(async () => {
    storage = (await testStorage('s3'))!;
    b = await startBerth({ storage: storage.storage });
  });
  after(async () => {
    await b?.close();
    await storage?.cleanup();
  });

  it('pushes monolithic and chunked blobs and pulls them back, with ranges', async () => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const small = randomBlob(10_000, 0.21);
    const big = randomBlob(12 * MiB + 4321, 0.22);
    await pushBlob(b.url, 'app/api', config);
    await pushBlob(b.url, 'app/api', small);
    const bigDigest = await chunkedPush([b.url], 'app/api', big, 3 * MiB + 17);
    const manifest = imageManifest(config, [small, big]);
    await putManifest(b.url, 'app/api', 'v1', manifest);

    const m = await fetch(`${b.url}/v2/app/api/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 200);
    assert.ok(Buffer.from(await m.arrayBuffer()).equals(manifest));
    const got = await fetch(`${b.url}/v2/app/api/blobs/${bigDigest}`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('docker-content-digest'), bigDigest);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(big));
    const ranged = await fetch(`${b.url}/v2/app/api/blobs/${bigDigest}`, { headers: { Range: `bytes=${5 * MiB - 3}-${5 * MiB + 2}` } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(big.subarray(5 * MiB - 3, 5 * MiB + 3)));
    const head = await fetch(`${b.url}/v2/app/api/blobs/${sha256(small)}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(small.length));
    assert.equal(await b.berth.blobs.stat(bigDigest as never), big.length);
    await assertEmptyStorage(b);
  });

  it('refuses a wrong digest, accepts the fix, and cancels uploads', async () => {
    const data = randomBlob(6 * MiB, 0.23);
    const path = await startUpload(b.url, 'app/web');
    await patch(b.url, path, data.subarray(0, 4 * MiB), 0);
    const wrong = await fetch(`${b.url}${path}?digest=${sha256('nope')}`, { method: 'PUT', body: bytes(data.subarray(4 * MiB)), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(wrong.status, 400);
    assert.equal(await errorCode(wrong), 'DIGEST_INVALID');
    // The session is still at 4 MiB: send the rest again with the right digest.
    const ok = await fetch(`${b.url}${path}?digest=${sha256(data)}`, { method: 'PUT', body: bytes(data.subarray(4 * MiB)), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(ok.status, 201, await ok.text());
    assert.ok(Buffer.from(await (await fetch(`${b.url}/v2/app/web/blobs/${sha256(data)}`)).arrayBuffer()).equals(data));

    const cancelled = await startUpload(b.url, 'app/web');
    await patch(b.url, cancelled, randomBlob(6 * MiB, 0.24), 0);
    assert.equal((await fetch(`${b.url}${cancelled}`, { method: 'DELETE' })).status, 204);
    await assertEmptyStorage(b);
  });

  it('continues an upload across two servers sharing the database and the bucket', async () => {
    const storage = (await testStorage('s3'))!;
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-s3-nodes-'));
    let nodes: TestBerth[] = [];
    try {
      nodes = [await startBerth({ dataDir, storage: storage.storage }), await startBerth({ dataDir, storage: storage.storage })];
      const data = randomBlob(11 * MiB, 0.25);
      const digest = await chunkedPush(nodes.map((n) => n.url), 'team/tool', data, 2 * MiB + 1);
      for (const n of nodes) {
        const r = await fetch(`${n.url}/v2/team/tool/blobs/${digest}`);
        assert.ok(Buffer.from(await r.arrayBuffer()).equals(data));
      }
      await assertEmptyStorage(nodes[0]!);
    } finally {
      for (const n of nodes) await n.close();
      await storage.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('redirects blob GETs to presigned URLs when storage.s3.redirect is on', async () => {
    const storage = (await testStorage('s3', { redirect: true }))!;
    const node = await startBerth({ storage: storage.storage });
    try {
      const data = randomBlob(300_000, 0.26);
      const digest = await pushBlob(node.url, 'app/cdn', data);
      const r = await fetch(`${node.url}/v2/app/cdn/blobs/${digest}`, { redirect: 'manual' });
      assert.equal(r.status, 307);
      const location = r.headers.get('location')!;
      assert.ok(location.startsWith((ep as { endpoint: string }).endpoint), location);
      assert.ok(Buffer.from(await (await fetch(location)).arrayBuffer()).equals(data));
      // Ranged reads and HEAD stay on the registry.
      assert.equal((await fetch(`${node.url}/v2/app/cdn/blobs/${digest}`, { headers: { Range: 'bytes=0-9' }, redirect: 'manual' })).status, 206);
      assert.equal((await fetch(`${node.url}/v2/app/cdn/blobs/${digest}`, { method: 'HEAD', redirect: 'manual' })).status, 200);
      // A client that follows redirects gets the bytes.
      assert.ok(Buffer.from(await (await fetch(`${node.url}/v2/app/cdn/blobs/${digest}`)).arrayBuffer()).equals(data));
    } finally {
      await node.close();
      await storage.cleanup();
    }
  });
});
