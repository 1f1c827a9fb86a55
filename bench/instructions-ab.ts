/**
 * Two builds compared by the instructions their event loop's thread executes per request (or
 * per pushed image), counted by valgrind's callgrind: a count that does not move with whatever
 * else the machine runs, where time and CPU time on this shared host drift by 10-30% between
 * runs (hot-ab.ts). Both servers run under callgrind at once, with access control and the token
 * flow; each is warmed (V8 optimizes a path over its first thousands of requests), its counters
 * are zeroed, then the same load runs on both and each main thread's count (callgrind's thread
 * 1) is read and divided by the requests served. Under callgrind a server runs some 50 times
 * slower, so the loads are short and rates mean nothing; only the counts are reported.
 * Usage: BENCH_AB_OTHER=/path/to/other/dist/src/cli/main.js node dist/bench/instructions-ab.js
 * (BENCH_HOT manifest-get | manifest-head | push; BENCH_SECONDS of load, 20; BENCH_ROUNDS, 2).
 * Needs valgrind (Debian's package).
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RegistryClient } from './client.js';
import { smallImage } from './payload.js';
import { startBerthWithAccess, type Registry } from './servers.js';
import { loadManifests, pushImages, pushImagesFor } from './workloads.js';

const hot = process.env.BENCH_HOT ?? 'manifest-get';
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const other = process.env.BENCH_AB_OTHER;
if (!other) throw new Error("set BENCH_AB_OTHER (another build's dist/src/cli/main.js)");
const method = hot === 'manifest-head' ? 'HEAD' : 'GET';
const s = { images: 20, imageConcurrency: 4, manifestConnections: 8, loadSeconds: seconds };

/** The main thread's instruction count of the callgrind run in process `pid` since its counters were last zeroed. */
function mainThreadInstructions(pid: number): number {
  const out = execFileSync('callgrind_control', ['-e', 'Ir', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const line = out.split('\n').find((l) => /^\s*Th\s*1\s/.test(l));
  if (!line) throw new Error(`callgrind_control gave no count for thread 1 of ${pid}:\n${out}`);
  return Number(line.replace(/^\s*Th\s*1\s+/, '').replace(/,/g, ''));
}

const zero = (r: Registry) => execFileSync('callgrind_control', ['-z', String(r.pid)], { stdio: 'ignore' });

/** One load on `r` from `client`: the requests (or images) it served. */
async function load(r: Registry, client: RegistryClient, n: number, secs: number): Promise<number> {
  if (hot === 'push') return pushImagesFor(client, 'bench/push', `r${n}-`, secs, 4, (i) => smallImage(i + n * 100_000, `ab-${r.label}`));
  return (await loadManifests(client, { ...s, loadSeconds: secs }, method)).requests;
}

const wrapper = ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null', '--collect-atstart=yes'];
const thisMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const registries = await Promise.all([
  startBerthWithAccess('info', { workers: 1, label: 'this', main: thisMain, wrapper }),
  startBerthWithAccess('info', { workers: 1, label: 'other', main: other, wrapper }),
]);
const clients = registries.map((r) => new RegistryClient(r));
try {
  if (hot !== 'push') await Promise.all(clients.map((c) => pushImages(c, s)));
  // Warm both at once, for twice a round's time (V8 is slower to optimize under callgrind), then the rounds.
  await Promise.all(registries.map((r, i) => load(r, clients[i]!, 0, 2 * seconds)));
  const perUnit: number[][] = [[], []];
  for (let n = 1; n <= rounds; n++) {
    registries.forEach(zero);
    const units = await Promise.all(registries.map((r, i) => load(r, clients[i]!, n, seconds)));
    // A push's scan runs after its manifest is acknowledged: let the job queue finish it.
    if (hot === 'push') await sleep(15_000);
    registries.forEach((r, i) => {
      const each = mainThreadInstructions(r.pid) / units[i]!;
      perUnit[i]!.push(each);
      console.log(`round ${n} ${r.label}: ${units[i]} ${hot === 'push' ? 'images' : 'requests'}, ${(each / 1000).toFixed(1)}k main-thread instructions each`);
    });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [a, b] = perUnit.map(mean) as [number, number];
  console.log(`this: ${(a / 1000).toFixed(1)}k, other: ${(b / 1000).toFixed(1)}k main-thread instructions per ${hot === 'push' ? 'image' : 'request'} (this/other ${(a / b).toFixed(3)})`);
} finally {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(registries.map((r) => r.stop()));
}
