/**
 * `npm run bench`: Berth side by side with the reference registry (CNCF Distribution) on the
 * same machine, the same workloads and the same bytes, in five sections:
 *   table   Berth as one process (BERTH_WORKERS=1) with access control on and the client using the
 *           Docker token flow (`--no-auth`: access control off) on SQLite + filesystem against
 *           the reference on filesystem: blobs (and the loopback limit), small images, manifests,
 *           tags, the catalog;
 *   pgs3    the same workloads on Berth over PostgreSQL + S3 (Ceph RGW), against the reference
 *           on the filesystem and the reference on S3 (its own bucket on the same gateway),
 *           plus tag-list and catalog p99 over 10,000 repositories;
 *   auth    manifest GET with access control: anonymous, Basic, Bearer; reference with htpasswd;
 *   workers manifest GET with BERTH_WORKERS=2 against 1, with CPU per request;
 *   scan    vulnerability scanning in process: inventory of a 1 GiB image against `tar -tz`,
 *           a rescan of 10,000 inventories against 100,000 advisories, peak RSS (bench/scan.ts).
 *   signing manifest GET with signature enforcement on against off (images signed on push).
 *   proxy   the pull-through cache: cold and warm pulls against a direct pull from the upstream.
 *   replication  a push policy copying 200 small images and a 1 GiB image to an empty reference,
 *           against `skopeo sync` of the same; webhook delivery p99 from the push's acknowledgement.
 * Servers, temporary folders, the database and the bucket are removed whatever happens. Prints
 * the tables and writes bench/results/latest.{json,md}.
 *
 * Environment: BENCH_ONLY (comma list of sections; default all), BENCH_LOG_LEVEL (info),
 * BENCH_REPEAT (3), BENCH_SECONDS (5), BENCH_REFERENCE_BIN (/usr/bin/docker-registry),
 * BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test, where the bench database is
 * created), BENCH_QUICK=1 (a small smoke run of the same code paths, not for figures).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { authTable } from './auth.js';
import { RegistryClient } from './client.js';
import { createPgS3, listingTable, seedTags, type PgS3 } from './pg-s3.js';
import { machine, REF_BERTH, textTable, writeResults, type Row, type Table } from './report.js';
import { startBerth, startBerthWithAccess, startReference, type Registry } from './servers.js';
import { workersTable } from './workers.js';
import { signingTable } from './signing.js';
import { proxyTable } from './proxy.js';
import { replicationTable } from './replication.js';
import { scanTable, type ScanSettings } from './scan.js';
import { median, runAll, type Figures, type Settings } from './workloads.js';
import type { HostProbe } from './host-probe.js';
import type { ThreadKind } from './thread-cpu.js';

const settings: Settings & ScanSettings & { proxyMiB: number } = {
  blobMiB: 256,
  chunkMiB: 8,
  bigMiB: 1024,
  repeat: Number(process.env.BENCH_REPEAT ?? 3),
  parallelPulls: 8,
  images: 200,
  imageConcurrency: 16,
  manifestConnections: 32,
  loadSeconds: Number(process.env.BENCH_SECONDS ?? 5),
  tags: 5000,
  tagPutSeconds: 30,
  tagConcurrency: 16,
  tagListConnections: 1,
  tagListSeconds: 3,
  scanLayerMiB: 1024,
  scanFiles: 50_000,
  scanInventories: 10_000,
  scanAdvisories: 100_000,
  proxyMiB: 512,
  catalogRepos: 500,
};
if (process.env.BENCH_QUICK === '1') Object.assign(settings, { blobMiB: 16, bigMiB: 64, repeat: 1, images: 20, tags: 100, tagPutSeconds: 2, loadSeconds: 1, tagListSeconds: 1, scanLayerMiB: 64, scanFiles: 5000, scanInventories: 500, scanAdvisories: 10_000, proxyMiB: 64, catalogRepos: 50 });
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
/**
 * `npm run bench -- --no-auth` (or BENCH_NO_AUTH=1): Berth without access control in the main
 * tables, for comparison. By default Berth runs as users run it: access control on, the client
 * signing in through the Docker token flow (bench/token-auth.ts).
 */
