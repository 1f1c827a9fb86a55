/**
 * `npm run bench`: Berth side by side with the reference registry (CNCF Distribution) on the
 * same machine, the same workloads and the same bytes. Starts both servers on loopback over
 * temporary folders, runs every workload against the reference and then against Berth,
 * prints the table, writes bench/results/latest.{json,md}, and stops both servers and removes
 * their folders whatever happens.
 *
 * Environment: BENCH_LOG_LEVEL (info), BENCH_REPEAT (3), BENCH_SECONDS (5),
 * BENCH_REFERENCE_BIN (/usr/bin/docker-registry), BENCH_QUICK=1 (a small smoke run).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { RegistryClient } from './client.js';
import { machine, textTable, writeResults, type Row } from './report.js';
import { startBerth, startReference, type Registry } from './servers.js';
import { runAll, type Figures, type Settings } from './workloads.js';

const settings: Settings = {
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
  tagConcurrency: 16,
  tagListConnections: 1,
  tagListSeconds: 3,
};
// BENCH_QUICK=1: a small smoke run of the same code paths (for checking the harness, not for figures).
if (process.env.BENCH_QUICK === '1') Object.assign(settings, { blobMiB: 16, bigMiB: 64, repeat: 1, images: 20, tags: 100, loadSeconds: 1, tagListSeconds: 1 });
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';

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
    both(`pull ${mib}, ${settings.parallelPulls} streams`, 'MB/s', 'higher', (f) => f.pullParallel, { targetRatio: 1 }),
    both(`push ${settings.images} small images, ${settings.imageConcurrency} at once`, 'images/s', 'higher', (f) => f.imagesPerSecond),
    both(`manifest GET by tag, ${settings.manifestConnections} conns`, 'req/s', 'higher', (f) => f.manifestGet.rps, { targetRatio: 2 }),
    both(`manifest GET p99`, 'ms', 'lower', (f) => f.manifestGet.p99Ms),
    both(`manifest HEAD by tag, ${settings.manifestConnections} conns`, 'req/s', 'higher', (f) => f.manifestHead.rps, { targetRatio: 2 }),
    both(`manifest HEAD p99`, 'ms', 'lower', (f) => f.manifestHead.p99Ms),
    both(`tag PUT (setup of ${settings.tags} tags)`, 'tags/s', 'higher', (f) => f.tagPutPerSecond),
    both(`tags list of ${settings.tags} tags, mean`, 'ms', 'lower', (f) => f.tagList.meanMs),
    both(`tags list p99`, 'ms', 'lower', (f) => f.tagList.p99Ms),
    both(`push ${settings.bigMiB} MiB monolithic`, 'MB/s', 'higher', (f) => f.bigPush),
    both(`pull ${settings.bigMiB} MiB, 1 stream`, 'MB/s', 'higher', (f) => f.bigPull),
    both(`server RSS idle`, 'MB', 'lower', (f) => f.rssIdle),
    both(`server RSS peak, whole run`, 'MB', 'lower', (f) => f.rssPeak),
    both(`server RSS peak, ${settings.bigMiB} MiB push+pull`, 'MB', 'lower', (f) => f.rssBig, { targetBerth: 150 }),
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  const date = new Date().toISOString();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const servers: Registry[] = [];
  const clients: RegistryClient[] = [];
  try {
    servers.push(await startReference(logLevel));
    servers.push(await startBerth(logLevel));
    for (const server of servers) {
      log(`bench: ${server.name} at ${server.url} (pid ${server.pid})`);
      clients.push(new RegistryClient(server));
    }
    const figures = await runAll(clients, settings, log);
    const [ref, berth] = figures as [Figures, Figures];
    const table = rows(ref, berth);
    const seconds = (performance.now() - started) / 1000;
    const notes = [
      `Both registries on 127.0.0.1 with filesystem storage in a temporary folder, log level ${logLevel} to a file; client (undici for blobs, node:http for request rates) on the same machine; the phases alternate between the registries.`,
      `Blob figures: median of ${settings.repeat} runs, each on a fresh ${settings.blobMiB} MiB blob; MB = 10^6 bytes. Reference monolithic push is POST then PUT with the body (it does not complete uploads on POST); Berth's is one POST ?digest=.`,
      'Berth fsyncs every blob (and every PATCH) before acknowledging it and fdatasyncs the SQLite WAL before a write is acknowledged; the reference does not fsync. "Until on disk" adds a `sync` after the acknowledgement, so both figures include the disk write.',
      `Request rates: closed loop over node:http keep-alive connections, ${settings.manifestConnections} connections for ${settings.loadSeconds} s, cycling over ${settings.images} tags (tags list: ${settings.tagListConnections} connection, ${settings.tagListSeconds} s, ?n=${settings.tags * 2} so both return all tags).`,
      `RSS: VmHWM reset per phase (/proc/<pid>/clear_refs) and VmRSS sampled every 50 ms; MB = 10^6 bytes. Whole run took ${seconds.toFixed(0)} s.`,
      `1-minute load average ${loadBefore.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end (anything above the core count means other work shared the machine and the figures are noisier).`,
      `Errors during load: reference ${ref.manifestGet.errors + ref.manifestHead.errors + ref.tagList.errors}, Berth ${berth.manifestGet.errors + berth.manifestHead.errors + berth.tagList.errors}.`,
    ];
    const m = machine();
    process.stdout.write(`\n${textTable(table)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
    const dir = writeResults(table, m, date, notes, { settings, logLevel, seconds, phasePeaksMB: { reference: ref.phasePeaks, berth: berth.phasePeaks } });
    log(`bench: results written to ${dir}latest.json and latest.md`);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    for (const s of servers) await s.stop().catch((e: unknown) => log(`bench: stopping ${s.name}: ${String(e)}`));
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
