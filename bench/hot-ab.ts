/**
 * One hot path on two builds side by side, for before/after comparisons on a noisy machine:
 * two Berths (this build, and the one whose `dist/src/cli/main.js` is BENCH_AB_OTHER) with
 * access control and the token flow, the same images pushed to both, then rounds of
 * `BENCH_HOT` (manifest-get, manifest-head, push) alternating between them. Prints each
 * round and the medians of rate and server CPU per request (or image), all threads and the main
 * thread alone (the one that runs JavaScript: a busy server's limit). Both servers are up
 * the whole time, so whatever else the machine does falls on both alike.
 * Usage: BENCH_AB_OTHER=/path/to/other/dist/src/cli/main.js node dist/bench/hot-ab.js
 * (BENCH_ROUNDS 5, BENCH_SECONDS 4, BENCH_BERTH_ENV as in hot-path.ts). To compare settings
 * of one build instead, leave BENCH_AB_OTHER out and give the other server's node flags in
 * BENCH_AB_OTHER_NODE_ARGS or its settings in BENCH_AB_OTHER_ENV (same form as BENCH_BERTH_ENV).
 */
import { fileURLToPath } from 'node:url';
import { RegistryClient, forEachConcurrent } from './client.js';
import { smallImage } from './payload.js';
import { parseSettings, startBerthWithAccess, type Registry } from './servers.js';
import { loadManifests, pushImages, pushImagesFor } from './workloads.js';
import { treeCpuSeconds } from './workers.js';
import { mainThreadCpuSeconds } from './thread-cpu.js';

const hot = process.env.BENCH_HOT ?? 'manifest-get';
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const other = process.env.BENCH_AB_OTHER;
const otherNodeArgs = process.env.BENCH_AB_OTHER_NODE_ARGS;
const env = parseSettings(process.env.BENCH_BERTH_ENV);
const otherEnv = { ...env, ...parseSettings(process.env.BENCH_AB_OTHER_ENV) };
if (!other && otherNodeArgs === undefined && !process.env.BENCH_AB_OTHER_ENV) throw new Error('set BENCH_AB_OTHER (another build\'s dist/src/cli/main.js), BENCH_AB_OTHER_NODE_ARGS or BENCH_AB_OTHER_ENV');
const s = { images: 200, imageConcurrency: 16, manifestConnections: 32, loadSeconds: seconds };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;


/** One round: [rate per second, server CPU µs per unit, the main thread's CPU µs per unit]. */
async function round(r: Registry, client: RegistryClient, n: number): Promise<[number, number, number]> {
  const cpu0 = treeCpuSeconds(r.pid);
  const main0 = mainThreadCpuSeconds(r.pid);
  const t = performance.now();
  const units =
    hot === 'push'
      ? await pushImagesFor(client, 'bench/push', `r${n}-`, seconds, 16, (i) => smallImage(i + n * 100_000, `ab-${r.label}`))
      : (await loadManifests(client, s, hot === 'manifest-head' ? 'HEAD' : 'GET')).requests;
  const secs = (performance.now() - t) / 1000;
  return [units / secs, ((treeCpuSeconds(r.pid) - cpu0) * 1e6) / units, ((mainThreadCpuSeconds(r.pid) - main0) * 1e6) / units];
}

// The first is this build as BENCH_BERTH_* says; the second differs by build, node flags or settings.
const thisMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const registries = [
  await startBerthWithAccess('info', { workers: 1, env, label: 'this', main: thisMain }),
  await startBerthWithAccess('info', { workers: 1, env: otherEnv, label: 'other', main: other ?? thisMain, ...(otherNodeArgs !== undefined ? { nodeArgs: otherNodeArgs } : {}) }),
];
const clients = registries.map((r) => new RegistryClient(r));
try {
  if (hot !== 'push') {
    for (const c of clients) await pushImages(c, s);
    // Warm both (V8 compiles the hot path during its first thousands of requests).
    for (const c of clients) await loadManifests(c, { ...s, loadSeconds: 2 }, hot === 'manifest-head' ? 'HEAD' : 'GET');
  } else {
    for (const [i, c] of clients.entries()) await forEachConcurrent(Array.from({ length: 300 }, (_, k) => k), 16, (k) => c.pushSmallImage('bench/warm', `w${k}`, smallImage(k + 900_000, `warm-${i}`)));
  }
  const results: [number, number, number][][] = [[], []];
  for (let n = 0; n < rounds; n++) {
    // Alternate which goes first, so neither always follows the other.
    const order = n % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      const x = await round(registries[i]!, clients[i]!, n);
      results[i]!.push(x);
      console.log(`round ${n} ${registries[i]!.label}: ${x[0].toFixed(1)}/s, ${x[1].toFixed(0)} µs CPU each (main thread ${x[2].toFixed(0)})`);
    }
  }
  const unit = hot === 'push' ? 'images' : 'requests';
  for (const [i, r] of registries.entries()) {
    const m = (k: number) => median(results[i]!.map((x) => x[k]!));
    console.log(`${r.label}: median ${m(0).toFixed(1)} ${unit}/s, ${m(1).toFixed(0)} µs server CPU per ${unit.slice(0, -1)}, ${m(2).toFixed(0)} µs of it on the main thread`);
  }
} finally {
  for (const c of clients) await c.close();
  for (const r of registries) await r.stop();
}
