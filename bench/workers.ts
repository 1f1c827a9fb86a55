/**
 * `--workers 2` against one process: manifest GET by tag over the same small images on two
 * open Berth servers (BERTH_WORKERS=1 and =2, SQLite + filesystem), run alternately in rounds.
 * Besides requests per second it reports CPU time: the server's (the process and its forked
 * workers, from /proc/<pid>/stat) per request, and the load generator's own (this process and its wrk),
 * because on a small machine the load generator competes with the workers for the same cores
 * and the request rate alone then understates what a second worker adds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { RegistryClient, type LoadResult } from './client.js';
import type { Table } from './report.js';
import { startBerth, type Registry } from './servers.js';
import { loadManifests, pushImages, type Settings } from './workloads.js';

/** The fields of /proc/<pid>/stat after the command name: f[1] parent pid, f[11..14] utime, stime, cutime, cstime (clock ticks). */
function statFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) used so far by `pid` and its direct children (the cluster workers). */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = statFields(Number(entry));
      // f[1] is the parent pid; f[11], f[12] are utime and stime in clock ticks.
      if (Number(entry) === pid || Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

interface Run {
  load: LoadResult;
  serverCores: number;
  clientCores: number;
  serverCpuUsPerRequest: number;
}

async function measure(client: RegistryClient, s: Settings): Promise<Run> {
  await loadManifests(client, s, 'GET', { seconds: 1 });
  const pid = client.registry.pid;
  const cpu0 = treeCpuSeconds(pid);
  const own0 = loadGeneratorCpuSeconds();
  const t0 = performance.now();
  const load = await loadManifests(client, s, 'GET');
  const wall = (performance.now() - t0) / 1000;
  const server = treeCpuSeconds(pid) - cpu0;
  const own = loadGeneratorCpuSeconds() - own0;
  if (load.errors) throw new Error(`workers: ${client.registry.label}: ${load.errors} failed requests`);
  return { load, serverCores: server / wall, clientCores: own / wall, serverCpuUsPerRequest: (server / load.requests) * 1e6 };
}

/**
 * CPU seconds used so far by the load generator: this process and the children it has waited
 * for (the wrk runs that send GETs), from /proc/self/stat (utime, stime, cutime, cstime).
 */
function loadGeneratorCpuSeconds(): number {
  const f = statFields('self');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function workersTable(s: Settings, logLevel: string, log: (l: string) => void, own: (r: Registry, c: RegistryClient) => void, rounds = 2): Promise<Table> {
  const clients: RegistryClient[] = [];
  for (const workers of [1, 2]) {
    const registry = await startBerth(logLevel, { label: `berth-workers-${workers}`, workers });
    const client = new RegistryClient(registry);
    own(registry, client);
    log(`bench: ${registry.label} at ${registry.url} (pid ${registry.pid})`);
    await pushImages(client, s);
    clients.push(client);
  }
  const runs: Run[][] = [[], []];
  for (let round = 0; round < rounds; round++) {
    for (const [k, c] of clients.entries()) {
      const r = await measure(c, s);
      runs[k]!.push(r);
      log(`  workers: ${c.registry.label} round ${round + 1}: ${r.load.rps.toFixed(0)} req/s, server ${r.serverCores.toFixed(2)} cores, load generator ${r.clientCores.toFixed(2)} cores`);
    }
  }
  const summary = (rs: Run[]) => ({
    rps: mean(rs.map((r) => r.load.rps)),
    p99: mean(rs.map((r) => r.load.p99Ms)),
    serverCores: mean(rs.map((r) => r.serverCores)),
    clientCores: mean(rs.map((r) => r.clientCores)),
    us: mean(rs.map((r) => r.serverCpuUsPerRequest)),
  });
  const one = summary(runs[0]);
  const two = summary(runs[1]);
  const cores = cpus().length;
  return {
    title: `--workers 2 against one process: manifest GET by tag, ${s.manifestConnections} connections`,
    columns: ['--workers 1', '--workers 2', '2 / 1'],
    rows: [
      { label: 'manifest GET', unit: 'req/s', better: 'higher', reference: one.rps, berth: two.rps, targetRatio: 1.7 },
      { label: 'manifest GET p99', unit: 'ms', better: 'lower', reference: one.p99, berth: two.p99 },
      { label: 'server CPU per request', unit: 'µs', better: 'lower', reference: one.us, berth: two.us },
      { label: 'server CPU used (all its processes)', unit: 'cores', better: 'higher', reference: one.serverCores, berth: two.serverCores },
      { label: 'load generator CPU used (the benchmark process and its wrk)', unit: 'cores', better: 'lower', reference: one.clientCores, berth: two.clientCores },
      {
        label: 'estimated capacity, load generator elsewhere (usable cores / CPU per request)',
        unit: 'req/s',
        better: 'higher',
        reference: Math.min(1, cores) / (one.us / 1e6),
        berth: Math.min(2, cores) / (two.us / 1e6),
      },
    ],
    notes: [
      `Both servers open (BERTH_AUTH__ENABLED=false), SQLite + filesystem, the same ${s.images} small images; ${rounds} alternating rounds of ${s.loadSeconds} s (after a 1 s warm-up each), averaged. Server CPU: utime + stime of the server process and its children from /proc; load generator: this Node process and the wrk runs it waited for (cutime, cstime).`,
      `Measured on ${cores} cores shared by the server(s) and the load generator (wrk, one thread), so the request rate of --workers 2 is bounded by the cores left over by the load generator; the 1.7x target assumes cores free for the server. The last row is an estimate, not a measurement: the server's measured CPU per request turned into a rate for one core (one process) or two (two workers), assuming the load generator ran elsewhere.`,
    ],
  };
}
