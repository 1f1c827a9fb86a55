/**
 * The workloads. Each phase runs against both registries in turn (reference, then Berth, and
 * again for each repetition), so that load from anything else on the machine falls on both
 * alike. Every loop is bounded (a number of blobs, images, tags, or seconds). Blob figures
 * are the median of `repeat` runs, each on a fresh blob, in MB/s (10^6 bytes per second).
 * Before each run, `sync` writes out dirty pages left by the previous one (the reference does
 * not fsync, and its write-back must not land in Berth's timing or the other way round).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { forEachConcurrent, load, MANIFEST_ACCEPT, type LoadResult, type RegistryClient } from './client.js';
import { imageManifest, sha256 } from '../test/helpers/oci.js';
import { blobSpec, MiB, smallImage, type BlobSpec, type SmallImage } from './payload.js';
import { RssProbe } from './rss.js';
import { rawTcpLimit, startLoopback } from './loopback.js';
import { probeHost, type HostProbe } from './host-probe.js';
import { recordThreads, type ThreadKind } from './thread-cpu.js';

export interface Settings {
  blobMiB: number;
  chunkMiB: number;
  bigMiB: number;
  repeat: number;
  parallelPulls: number;
  images: number;
  imageConcurrency: number;
  manifestConnections: number;
  loadSeconds: number;
  tags: number;
  /** The tag PUTs are timed for at most this long; the rest go in untimed (or straight into the database). */
  tagPutSeconds: number;
  tagConcurrency: number;
  tagListConnections: number;
  tagListSeconds: number;
  /** Repositories the catalog lists in the catalog phase. */
  catalogRepos: number;
}

export interface Figures {
  pushMonolithic: number;
  pushDurable: number;
  pushChunked: number;
  pullSingle: number;
  /** Median of each single-stream pull divided by the loopback pull taken right after it. */
  pullShare: number;
  /** One stream from a minimal server writing from memory, same client, same phase (MB/s, median). */
  loopbackLimit: number;
  /** One raw TCP stream between two processes, no HTTP (MB/s). */
  loopbackRawTcp: number;
  pullParallel: number;
  imagesPerSecond: number;
  manifestGet: LoadResult;
  manifestHead: LoadResult;
  tagPutPerSecond: number;
  /** 5xx answers to tag PUTs (each retried until it succeeded, at most 5 times). */
  tagPutServerErrors: number;
  /** Tags put in after the tag phase's time budget ran out (untimed, or straight into the database). */
  tagsAfterBudget: number;
  tagList: LoadResult;
  catalog: LoadResult;
  bigPush: number;
  bigPull: number;
  rssIdle: number;
  rssPeak: number;
  rssBig: number;
  phasePeaks: Record<string, number>;
  /** The host probes taken before each round of each phase, by phase (the same for every registry). */
  hostProbes: Record<string, HostProbe[]>;
  /** A Node server's CPU seconds per round by kind of thread, by phase (empty for other servers). */
  threadCpu: Record<string, Record<ThreadKind, number>[]>;
}