const noAuth = process.argv.includes('--no-auth') || process.env.BENCH_NO_AUTH === '1';
const berthMode = noAuth ? 'open (access control off)' : 'access control on, Docker token flow';

const SECTIONS = ['table', 'pgs3', 'auth', 'workers', 'signing', 'proxy', 'replication', 'scan'] as const;
type Section = (typeof SECTIONS)[number];
function sections(): Set<Section> {
  const raw = process.env.BENCH_ONLY?.trim();
  if (!raw) return new Set(SECTIONS);
  const picked = raw.split(',').map((s) => s.trim());
  for (const p of picked) if (!(SECTIONS as readonly string[]).includes(p)) throw new Error(`BENCH_ONLY: unknown section "${p}" (expected ${SECTIONS.join(', ')})`);
  return new Set(picked as Section[]);
}

function rows(ref: Figures, berth: Figures): Row[] {
  const both = (label: string, unit: string, better: Row['better'], pick: (f: Figures) => number, target: Partial<Pick<Row, 'targetRatio' | 'targetBerth'>> = {}): Row => ({
    label,
    unit,
    better,
    reference: pick(ref),
    berth: pick(berth),
    ...target,
  });
  const mib = `${settings.blobMiB} MiB`;
  return [
    both(`push ${mib} monolithic`, 'MB/s', 'higher', (f) => f.pushMonolithic, { targetRatio: 1 }),
    both(`push ${mib} monolithic, until on disk (+ sync)`, 'MB/s', 'higher', (f) => f.pushDurable),
    both(`push ${mib} chunked (${settings.chunkMiB} MiB PATCH)`, 'MB/s', 'higher', (f) => f.pushChunked, { targetRatio: 1 }),
    both(`pull ${mib}, 1 stream`, 'MB/s', 'higher', (f) => f.pullSingle, { targetRatio: 1 }),
    both(`pull ${mib}, 1 stream, share of the loopback limit, paired (loopback median ${berth.loopbackLimit.toFixed(0)} MB/s)`, 'x', 'higher', (f) => f.pullShare, { targetBerth: 0.8 }),
    both(`pull ${mib}, ${settings.parallelPulls} streams`, 'MB/s', 'higher', (f) => f.pullParallel, { targetRatio: 1 }),
    both(`push ${settings.images} small images, ${settings.imageConcurrency} at once`, 'images/s', 'higher', (f) => f.imagesPerSecond, { targetRatio: 3 }),
    both(`manifest GET by tag, ${settings.manifestConnections} conns`, 'req/s', 'higher', (f) => f.manifestGet.rps, { targetRatio: 10 }),
    both(`manifest GET p99`, 'ms', 'lower', (f) => f.manifestGet.p99Ms, { targetBerth: 10 }),
    both(`manifest HEAD by tag, ${settings.manifestConnections} conns`, 'req/s', 'higher', (f) => f.manifestHead.rps, { targetRatio: 10 }),
    both(`manifest HEAD p99`, 'ms', 'lower', (f) => f.manifestHead.p99Ms),
    both(`tag PUT, ${settings.tags} tags or ${settings.tagPutSeconds} s, ${settings.tagConcurrency} at once`, 'tags/s', 'higher', (f) => f.tagPutPerSecond),
    both(`tags list of ${settings.tags} tags, mean`, 'ms', 'lower', (f) => f.tagList.meanMs),
    both(`tags list p99`, 'ms', 'lower', (f) => f.tagList.p99Ms),
    both(`catalog of ${settings.catalogRepos} repositories, mean`, 'ms', 'lower', (f) => f.catalog.meanMs, { targetRatio: 0.1 }),
    both(`push ${settings.bigMiB} MiB monolithic`, 'MB/s', 'higher', (f) => f.bigPush),
    both(`pull ${settings.bigMiB} MiB, 1 stream`, 'MB/s', 'higher', (f) => f.bigPull),
    both(`server RSS idle`, 'MB', 'lower', (f) => f.rssIdle),
    both(`server RSS peak, whole run`, 'MB', 'lower', (f) => f.rssPeak),
    both(`server RSS peak, ${settings.bigMiB} MiB push+pull`, 'MB', 'lower', (f) => f.rssBig, { targetBerth: 150 }),
  ];
}

