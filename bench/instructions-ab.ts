/**
 * Two builds compared by the instructions their event loop's thread executes per request (or
 * per pushed image), counted by valgrind's callgrind: a count that the host's other work does
 * not move, where time and CPU time on this shared host drift by 10-30% between runs
 * (hot-ab.ts). Both servers run under callgrind at once, with access control and the token
 * flow; each is warmed (V8 optimizes a path over its first thousands of requests), its counters
 * are zeroed, then the same fixed load runs on both (BENCH_REQUESTS requests by ab, or
 * BENCH_IMAGES pushed images and 15 s for their scans), and each main thread's count
 * (callgrind's thread 1) is read and divided by the requests served. The load is a fixed count,
 * not a fixed time: work a server does by the clock (timed batches, timers) would otherwise be
 * spread over however many requests it managed, flattering the faster build (a time-based
 * version of this tool gave 0.80-0.95 for one build against itself; with fixed counts, 0.97 and
 * 1.00). Under callgrind a server runs some 50 times slower; only the counts mean anything.
 * Run it both ways (each build as "this") and compare the two ratios: on 2026-12-05 the server
 * labelled "this" counted about 13% more per GET in both orders, whichever build it ran. Only
 * user-space instructions are counted: a change in system calls or in the kernel's work (a
 * wake-up, a file made and deleted) does not show here.
 * Usage: BENCH_AB_OTHER=/path/to/other/dist/src/cli/main.js node dist/bench/instructions-ab.js
 * (BENCH_HOT manifest-get | manifest-head | push; BENCH_REQUESTS 3000; BENCH_IMAGES 30;
 * BENCH_ROUNDS 2). Needs valgrind and ab (Debian's valgrind and apache2-utils).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { MANIFEST_ACCEPT, RegistryClient, forEachConcurrent } from './client.js';
import { smallImage } from './payload.js';
import { startBerthWithAccess, type Registry } from './servers.js';
import { pushImages } from './workloads.js';

const hot = process.env.BENCH_HOT ?? 'manifest-get';
const requests = Number(process.env.BENCH_REQUESTS ?? 3000);
const images = Number(process.env.BENCH_IMAGES ?? 30);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const other = process.env.BENCH_AB_OTHER;
if (!other) throw new Error("set BENCH_AB_OTHER (another build's dist/src/cli/main.js)");
const method = hot === 'manifest-head' ? 'HEAD' : 'GET';
const s = { images: 20, imageConcurrency: 4 };
const run = promisify(execFile);

/** The main thread's instruction count of the callgrind run in process `pid` since its counters were last zeroed. */
function mainThreadInstructions(pid: number): number {
  const out = execFileSync('callgrind_control', ['-e', 'Ir', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const line = out.split('\n').find((l) => /^\s*Th\s*1\s/.test(l));
  if (!line) throw new Error(`callgrind_control gave no count for thread 1 of ${pid}:\n${out}`);
  return Number(line.replace(/^\s*Th\s*1\s+/, '').replace(/,/g, ''));
}

const zero = (r: Registry) => execFileSync('callgrind_control', ['-z', String(r.pid)], { stdio: 'ignore' });

/** One fixed load on `r` from `client` (`scale` times the round's): the requests (or images) it served. */
async function load(r: Registry, client: RegistryClient, n: number, scale = 1): Promise<number> {
  if (hot === 'push') {
    const count = images * scale;
    await forEachConcurrent(Array.from({ length: count }, (_, i) => i), 4, (i) => client.pushSmallImage('bench/push', `r${n}-${i}`, smallImage(i + n * 100_000, `ab-${r.label}`)));
    return count;
  }
  const path = '/v2/bench/small/manifests/img-0';
  const headers = Object.entries({ accept: MANIFEST_ACCEPT, ...(await client.authHeaders(method, path)) }).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const { stdout } = await run('ab', [...(method === 'HEAD' ? ['-i'] : []), '-k', '-q', '-c', '8', '-n', String(requests * scale), '-s', '60', ...headers, `${r.url}${path}`], { maxBuffer: 1 << 20 });
  const field = (label: string) => Number(new RegExp(`^${label}:\\s+(\\d+)`, 'm').exec(stdout)?.[1] ?? NaN);
  const failed = field('Failed requests') + Number(/^Non-2xx responses:\s+(\d+)/m.exec(stdout)?.[1] ?? 0);
  if (failed > 0 || !(field('Complete requests') > 0)) throw new Error(`${r.label}: ${failed} failed requests\n${stdout.slice(0, 800)}`);
  return field('Complete requests');
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
  // Warm both at once with twice a round's load, then the rounds.
  await Promise.all(registries.map((r, i) => load(r, clients[i]!, 0, 2)));
  const perUnit: number[][] = [[], []];
  for (let n = 1; n <= rounds; n++) {
    registries.forEach(zero);
    const units = await Promise.all(registries.map((r, i) => load(r, clients[i]!, n)));
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