interface Target {
  client: RegistryClient;
  probe: RssProbe;
  peaks: Record<string, number>;
  threadCpu: Record<string, Record<ThreadKind, number>[]>;
  images: SmallImage[];
  /** Tags of the tag phase put in after its time budget (not timed). */
  tagsSeeded?: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
/** Single-stream pulls per registry, each paired with a loopback pull (a 256 MiB pull takes well under a second). */
const SINGLE_PULL_PAIRS = 7;
/** Images pushed untimed before the small-image rounds, and where their numbering starts (apart from the timed ones). */
const WARM_IMAGES = 300;
const WARM_BASE = 100_000;
/** Of several load runs, the one with the median request rate (its p99 goes with it). */
const medianRun = (runs: LoadResult[]): LoadResult => [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!;

/** The manifests of the small-image phase, by tag (the paths the request-rate runs cycle over). */
export const manifestPaths = (s: Pick<Settings, 'images'>, repo = 'bench/small') => Array.from({ length: s.images }, (_, i) => `/v2/${repo}/manifests/img-${i}`);

/** Pushes the small images (as the small-image phase does) where only request rates are measured. */
export async function pushImages(client: RegistryClient, s: Pick<Settings, 'images' | 'imageConcurrency'>, repo = 'bench/small'): Promise<void> {
  const images = Array.from({ length: s.images }, (_, i) => smallImage(i, client.registry.label));
  await forEachConcurrent(images, s.imageConcurrency, (img, i) => client.pushSmallImage(repo, `img-${i}`, img));
}

/** Manifest GET or HEAD by tag, closed loop, with the registry's own credentials unless `headers` replaces them. */
export async function loadManifests(
  client: RegistryClient,
  s: Pick<Settings, 'images' | 'manifestConnections' | 'loadSeconds'>,
  method: 'GET' | 'HEAD',
  opts: { headers?: Record<string, string>; seconds?: number; repo?: string } = {},
): Promise<LoadResult> {
  const paths = manifestPaths(s, opts.repo);
  const headers = { accept: MANIFEST_ACCEPT, ...(opts.headers ?? (await client.authHeaders(method, paths[0]!))) };
  return load(client.registry.url, { method, paths, connections: s.manifestConnections, seconds: opts.seconds ?? s.loadSeconds, headers });
}

/**
 * Pushes small images (`imageOf(i)` as `<tagPrefix><i>` in `repo`), `concurrency` at once, until
 * `seconds` have passed; returns how many were pushed.
 */
export async function pushImagesFor(client: RegistryClient, repo: string, tagPrefix: string, seconds: number, concurrency: number, imageOf: (i: number) => SmallImage): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let pushed = 0;
  await forEachConcurrent(Array.from({ length: 100_000 }, (_, i) => i), concurrency, async (i) => {
    if (Date.now() > end) return;
    await client.pushSmallImage(repo, `${tagPrefix}${i}`, imageOf(i));
    pushed++;
  });
  return pushed;
}

/** Runs every workload against each client in turn; `log` receives one line per phase. */
export async function runAll(clients: RegistryClient[], s: Settings, log: (line: string) => void): Promise<Figures[]> {
  const size = s.blobMiB * MiB;
  const targets: Target[] = clients.map((client) => ({
    client,
    probe: new RssProbe(client.registry.pid),
    peaks: {},
    threadCpu: {},
    images: Array.from({ length: s.images }, (_, i) => smallImage(i, client.registry.label)),
  }));
  const rssIdle = targets.map((t) => t.probe.current());
  const hostProbes: Record<string, HostProbe[]> = {};

  /** Runs `fn` `reps` times on every target, alternating targets; returns each target's results. */
  const phase = async <T>(name: string, reps: number, fn: (t: Target, rep: number) => Promise<T>): Promise<T[][]> => {
    const out: T[][] = targets.map(() => []);
    for (let rep = 0; rep < reps; rep++) {
      for (const [k, t] of targets.entries()) {
        // What the previous round left behind (Berth's scans of the images it pushed) ends first.
        for (const other of targets) {
          const waited = (await other.client.registry.idle?.()) ?? 0;
          if (waited > 200) log(`  ${name}: waited ${(waited / 1000).toFixed(1)} s for ${other.client.registry.label}'s image scans to finish`);
        }
        spawnSync('sync');
        (hostProbes[name] ??= []).push(probeHost());
        t.probe.start();
        const threads = t.client.registry.nodeThreads ? recordThreads(t.client.registry.pid, { poll: false }) : undefined;
        try {
          out[k]!.push(await fn(t, rep));
        } finally {
          t.peaks[name] = Math.max(t.peaks[name] ?? 0, t.probe.stop());
          if (threads) (t.threadCpu[name] ??= []).push(threads.stop().byKind);
        }
      }
    }
    log(`  ${name}: ${targets.map((t) => `${t.client.registry.label} RSS peak ${t.peaks[name]!.toFixed(0)} MB`).join(', ')}`);
    return out;
  };
  const medians = (xs: number[][]) => xs.map(median);

  log(`bench: describing blobs (${s.repeat} x 2 x ${s.blobMiB} MiB + ${s.bigMiB} MiB)`);
  const mono: BlobSpec[] = Array.from({ length: s.repeat }, (_, i) => blobSpec(100 + i, size));
  const chunked: BlobSpec[] = Array.from({ length: s.repeat }, (_, i) => blobSpec(200 + i, size));
  const big = blobSpec(300, s.bigMiB * MiB);

  // Also timed until the bytes are on disk (`sync` after the acknowledgement), the figure to
  // compare when the reference's page-cache speed is set against Berth's fsync'd writes.
  const monoRuns = await phase('push monolithic', s.repeat, async (t, rep) => {
    const started = performance.now();
    await t.client.pushMonolithic('bench/blobs', mono[rep]!);
    const acked = (performance.now() - started) / 1000;
    spawnSync('sync');
    return { acked: mbps(size, acked), durable: mbps(size, (performance.now() - started) / 1000) };
  });
  const pushMonolithic = medians(monoRuns.map((runs) => runs.map((r) => r.acked)));
  const pushDurable = medians(monoRuns.map((runs) => runs.map((r) => r.durable)));
  const pushChunked = medians(await phase('push chunked', s.repeat, async (t, rep) => mbps(size, await timed(() => t.client.pushChunked('bench/blobs', chunked[rep]!, s.chunkMiB * MiB)))));
  const pulled = mono[0]!;
  // The ceiling for one stream: each pull is followed at once by a pull from the send-only
  // server, and the share is the median of those pairs (the machine's speed drifts between runs).
  const loopback = await startLoopback(size);
  let pullRuns: { registry: number; loopback: number }[][];
  try {
    pullRuns = await phase('pull single', SINGLE_PULL_PAIRS, async (t) => ({ registry: await t.client.curlPull('bench/blobs', pulled.digest, size), loopback: await loopback.pull() }));
  } finally {
    await loopback.stop();
  }
  const pullSingle = medians(pullRuns.map((runs) => runs.map((r) => r.registry)));
  const pullShare = medians(pullRuns.map((runs) => runs.map((r) => r.registry / r.loopback)));
  const loopbackLimit = median(pullRuns.flat().map((r) => r.loopback));
  const loopbackRawTcp = await rawTcpLimit(size, s.repeat);
  log(`  loopback limit: ${loopbackLimit.toFixed(0)} MB/s through the client (median of ${pullRuns.flat().length}), ${loopbackRawTcp.toFixed(0)} MB/s raw TCP`);
  const pullParallel = medians(
    await phase('pull parallel', s.repeat, (t) => t.client.curlPulls('bench/blobs', pulled.digest, size, s.parallelPulls)),
  );

  // Request rates are measured warm, as a server that has been up for a while runs: first an
  // untimed round of the same requests on every registry (V8 optimizes a request path during
  // its first thousand or so requests, each then costing 2-3 times its warm cost; a 200-image
  // push is only ~1,700 requests). Then `repeat` timed rounds, the registries alternating.
  const warmImages = Array.from({ length: WARM_IMAGES }, (_, i) => i);
  for (const t of targets) await forEachConcurrent(warmImages, s.imageConcurrency, (i) => t.client.pushSmallImage('bench/warm', `w-${i}`, smallImage(WARM_BASE + i, `${t.client.registry.label}-warm`)));
  const imagesPerSecond = medians(
    await phase('small images', s.repeat, async (t, rep) => {
      // The first round pushes the images the manifest phases read; later rounds push other images (same sizes) elsewhere.
      const images = rep === 0 ? t.images : t.images.map((_, i) => smallImage(WARM_BASE * (rep + 1) + i, t.client.registry.label));
      const repo = rep === 0 ? 'bench/small' : `bench/small-${rep}`;
      const secs = await timed(() => forEachConcurrent(images, s.imageConcurrency, (img, i) => t.client.pushSmallImage(repo, `img-${i}`, img)));
      return s.images / secs;
    }),
  );

  const manifestLoad = (t: Target, method: 'GET' | 'HEAD') => loadManifests(t.client, s, method);
  for (const t of targets) await loadManifests(t.client, { ...s, loadSeconds: 1 }, 'GET');
  const manifestGet = (await phase('manifest GET', s.repeat, (t) => manifestLoad(t, 'GET'))).map(medianRun);
  const manifestHead = (await phase('manifest HEAD', s.repeat, (t) => manifestLoad(t, 'HEAD'))).map(medianRun);

  const tagNames = Array.from({ length: s.tags }, (_, i) => `t${String(i).padStart(5, '0')}`);
  const tagPutPerSecond = medians(
    await phase(`tag ${s.tags}`, 1, async (t) => {
      const base = t.images[0]!;
      await t.client.pushSmallImage('bench/tags', 'base', base);
      const manifest = imageManifest(base.blobs[0]!, base.blobs.slice(1));
      const deadline = performance.now() + s.tagPutSeconds * 1000;
      const rest: string[] = [];
      let done = 0;
      const secs = await timed(() =>
        forEachConcurrent(tagNames, s.tagConcurrency, async (tag) => {
          if (performance.now() > deadline) return void rest.push(tag);
          await t.client.putManifest('bench/tags', tag, manifest, 5);
          done++;
        }),
      );
      t.tagsSeeded = rest.length;
      const seed = t.client.registry.seedTags;
      if (rest.length && seed) await seed('bench/tags', sha256(manifest), rest);
      else await forEachConcurrent(rest, s.tagConcurrency, (tag) => t.client.putManifest('bench/tags', tag, manifest, 5));
      return done / secs;
    }),
  );
  const listPath = `/v2/bench/tags/tags/list?n=${s.tags * 2}`;
  for (const t of targets) {
    const listed = (await t.client.getJson(listPath)) as { tags?: string[] };
    if ((listed.tags?.length ?? 0) !== s.tags + 1) throw new Error(`${t.client.registry.label}: tag list has ${listed.tags?.length} tags, expected ${s.tags + 1}`);
  }
  const tagList = (
    await phase('tag list', 1, async (t) => load(t.client.registry.url, { method: 'GET', paths: [listPath], connections: s.tagListConnections, seconds: s.tagListSeconds, headers: await t.client.authHeaders('GET', listPath) }))
  ).map((r) => r[0]!);

  // The catalog over `catalogRepos` repositories (one small image each, pushed untimed), listed
  // whole by one client with a registry:catalog:* token where the registry has access control.
  const catalogPath = `/v2/_catalog?n=${s.catalogRepos * 2}`;
  const catalogRepos = Array.from({ length: s.catalogRepos }, (_, i) => `bench/catalog-${String(i).padStart(4, '0')}`);
  for (const t of targets) {
    await forEachConcurrent(catalogRepos, s.imageConcurrency, (repo) => t.client.pushSmallImage(repo, 'latest', t.images[0]!));
    const listed = ((await t.client.getJson(catalogPath)) as { repositories?: string[] }).repositories ?? [];
    const missing = catalogRepos.filter((r) => !listed.includes(r)).length;
    if (missing) throw new Error(`${t.client.registry.label}: the catalog lists ${listed.length} repositories and misses ${missing} of the ${s.catalogRepos} pushed`);
  }
  const catalog = (
    await phase('catalog', 1, async (t) => load(t.client.registry.url, { method: 'GET', paths: [catalogPath], connections: 1, seconds: s.tagListSeconds, headers: await t.client.authHeaders('GET', catalogPath) }))
  ).map((r) => r[0]!);

  const bigBytes = s.bigMiB * MiB;
  const bigRuns = await phase(`${s.bigMiB} MiB push+pull`, 1, async (t) => ({
    push: mbps(bigBytes, await timed(() => t.client.pushMonolithic('bench/big', big))),
    pull: await t.client.curlPull('bench/big', big.digest, bigBytes),
  }));

  return targets.map((t, k) => ({
    pushMonolithic: pushMonolithic[k]!,
    pushDurable: pushDurable[k]!,
    pushChunked: pushChunked[k]!,
    pullSingle: pullSingle[k]!,
    pullShare: pullShare[k]!,
    loopbackLimit,
    loopbackRawTcp,
    pullParallel: pullParallel[k]!,
    imagesPerSecond: imagesPerSecond[k]!,
    manifestGet: manifestGet[k]!,
    manifestHead: manifestHead[k]!,
    tagPutPerSecond: tagPutPerSecond[k]!,
    tagPutServerErrors: t.client.retriedServerErrors,
    tagsAfterBudget: t.tagsSeeded ?? 0,
    tagList: tagList[k]!,
    catalog: catalog[k]!,
    bigPush: bigRuns[k]![0]!.push,
    bigPull: bigRuns[k]![0]!.pull,
    rssIdle: rssIdle[k]!,
    rssPeak: Math.max(...Object.values(t.peaks)),
    rssBig: t.peaks[`${s.bigMiB} MiB push+pull`]!,
    phasePeaks: t.peaks,
    hostProbes,
    threadCpu: t.threadCpu,
  }));
}
