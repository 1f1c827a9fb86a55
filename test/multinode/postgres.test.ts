/**
 * Three Berth nodes on different ports over one PostgreSQL database and one shared blob
 * folder (the third one itself a `--workers 2` cluster), driven over real HTTP: an upload whose chunks go to different nodes, push on one
 * node and pull from another, a tag moved on one node seen at once on another (cache
 * invalidation through LISTEN/NOTIFY), concurrent pushes of one tag from two nodes, and a
 * node killed in the middle of an upload whose client finishes elsewhere.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bytes, imageManifest, pushBlob, pushImage, putManifest, randomBlob, sha256 } from '../helpers/oci.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { postgresNodeEnv, startBerthProcess, type BerthProcess } from '../helpers/node-process.js';
import { cephEndpoint } from '../helpers/s3.js';
import { testStorage, type TestStorage } from '../helpers/storage.js';

const skip = await postgresSkipReason();

async function patch(url: string, location: string, chunk: Buffer, start: number): Promise<Response> {
  return fetch(new URL(location, url), {
    method: 'PATCH',
    body: bytes(chunk),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${start + chunk.length - 1}` },
  });
}

async function manifestDigest(url: string, repo: string, ref: string): Promise<string | null> {
  const r = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  await r.arrayBuffer();
  return r.status === 200 ? r.headers.get('docker-content-digest') : null;
}

// The same scenarios over one shared blob folder and over one S3 bucket (the real Ceph RGW).
const ceph = await cephEndpoint(); // throws under CI=true when Ceph cannot start
for (const kind of ['filesystem', 's3'] as const) {
describe(`three nodes over one PostgreSQL database and one ${kind === 's3' ? 'S3 bucket' : 'blob folder'}`, { skip: skip ?? (kind === 's3' && typeof ceph === 'string' ? ceph : undefined) }, () => {
  let db: TestDatabase;
  let dir: string;
  let storage: TestStorage | undefined;
  let nodes: BerthProcess[] = [];

  before(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'berth-multinode-'));
    storage = await testStorage(kind);
    const env = (n: string): Record<string, string> => {
      const base = postgresNodeEnv(db.url, join(dir, 'storage'), join(dir, n));
      if (!storage) return base;
      const { BERTH_STORAGE__FILESYSTEM__ROOT: _, ...rest } = base;
      return { ...rest, ...storage.env };
    };
    // Started together: the advisory lock keeps their migrations from racing.
    // Node C runs two worker processes itself (`--workers 2` over PostgreSQL).
    nodes = await Promise.all((['a', 'b', 'c'] as const).map((n) => startBerthProcess({ args: ['--workers', n === 'c' ? '2' : '1'], env: env(n) })));
  });

  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    await storage?.cleanup();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a second writer on another node while a chunk is streaming', async () => {
    const [a, b] = nodes as [BerthProcess, BerthProcess];
    const started = await fetch(`${a.url}/v2/lease/app/blobs/uploads/`, { method: 'POST' });
    const location = started.headers.get('location')!;
    const slow = request(new URL(location, a.url), { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '200000' } });
    const answered = new Promise<number>((resolve, reject) => {
      slow.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      slow.on('error', reject);
    });
    slow.write(randomBlob(100_000));
    await sleep(300);
    const racing = await patch(b.url, location, randomBlob(100_000), 0);
    assert.equal(racing.status, 416, 'node B must not write while node A holds the lease');
    assert.match(await racing.text(), /another request is writing/);
    slow.end(randomBlob(100_000));
    assert.equal(await answered, 202);
    const status = await fetch(new URL(location, b.url));
    assert.equal(status.headers.get('range'), '0-199999');
    await fetch(new URL(location, b.url), { method: 'DELETE' });
  });

  it('finishes an upload whose chunks went to three different nodes', async () => {
    const [a, b, c] = nodes as [BerthProcess, BerthProcess, BerthProcess];
    const data = randomBlob(3 * 1024 * 1024 + 17);
    const parts = [data.subarray(0, 1024 * 1024), data.subarray(1024 * 1024, 2 * 1024 * 1024 + 5), data.subarray(2 * 1024 * 1024 + 5)];
    const started = await fetch(`${a.url}/v2/spread/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(started.status, 202);
    let location = started.headers.get('location')!;
    let offset = 0;
    for (const [i, node] of [b, c].entries()) {
      const r = await patch(node.url, location, parts[i]!, offset);
      assert.equal(r.status, 202, await r.text());
      offset += parts[i]!.length;
      assert.equal(r.headers.get('range'), `0-${offset - 1}`);
      location = r.headers.get('location')!;
    }
    const status = await fetch(new URL(location, a.url));
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${offset - 1}`);
    // The last chunk and the digest check on a third node, which never saw the earlier bytes:
    // it rebuilds the digest state by re-reading them from storage.
    const digest = sha256(data);
    const done = await fetch(`${new URL(location, a.url)}?digest=${digest}`, { method: 'PUT', body: bytes(parts[2]!), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(done.status, 201, await done.text());
    const wrong = await fetch(`${c.url}/v2/spread/app/blobs/uploads/`, { method: 'POST' });
    const wrongLoc = wrong.headers.get('location')!;
    assert.equal((await patch(a.url, wrongLoc, parts[0]!, 0)).status, 202);
    const bad = await fetch(`${new URL(wrongLoc, b.url)}?digest=${digest}`, { method: 'PUT' });
    assert.equal(bad.status, 400, 'a re-hash on another node still catches a wrong digest');
    await fetch(new URL(wrongLoc, b.url), { method: 'DELETE' });
    for (const node of nodes) {
      const r = await fetch(`${node.url}/v2/spread/app/blobs/${digest}`);
      assert.equal(r.status, 200);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(data));
    }
  });

  it('pulls from one node what was pushed on another', async () => {
    const [a, b, c] = nodes as [BerthProcess, BerthProcess, BerthProcess];
    const img = await pushImage(a.url, 'pushpull/app', 'v1', { layers: [randomBlob(50_000), randomBlob(70_000)] });
    assert.equal(await manifestDigest(c.url, 'pushpull/app', 'v1'), img.digest);
    for (const layer of img.layers) {
      const r = await fetch(`${b.url}/v2/pushpull/app/blobs/${sha256(layer)}`);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(layer));
    }
    const tags = (await (await fetch(`${b.url}/v2/pushpull/app/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['v1']);
    const catalog = (await (await fetch(`${c.url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.ok(catalog.repositories.includes('pushpull/app'));
  });

  it('shows a tag moved on node A at once on nodes B and C (no stale cache)', async () => {
    const [a, b, c] = nodes as [BerthProcess, BerthProcess, BerthProcess];
    const config = Buffer.from('{"moving":true}');
    const layer = randomBlob(1000);
    await pushBlob(a.url, 'moving/app', config);
    await pushBlob(a.url, 'moving/app', layer);
    for (let i = 0; i < 25; i++) {
      const manifest = imageManifest(config, [layer], { annotations: { round: String(i) } });
      await putManifest(a.url, 'moving/app', 'latest', manifest);
      // Read right away, with no wait: B and C had the previous round cached.
      assert.equal(await manifestDigest(b.url, 'moving/app', 'latest'), sha256(manifest), `round ${i} on B`);
      assert.equal(await manifestDigest(c.url, 'moving/app', 'latest'), sha256(manifest), `round ${i} on C`);
    }
    const gone = await fetch(`${a.url}/v2/moving/app/manifests/latest`, { method: 'DELETE' });
    assert.equal(gone.status, 202);
    assert.equal(await manifestDigest(b.url, 'moving/app', 'latest'), null, 'a deleted tag is gone on B too');
  });

  it('ends consistent when two nodes push the same tag at the same time', async () => {
    const [a, b, c] = nodes as [BerthProcess, BerthProcess, BerthProcess];
    const config = Buffer.from('{"race":true}');
    const layer = randomBlob(2000);
    await pushBlob(a.url, 'race/app', config);
    await pushBlob(b.url, 'race/app', layer);
    const manifests = Array.from({ length: 16 }, (_, i) => imageManifest(config, [layer], { annotations: { n: String(i) } }));
    const results = await Promise.all(manifests.map((m, i) => putManifest([a, b][i % 2]!.url, 'race/app', 'same', m).then((r) => r.status)));
    assert.deepEqual(new Set(results), new Set([201]));
    const seen = await Promise.all([a, b, c].map((n) => manifestDigest(n.url, 'race/app', 'same')));
    assert.equal(new Set(seen).size, 1, `nodes disagree: ${seen.join(' ')}`);
    assert.ok(manifests.some((m) => sha256(m) === seen[0]));
    const tags = (await (await fetch(`${c.url}/v2/race/app/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['same']);
    for (const m of manifests) assert.equal(await manifestDigest(c.url, 'race/app', sha256(m)), sha256(m), 'every pushed manifest is stored');
  });

  it('lets a client finish on another node an upload whose node was killed mid-chunk', async () => {
    const [a, b, c] = nodes as [BerthProcess, BerthProcess, BerthProcess];
    const data = randomBlob(2 * 1024 * 1024);
    const first = data.subarray(0, 512 * 1024);
    const started = await fetch(`${c.url}/v2/crash/app/blobs/uploads/`, { method: 'POST' });
    const location = started.headers.get('location')!;
    assert.equal((await patch(c.url, location, first, 0)).status, 202);

    // Half of the next chunk reaches node C, which then dies before answering.
    const req = request(new URL(location, c.url), { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length - first.length) } });
    req.on('error', () => {});
    req.write(data.subarray(first.length, first.length + 300 * 1024));
    await sleep(300);
    await c.kill();
    req.destroy();

    const status = await fetch(new URL(location, a.url));
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${first.length - 1}`, 'the unacknowledged chunk did not count');
    // The dead node's write lease blocks the upload until it expires (at most 10 s).
    for (const deadline = Date.now() + 15_000; ; ) {
      const r = await patch(a.url, location, data.subarray(first.length), first.length);
      if (r.status === 202) break;
      assert.equal(r.status, 416, await r.text());
      assert.equal(r.headers.get('range'), `0-${first.length - 1}`);
      assert.ok(Date.now() < deadline, 'the lease of the dead node never expired');
      await sleep(500);
    }
    const done = await fetch(`${new URL(location, b.url)}?digest=${sha256(data)}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    const r = await fetch(`${a.url}/v2/crash/app/blobs/${sha256(data)}`);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(data));
  });
});
}