const errors = (f: Figures) => f.manifestGet.errors + f.manifestHead.errors + f.tagList.errors + f.catalog.errors;
const tagPutErrors = (f: Figures, how = 'untimed, over HTTP') =>
  (f.tagPutServerErrors ? `; ${f.tagPutServerErrors} tag PUTs answered 5xx and were retried (counted in the tags/s time)` : '') +
  (f.tagsAfterBudget ? `; ${f.tagsAfterBudget} of the ${settings.tags} tags were put in after the tag PUT's ${settings.tagPutSeconds} s budget (${how})` : '');

/** The host probes of a run, as medians per phase (bench/host-probe.ts). */
function hostProbeNote(probes: Record<string, HostProbe[]>): string {
  const fmt = (xs: number[], digits: number) => median(xs).toFixed(digits);
  const phases = Object.entries(probes).map(([phase, p]) => `${phase} ${fmt(p.map((x) => x.cpuMs), 0)} / ${fmt(p.map((x) => x.flushMs), 1)} / ${fmt(p.map((x) => x.fillMs), 0)}`);
  return `Host probes before each round (bench/host-probe.ts), median ms per phase, one thread hashing 32 MiB / a 4 KiB write and fdatasync in the temporary folder / 64 MiB written into a new file there (the page cache's fill): ${phases.join('; ')}. Higher than usual means a slow hour for the CPU, the disk or the host's memory (a fill several times its usual time: fresh page-cache pages cost the host a fault each, which slows large pushes most).`;
}

/**
 * Berth's CPU per round by kind of thread, medians per phase: a slow round shows whether the
 * event loop, V8's helper threads (mostly the garbage collector marking and sweeping) or the
 * libuv pool (file writes, reads and syncs, with the kernel's copy into the page cache) took
 * the extra time.
 */
function threadCpuNote(threadCpu: Figures['threadCpu']): string {
  const fmt = (rounds: Record<ThreadKind, number>[], kind: ThreadKind) => median(rounds.map((r) => r[kind])).toFixed(2);
  const phases = Object.entries(threadCpu).map(([phase, rounds]) => `${phase} ${fmt(rounds, 'main')} / ${fmt(rounds, 'v8 platform (GC)')} / ${fmt(rounds, 'libuv pool')}`);
  return `Berth's CPU seconds per round (/proc per thread), median per phase, main thread / V8's helper threads (mostly the garbage collector) / the libuv pool (file writes, reads and syncs): ${phases.join('; ')}.`;
}

function workloadNotes(): string[] {
  return [
    `Blob figures: median of ${settings.repeat} runs, each on a fresh ${settings.blobMiB} MiB blob; MB = 10^6 bytes. Reference monolithic push is POST then PUT with the body (it does not complete uploads on POST); Berth's is one POST ?digest=.`,
    `Request rates: closed loop over keep-alive connections (GETs sent by wrk with one thread, cycling over ${settings.images} tags; HEADs by ApacheBench, ab -i -k, to the first tag only: wrk waits for a body after a HEAD response with Content-Length, and ab takes one address), ${settings.manifestConnections} connections for ${settings.loadSeconds} s (tags list: ${settings.tagListConnections} connection, ${settings.tagListSeconds} s, ?n=${settings.tags * 2} so both return all tags). Small-image pushes and manifest GET/HEAD are measured warm: first an untimed round on every registry (300 other images pushed; 1 s of manifest GETs), then ${settings.repeat} timed rounds with the registries alternating, and the median round is reported (with its p99).`,
    'RSS: VmHWM reset per phase (/proc/<pid>/clear_refs) and VmRSS sampled every 50 ms; MB = 10^6 bytes.',
  ];
}

