/**
 * Scale-out benchmark (`node dist/bench/scale.js`): manifest GET throughput of one process
 * against `berth serve --workers 2` (SQLite, same data folder, same load), and p99 latency of
 * listing 5,000 tags and of catalog pages over 10,000 repositories on PostgreSQL, and the
 * cost of finishing a chunked upload on another node than its chunks went to. Each server
 * is the real `berth serve` command; the load comes from autocannon in this process.
 * Options: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { openPostgres } from '../src/metadata/postgres.js';
import { bytes, imageManifest, pushBlob, putManifest, randomBlob, sha256 } from '../test/helpers/oci.js';
import { postgresConfig } from '../test/helpers/metadata.js';
import { createTestDatabase } from '../test/helpers/postgres.js';
import { postgresNodeEnv, startBerthProcess, type BerthProcess } from '../test/helpers/node-process.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ACCEPT = { Accept: 'application/vnd.oci.image.manifest.v1+json' };

/** CPU seconds (user + system) used so far by a process and its children (the workers). */
function serverCpuSeconds(pid: number): number {
  const stat = (p: number | string) => readFileSync(`/proc/${p}/stat`, 'utf8').slice(readFileSync(`/proc/${p}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = stat(entry);
      if (Number(entry) === pid || Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

async function manifestThroughput(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-'));
  try {
    const results: Record<string, number> = {};
    for (const workers of [1, 2]) {
      const node = await startBerthProcess({ args: ['--workers', String(workers), '--data-dir', dir] });
      try {
        const config = Buffer.from('{"bench":true}');
        const layer = randomBlob(1000);
        await pushBlob(node.url, 'bench/app', config);
        await pushBlob(node.url, 'bench/app', layer);
        await putManifest(node.url, 'bench/app', 'latest', imageManifest(config, [layer]));
        const url = `${node.url}/v2/bench/app/manifests/latest`;
        await autocannon({ url, connections: CONNECTIONS, duration: 2, headers: ACCEPT }); // warm-up
        const cpu0 = serverCpuSeconds(node.proc.pid!);
        const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers: ACCEPT });
        const cpu = serverCpuSeconds(node.proc.pid!) - cpu0;
        if (r.errors || r.non2xx) throw new Error(`errors during the run: ${r.errors} errors, ${r.non2xx} non-2xx`);
        results[workers] = r.requests.average;
        console.log(
          `manifest GET, --workers ${workers}: ${Math.round(r.requests.average)} req/s (p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms); ` +
            `server used ${(cpu / r.duration).toFixed(2)} cores, ${Math.round(r.requests.total / cpu)} req per server CPU second`,
        );
      } finally {
        await node.stop();
      }
    }
    console.log(`gain of --workers 2: ${(results[2]! / results[1]!).toFixed(2)}x (target >= 1.7x; needs two cores free for the server, the load generator elsewhere)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function postgresListing(): Promise<void> {
  const db = await createTestDatabase();
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-pg-'));
  try {
    const store = openPostgres(postgresConfig(db.url));
    await store.migrate();
    const now = Date.now();
    // Seed straight into the tables: 10,000 repositories, and one with 5,000 tags.
    for (let i = 0; i < 10_000; i += 1000) {
      await store.db
        .insertInto('repositories')
        .values(Array.from({ length: 1000 }, (_, j) => ({ name: `team${(i + j) % 50}/app-${String(i + j).padStart(5, '0')}`, project: `team${(i + j) % 50}`, created_at: now })))
        .execute();
    }
    await store.close();
    const node = await startBerthProcess({ args: ['--workers', '1'], env: postgresNodeEnv(db.url, join(dir, 'storage'), dir) });
    try {
      const config = Buffer.from('{"bench":true}');
      const layer = randomBlob(1000);
      await pushBlob(node.url, 'bench/tags', config);
      await pushBlob(node.url, 'bench/tags', layer);
      await putManifest(node.url, 'bench/tags', 'seed', imageManifest(config, [layer]));
      const seed = openPostgres(postgresConfig(db.url));
      const m = await seed.db.selectFrom('manifests').select(['id', 'repository_id']).executeTakeFirstOrThrow();
      for (let i = 0; i < 5000; i += 1000) {
        await seed.db
          .insertInto('tags')
          .values(Array.from({ length: 1000 }, (_, j) => ({ repository_id: m.repository_id, name: `v${String(i + j).padStart(5, '0')}`, manifest_id: m.id, updated_at: now })))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      await sql`analyze`.execute(seed.db);
      await seed.close();
      const cases: [string, string][] = [
        ['tags list, 5,000 tags in one page (n=5000)', '/v2/bench/tags/tags/list?n=5000'],
        ['tags list, default page (1,000)', '/v2/bench/tags/tags/list'],
        ['catalog page of 1,000 (default) over 10,000 repositories', '/v2/_catalog'],
        ['catalog page in the middle (last=team3/..., n=1000)', '/v2/_catalog?n=1000&last=team3/app-05000'],
        ['catalog, all 10,000 repositories in one page (n=10000)', '/v2/_catalog?n=10000'],
      ];
      for (const [name, path] of cases) {
        await autocannon({ url: node.url + path, connections: 1, duration: 1 });
        const r = await autocannon({ url: node.url + path, connections: 1, duration: Math.max(3, SECONDS / 2) });
        if (r.errors || r.non2xx) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
        console.log(`${name}: p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${Math.round(r.requests.average)} req/s (one connection)`);
      }
    } finally {
      await node.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  }
}

/**
 * What a stateless finish costs: a 64 MiB upload sent in four chunks to node A, finished on
 * A (digest state in memory) or on node B (re-hashes the stored bytes once).
 */
async function crossNodeFinish(): Promise<void> {
  const db = await createTestDatabase();
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-rehash-'));
  const nodes = await Promise.all(['a', 'b'].map((n) => startBerthProcess({ args: ['--workers', '1'], env: postgresNodeEnv(db.url, join(dir, 'storage'), join(dir, n)) })));
  try {
    const [a, b] = nodes as [BerthProcess, BerthProcess];
    for (const [name, finisher] of [['same node', a], ['other node (re-hash)', b]] as const) {
      const data = randomBlob(64 * 1024 * 1024);
      const start = await fetch(`${a.url}/v2/bench/rehash/blobs/uploads/`, { method: 'POST' });
      let loc = start.headers.get('location')!;
      const chunk = 16 * 1024 * 1024;
      for (let off = 0; off < data.length; off += chunk) {
        const r = await fetch(new URL(loc, a.url), { method: 'PATCH', body: bytes(data.subarray(off, off + chunk)), headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${off}-${off + chunk - 1}` } });
        if (r.status !== 202) throw new Error(`PATCH: ${r.status}`);
        loc = r.headers.get('location')!;
      }
      const t0 = performance.now();
      const done = await fetch(`${new URL(loc, finisher.url)}?digest=${sha256(data)}`, { method: 'PUT' });
      const ms = performance.now() - t0;
      if (done.status !== 201) throw new Error(`PUT: ${done.status}`);
      console.log(`finish of a 64 MiB chunked upload on the ${name}: ${Math.round(ms)} ms`);
    }
  } finally {
    for (const n of nodes) await n.stop();
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  }
}

await manifestThroughput();
await postgresListing();
await crossNodeFinish();
