/**
 * `berth serve --workers 2` over the embedded SQLite database: the core HTTP flow with
 * requests spread over both worker processes (each on a new connection, which the cluster
 * hands to the next worker), cache invalidation between workers, concurrent pushes that
 * write from both processes at once, a worker killed and replaced, and graceful shutdown.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { imageManifest, randomBlob, sha256 } from '../helpers/oci.js';
import { startBerthProcess, type BerthProcess } from '../helpers/node-process.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request on a connection of its own (no keep-alive), so requests rotate over workers. */
function call(url: string, method = 'GET', body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

async function pushBlob(url: string, repo: string, data: Buffer): Promise<string> {
  const r = await call(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, 'POST', data, { 'Content-Type': 'application/octet-stream' });
  assert.equal(r.status, 201, r.body.toString());
  return sha256(data);
}

async function putManifest(url: string, repo: string, ref: string, m: Buffer): Promise<void> {
  const r = await call(`${url}/v2/${repo}/manifests/${ref}`, 'PUT', m, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
  assert.equal(r.status, 201, r.body.toString());
}

async function tagDigest(url: string, repo: string, ref: string): Promise<string | undefined> {
  const r = await call(`${url}/v2/${repo}/manifests/${ref}`, 'GET', undefined, { Accept: 'application/vnd.oci.image.manifest.v1+json' });
  return r.status === 200 ? (r.headers['docker-content-digest'] as string) : undefined;
}

describe('berth serve --workers 2 on SQLite', () => {
  let dir: string;
  let node: BerthProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-workers-'));
    node = await startBerthProcess({ args: ['--workers', '2', '--data-dir', dir] });
    const deadline = Date.now() + 10_000;
    while (childrenOf(node.proc.pid!).length < 2 && Date.now() < deadline) await sleep(50);
  });

  after(async () => {
    await node?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs two worker processes', () => {
    assert.equal(childrenOf(node.proc.pid!).length, 2);
  });

  it('pushes and pulls with requests spread over both workers', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = randomBlob(200_000);
    await pushBlob(node.url, 'core/app', config);
    // A chunked upload: start, two chunks and the finish, each on a new connection.
    const start = await call(`${node.url}/v2/core/app/blobs/uploads/`, 'POST');
    assert.equal(start.status, 202);
    let loc = start.headers.location as string;
    for (const [from, to] of [[0, 70_000], [70_000, 150_000]] as const) {
      const r = await call(`${node.url}${loc}`, 'PATCH', layer.subarray(from, to), { 'Content-Range': `${from}-${to - 1}`, 'Content-Type': 'application/octet-stream' });
      assert.equal(r.status, 202, r.body.toString());
      loc = r.headers.location as string;
    }
    const done = await call(`${node.url}${loc}?digest=${sha256(layer)}`, 'PUT', layer.subarray(150_000), { 'Content-Type': 'application/octet-stream' });
    assert.equal(done.status, 201, done.body.toString());
    const manifest = imageManifest(config, [layer]);
    await putManifest(node.url, 'core/app', 'v1', manifest);
    for (let i = 0; i < 4; i++) {
      assert.equal(await tagDigest(node.url, 'core/app', 'v1'), sha256(manifest));
      const blob = await call(`${node.url}/v2/core/app/blobs/${sha256(layer)}`);
      assert.ok(blob.body.equals(layer));
    }
    const tags = JSON.parse((await call(`${node.url}/v2/core/app/tags/list`)).body.toString()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['v1']);
    const catalog = JSON.parse((await call(`${node.url}/v2/_catalog`)).body.toString()) as { repositories: string[] };
    assert.ok(catalog.repositories.includes('core/app'));
    assert.equal((await call(`${node.url}/v2/core/app/manifests/v1`, 'DELETE')).status, 202);
    for (let i = 0; i < 4; i++) assert.equal(await tagDigest(node.url, 'core/app', 'v1'), undefined, 'deleted on every worker');
  });

  it('invalidates the other worker\'s cache when a tag moves', async () => {
    const config = Buffer.from('{"moving":1}');
    const layer = randomBlob(500);
    await pushBlob(node.url, 'moving/app', config);
    await pushBlob(node.url, 'moving/app', layer);
    for (let round = 0; round < 15; round++) {
      const m = imageManifest(config, [layer], { annotations: { round: String(round) } });
      await putManifest(node.url, 'moving/app', 'latest', m);
      // Four reads on four connections: both workers answer, both must have dropped the old one.
      for (let i = 0; i < 4; i++) assert.equal(await tagDigest(node.url, 'moving/app', 'latest'), sha256(m), `round ${round} read ${i}`);
    }
  });

  it('takes concurrent pushes from both workers without busy errors', async () => {
    const config = Buffer.from('{"busy":1}');
    await pushBlob(node.url, 'busy/app', config);
    const results = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const layer = randomBlob(3000 + i);
        await pushBlob(node.url, 'busy/app', layer);
        await putManifest(node.url, 'busy/app', `t${i}`, imageManifest(config, [layer]));
        await putManifest(node.url, 'busy/app', 'shared', imageManifest(config, [layer]));
        return i;
      }),
    );
    assert.equal(results.length, 24);
    const tags = JSON.parse((await call(`${node.url}/v2/busy/app/tags/list?n=100`)).body.toString()) as { tags: string[] };
    assert.equal(tags.tags.length, 25);
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 4; i++) seen.add(await tagDigest(node.url, 'busy/app', 'shared'));
    assert.equal(seen.size, 1, 'both workers agree on the tag');
  });

  it('replaces a worker that dies', async () => {
    const before = childrenOf(node.proc.pid!);
    assert.equal(before.length, 2);
    process.kill(before[0]!, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    let now = before;
    while (Date.now() < deadline) {
      now = childrenOf(node.proc.pid!);
      if (now.length === 2 && !now.includes(before[0]!)) break;
      await sleep(50);
    }
    assert.equal(now.length, 2);
    assert.ok(!now.includes(before[0]!));
    // The replacement starts in the background (slower on a loaded machine), and the killed
    // worker may have been the only one listening yet: wait until the registry answers again.
    const answering = Date.now() + 15_000;
    while (Date.now() < answering && !(await call(`${node.url}/v2/`).then((r) => r.status === 200, () => false))) await sleep(100);
    for (let i = 0; i < 4; i++) assert.equal((await call(`${node.url}/v2/`)).status, 200);
  });

  it('shuts down gracefully on SIGTERM', async () => {
    const workers = childrenOf(node.proc.pid!);
    const code = await node.stop();
    assert.equal(code, 0);
    for (const pid of workers) assert.throws(() => process.kill(pid, 0), 'worker is gone');
  });
});