async function main(): Promise<void> {
  const only = sections();
  const started = performance.now();
  const loadBefore = loadavg();
  const date = new Date().toISOString();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const servers: Registry[] = [];
  const clients: RegistryClient[] = [];
  const own = (r: Registry, c?: RegistryClient) => {
    servers.push(r);
    if (c) clients.push(c);
  };
  // Serialised, so that a signal's cleanup and the main flow's never stop the same server twice
  // or let the process exit while the other is still stopping one.
  let stopping = Promise.resolve();
  const stopAll = () =>
    (stopping = stopping.then(async () => {
      for (const c of clients.splice(0)) await c.close().catch(() => {});
      for (const s of servers.splice(0)) await s.stop().catch((e: unknown) => log(`bench: stopping ${s.label}: ${String(e)}`));
    }));
  let pgs3: PgS3 | undefined;
  const tables: Table[] = [];
  // Ctrl-C or a kill: the same cleanup as a failure (servers, folders, database, bucket).
  const interrupted = (signal: NodeJS.Signals) => {
    log(`bench: ${signal}, cleaning up`);
    void stopAll()
      .then(() => pgs3?.cleanup())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    if (only.has('table') || only.has('pgs3')) {
      if (only.has('pgs3')) pgs3 = await createPgS3(log);
      const main: Registry[] = [];
      const add = async (r: Promise<Registry>) => {
        const registry = await r;
        own(registry);
        main.push(registry);
        log(`bench: ${registry.label} at ${registry.url} (pid ${registry.pid})`);
      };
      await add(startReference(logLevel));
      // Each Berth of the main tables: one process, with access control and the token flow unless --no-auth.
      const berthFor = (label: string, env?: Record<string, string>) => (noAuth ? startBerth(logLevel, { label, workers: 1, auth: false, ...(env ? { env } : {}) }) : startBerthWithAccess(logLevel, { label, workers: 1, ...(env ? { env } : {}) }));
      if (only.has('table')) await add(berthFor('berth'));
      if (pgs3) {
        const env = pgs3;
        await add(startReference(logLevel, { label: 'reference-s3', storage: env.referenceStorage }));
        await add(berthFor('berth-pg-s3', env.env));
        main.at(-1)!.seedTags = (repo, digest, tags) => seedTags(env.databaseUrl, repo, digest, tags);
      }
      const mainClients = main.map((r) => new RegistryClient(r));
      clients.push(...mainClients);
      const figures = await runAll(mainClients, settings, log);
      const ref = figures[0]!;
      const byLabel = new Map(main.map((r, k) => [r.label, figures[k]!]));
      const berth = byLabel.get('berth');
      const pg = byLabel.get('berth-pg-s3');
      const refS3 = byLabel.get('reference-s3');
      if (berth) {
        tables.push({
          title: `Berth (one process, ${berthMode}, SQLite + filesystem) against the reference (filesystem, no auth)`,
          columns: REF_BERTH,
          rows: rows(ref, berth),
          notes: [
            'Both registries on 127.0.0.1 with filesystem storage in a temporary folder, log level ' + logLevel + ' to a file; clients (undici for pushes, curl for blob pulls, wrk for GET and ab for HEAD request rates) on the same machine; the phases alternate between the registries.',
            noAuth
              ? 'Berth with access control off (--no-auth), like the reference.'
              : 'Berth with access control on: a private project "bench" and an ordinary account with the developer role; the client pings /v2/, takes the Bearer challenge and fetches one token per scope from /auth/token with Basic credentials (pull for reads, pull,push for pushes, registry:catalog:* for the catalog), reusing each until 80% of its lifetime, as docker and containerd do. The reference runs without auth.',
            `Blob pulls are timed by curl itself (request to last byte): the benchmark's Node client saturated a core at 300-2,000 MB/s on this host and timed itself, not the server. Loopback limit: curl pulling the same size from a send-only server (a separate Node process answering on a raw socket with a fixed header and one reused 4 MiB buffer, four writes in flight; no file, no hash), started before the single-stream pulls; after a warm-up, each registry pull (7 per registry, the registries alternating) is followed at once by one loopback pull, and the share is the median of those paired ratios, because this shared machine's speed drifts by 2-3x within minutes. Median loopback pull: ${berth.loopbackLimit.toFixed(0)} MB/s. A raw TCP stream without HTTP between two Node processes carried ${berth.loopbackRawTcp.toFixed(0)} MB/s.`,
            ...workloadNotes(),
            hostProbeNote(berth.hostProbes),
            threadCpuNote(berth.threadCpu),
            'Berth fsyncs every blob (and every PATCH) before acknowledging it and fdatasyncs the SQLite WAL before a write is acknowledged; the reference does not fsync. "Until on disk" adds a `sync` after the acknowledgement, so both figures include the disk write.',
            `Errors during load: reference ${errors(ref)}, Berth ${errors(berth)}${tagPutErrors(ref)}${tagPutErrors(berth)}.`,
          ],
        });
      }
      if (pg && refS3 && pgs3) {
        const pgNotes = [
          `Berth: one open process, ${pgs3.describe}; Berth streams blob GETs itself (storage.s3.redirect=false, so the pull figures are Berth's; with redirect on, clients fetch from S3 directly), 16 MiB parts (the default).`,
          'Ceph is a single-node cluster (one OSD on a sparse file, pools of size 1) on the same machine and disk, so every blob byte crosses loopback twice and the OSD competes for the same 2 cores; "until on disk" syncs the OSD\'s file too.',
        ];
        // What the scale-out configuration costs against the simplest deployment of the reference.
        tables.push({
          title: 'Berth on PostgreSQL + S3 (Ceph RGW) against the reference on the filesystem',
          columns: ['Reference (filesystem)', 'Berth (PostgreSQL + S3)', 'Berth/Ref'],
          rows: rows(ref, pg),
          notes: [...pgNotes, 'The reference figures are those of the reference on the filesystem in this run.', `Errors during load: Berth ${errors(pg)}${tagPutErrors(pg, 'straight into PostgreSQL')}.`],
        });
        // Like for like: both registries on the same object store.
        tables.push({
          title: 'Berth on PostgreSQL + S3 (Ceph RGW) against the reference on S3 (the same Ceph RGW)',
          columns: ['Reference (S3)', 'Berth (PostgreSQL + S3)', 'Berth/Ref'],
          rows: rows(refS3, pg),
          notes: [
            ...pgNotes,
            'The reference: its s3 driver on a bucket of its own on the same gateway, redirects disabled (it serves the bytes too), in-memory blob descriptor cache.',
            `Errors during load: reference ${errors(refS3)}, Berth ${errors(pg)}${tagPutErrors(refS3)}${tagPutErrors(pg, 'straight into PostgreSQL')}.`,
          ],
        });
        tables.push(await listingTable(main.find((r) => r.label === 'berth-pg-s3')!, pgs3, settings, log, ref.tagList));
      }
      // The next sections measure other servers: stop these so they cannot take CPU or memory.
      await stopAll();
    }
    if (only.has('auth')) {
      tables.push(await authTable(settings, logLevel, log, own));
      await stopAll();
    }
    if (only.has('workers')) {
      tables.push(await workersTable(settings, logLevel, log, own));
      await stopAll();
    }
    if (only.has('signing')) {
      tables.push(await signingTable(settings, logLevel, log, own));
      await stopAll();
    }
    if (only.has('proxy')) {
      tables.push(await proxyTable(settings, logLevel, log, own));
      await stopAll();
    }
    if (only.has('replication')) {
      tables.push(await replicationTable(settings, logLevel, log, own));
      await stopAll();
    }
    if (only.has('scan')) tables.push(await scanTable(settings, log));
    const seconds = (performance.now() - started) / 1000;
    const loadAfter = loadavg();
    const avg = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
    const notes = [
      `Sections: ${[...only].join(', ')} (BENCH_ONLY to pick); whole run took ${seconds.toFixed(0)} s${process.env.BENCH_QUICK === '1' ? ' (BENCH_QUICK=1: smoke run, not figures)' : ''}.`,
      `Load average (1 / 5 / 15 min) ${avg(loadBefore)} at the start and ${avg(loadAfter)} at the end: the machine is shared, and anything above the core count means other work ran alongside and the figures are noisier.`,
      'All servers on 127.0.0.1, the load generator on the same machine; every Berth is started with explicit BERTH_WORKERS and BERTH_AUTH__ENABLED, so the defaults (one process, access control on) do not change what a row means.',
    ];
    const m = machine();
    process.stdout.write(`\n${tables.map(textTable).join('\n\n')}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
    const dir = writeResults(tables, m, date, notes, { settings, logLevel, seconds, loadavg: { start: loadBefore, end: loadAfter } });
    log(`bench: results written to ${dir}latest.json and latest.md`);
  } catch (e) {
    for (const s of servers) {
      const lines = s.errorLog();
      if (lines) log(`bench: errors in the log of ${s.label}:\n${lines}`);
    }
    throw e;
  } finally {
    await stopAll();
    await pgs3?.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
