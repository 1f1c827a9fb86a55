/**
 * One hot path in isolation, for profiling: Berth with access control and the token flow (or
 * --no-auth), the small images pushed, then `BENCH_HOT` (manifest-get, manifest-head, push,
 * pull) run for BENCH_SECONDS. Start the server with BENCH_BERTH_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=DIR" to get a profile of exactly that load; `node scripts/cpu-profile-summary.mjs`
 * turns it into text.
 */
import { RegistryClient, load, type LoadResult } from './client.js';
import { sha256 } from '../test/helpers/oci.js';
import { blobSpec, MiB, smallImage } from './payload.js';
import { parseSettings, startBerth, startBerthWithAccess } from './servers.js';
import { loadManifests, pushImages, pushImagesFor } from './workloads.js';
import { treeCpuSeconds } from './workers.js';

const hot = process.env.BENCH_HOT ?? 'manifest-get';
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const noAuth = process.argv.includes('--no-auth');
const s = { images: 200, imageConcurrency: 16, manifestConnections: 32, loadSeconds: seconds };
// BENCH_BERTH_ENV="BERTH_A=1,BERTH_B=2": settings to try on the server.
const env = parseSettings(process.env.BENCH_BERTH_ENV);
// BENCH_LOG_LEVEL=warn: the same load without the per-request log line.
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
const registry = noAuth ? await startBerth(logLevel, { workers: 1, auth: false, env }) : await startBerthWithAccess(logLevel, { workers: 1, env });
const client = new RegistryClient(registry);
/** Runs `fn`; returns its result and the server's CPU (all its processes) in µs per unit counted by `units`. */
async function withServerCpu<T>(fn: () => Promise<T>, units: (r: T) => number): Promise<[T, number]> {
  const cpu0 = treeCpuSeconds(registry.pid);
  const r = await fn();
  return [r, ((treeCpuSeconds(registry.pid) - cpu0) * 1e6) / units(r)];
}
const rate = (name: string, r: LoadResult, cpuUs: number) =>
  console.log(`${name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(1)} ms, errors ${r.errors}, server CPU ${cpuUs.toFixed(0)} µs/request`);
try {
  const t = performance.now();
  if (hot === 'push') {
    const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
    const [n, cpuUs] = await withServerCpu(() => pushImagesFor(client, 'bench/push', 'img-', seconds, concurrency, (i) => smallImage(i, 'hot')), (pushed) => pushed);
    console.log(`push: ${(n / ((performance.now() - t) / 1000)).toFixed(1)} images/s, server CPU ${cpuUs.toFixed(0)} µs/image`);
  } else if (hot === 'pull') {
    const blob = blobSpec(1, 256 * MiB);
    await client.pushMonolithic('bench/blobs', blob);
    let bytes = 0;
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      await client.curlPull('bench/blobs', blob.digest, blob.size);
      bytes += blob.size;
    }
    console.log(`pull: ${(bytes / 1e6 / ((performance.now() - start) / 1000)).toFixed(0)} MB/s`);
  } else if (hot === 'blob-head') {
    // The framework's cost per request: a HEAD of a small blob that exists (no body, no audit).
    await pushImages(client, s);
    const paths = [`/v2/bench/small/blobs/${smallImage(0, registry.label).blobs.map((b) => sha256(b))[0]}`];
    const headers = await client.authHeaders('HEAD', paths[0]!);
    rate('blob-head', ...(await withServerCpu(() => load(registry.url, { method: 'HEAD', paths, connections: 32, seconds, headers }), (r) => r.requests)));
  } else {
    await pushImages(client, s);
    const method = hot === 'manifest-head' ? 'HEAD' : 'GET';
    await loadManifests(client, { ...s, loadSeconds: 1 }, method);
    rate(hot, ...(await withServerCpu(() => loadManifests(client, s, method), (r) => r.requests)));
  }
  if (process.env.BENCH_METRICS === '1') {
    // The slowest requests by route and metadata operations by total time (histogram sums).
    const text = await (await fetch(`${registry.url}/metrics`)).text();
    const sums = [...text.matchAll(/^berth_(?:metadata_[a-z_]*|http_request_duration)_seconds_sum\{([^}]*)\} ([0-9.e+-]+)/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    const counts = new Map([...text.matchAll(/^berth_(?:metadata_[a-z_]*|http_request_duration)_seconds_count\{([^}]*)\} ([0-9.e+-]+)/gm)].map((m) => [m[1]!, Number(m[2])] as const));
    for (const [labels, sum] of sums.sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${sum.toFixed(3)} s  ${String(counts.get(labels)).padStart(7)} calls  ${labels}`);
  }
} finally {
  await client.close();
  await registry.stop();
}
