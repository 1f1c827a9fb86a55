/**
 * GC benchmark: synthetic metadata for BENCH_MANIFESTS manifests (default 100,000), each
 * referencing BENCH_BLOBS_PER_MANIFEST distinct blobs (default 10: 1,000,000 blobs, 1,000,000
 * repository links, 1,000,000 manifest -> blob edges) over 1,000 repositories, of which
 * BENCH_GARBAGE (default 10%) of the manifests are untagged garbage. The garbage blobs get
 * real files on the filesystem driver (live blobs need none: the sweep never touches them).
 * One GC pass with grace 0 runs; we report mark time, sweep time (metadata + parallel byte
 * deletes) and memory (peak RSS and heap). Run: `npm run bench:gc`.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { pino } from 'pino';
import { parseConfig } from '../src/config/load.js';
import { createLifecycle } from '../src/lifecycle/services.js';
import { openSqlite } from '../src/metadata/sqlite.js';
import { FsBlobStore } from '../src/storage/fs/fs-blob-store.js';

const MANIFESTS = Number(process.env.BENCH_MANIFESTS ?? 100_000);
const PER = Number(process.env.BENCH_BLOBS_PER_MANIFEST ?? 10);
const GARBAGE = Number(process.env.BENCH_GARBAGE ?? 0.1);
const REPOS = 1000;

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-gc-'));
  try {
    const dbPath = join(dir, 'berth.db');
    const meta = openSqlite(dbPath);
    await meta.migrate();
    await meta.close();

    const t0 = performance.now();
    const raw = new SQLite(dbPath);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = OFF');
    const old = Date.now() - 7 * 86_400_000;
    const insRepo = raw.prepare('insert into repositories (id, name, project, created_at) values (?, ?, ?, ?)');
    const insBlob = raw.prepare('insert into blobs (digest, size, media_type, created_at) values (?, ?, null, ?)');
    const insLink = raw.prepare("insert into repository_blobs (repository_id, digest, source, created_at) values (?, ?, 'pushed', ?)");
    const insMan = raw.prepare('insert into manifests (id, repository_id, digest, media_type, artifact_type, subject_digest, size, content, annotations, pushed_at, last_pulled_at) values (?, ?, ?, ?, null, null, ?, ?, null, ?, null)');
    const insEdge = raw.prepare('insert into manifest_blobs (manifest_id, digest) values (?, ?)');
    const insTag = raw.prepare('insert into tags (repository_id, name, manifest_id, updated_at) values (?, ?, ?, ?)');
    const content = Buffer.from('{"schemaVersion":2}');
    const garbageFiles: string[] = [];
    raw.transaction(() => {
      for (let r = 1; r <= REPOS; r++) insRepo.run(r, `proj${r % 10}/repo${r}`, `proj${r % 10}`, old);
    })();
    const chunk = 10_000;
    for (let start = 0; start < MANIFESTS; start += chunk) {
      raw.transaction(() => {
        for (let m = start; m < Math.min(MANIFESTS, start + chunk); m++) {
          const id = m + 1;
          const repo = (m % REPOS) + 1;
          const garbage = m % Math.round(1 / GARBAGE) === 0;
          insMan.run(id, repo, `sha256:${hex(`m${m}`)}`, 'application/vnd.oci.image.manifest.v1+json', content.length, content, old);
          for (let b = 0; b < PER; b++) {
            const h = hex(`b${m}:${b}`);
            const d = `sha256:${h}`;
            insBlob.run(d, 100, old);
            insLink.run(repo, d, old);
            insEdge.run(id, d);
            if (garbage) garbageFiles.push(h);
          }
          if (!garbage) insTag.run(repo, `t${m}`, id, old);
        }
      })();
    }
    raw.close();
    const storage = join(dir, 'storage');
    const fs = await FsBlobStore.open(storage);
    const body = Buffer.alloc(100, 7);
    for (let i = 0; i < garbageFiles.length; i += 256) {
      await Promise.all(
        garbageFiles.slice(i, i + 256).map(async (h) => {
          const d = join(storage, 'blobs', 'sha256', h.slice(0, 2));
          await mkdir(d, { recursive: true });
          await writeFile(join(d, h), body);
        }),
      );
    }
    const setupMs = performance.now() - t0;

    const store = openSqlite(dbPath);
    const config = parseConfig({ dataDir: dir, lifecycle: { gc: { schedule: null, scanStorage: false, batchSize: 1000, deleteConcurrency: 32 }, schedulerEnabled: false } });
    const lc = createLifecycle(config, store, fs, pino({ level: 'silent' }), async () => {});
    let peakRss = process.memoryUsage().rss;
    let peakHeap = process.memoryUsage().heapUsed;
    const baseRss = peakRss;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 50);
    const t1 = performance.now();
    const report = await lc.gc.run({ graceMs: 0, itemLimit: 0 });
    const totalMs = performance.now() - t1;
    clearInterval(sampler);
    await lc.close();
    await store.close();

    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
    const out = {
      manifests: MANIFESTS,
      blobs: MANIFESTS * PER,
      garbageManifests: report.totals.manifest.count,
      garbageBlobs: report.totals.blob.count,
      linksRemoved: report.totals.link.count,
      bytesFreed: report.bytesFreed,
      rounds: report.rounds,
      setupSeconds: +(setupMs / 1000).toFixed(1),
      markSeconds: +(report.timings.markMs / 1000).toFixed(2),
      sweepSeconds: +(report.timings.sweepMs / 1000).toFixed(2),
      totalSeconds: +(totalMs / 1000).toFixed(2),
      peakRss: mb(peakRss),
      rssBeforeRun: mb(baseRss),
      peakHeap: mb(peakHeap),
    };
    console.log(JSON.stringify(out, null, 2));
    if (out.garbageBlobs !== garbageFiles.length) throw new Error(`expected ${garbageFiles.length} garbage blobs, GC removed ${out.garbageBlobs}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
