/**
 * `BENCH_ONLY=proxy`: the pull-through cache. One reference registry (Distribution) is the
 * upstream; one open Berth process caches it as project `up` and also serves a local project.
 * Per run, a fresh blob of `proxyMiB` is pushed to the upstream and pulled: directly from the
 * upstream, then cold through the cache (fetched, verified and stored while streaming), then
 * warm (from the cache); the same blob pushed to Berth's local project gives the core's own
 * blob pull for the warm comparison. Time to first byte is measured on the client (request
 * sent to the first body byte).
 * Targets (issue 13): cold throughput at least 0.8x direct, first byte of a cold 512 MiB blob
 * under 1 s, warm pull at least 1.0x the core's blob pull.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { RegistryClient } from './client.js';
import { blobSpec, MiB } from './payload.js';
import type { Table } from './report.js';
import { startBerth, startReference, type Registry } from './servers.js';
import { processCpuSeconds, recordThreads, type ThreadKind } from './thread-cpu.js';
import type { Settings } from './workloads.js';

interface Pull {
  /** ms from sending the request to the first body byte. */
  ttfbMs: number;
  /** MB/s over the whole response (10^6 bytes). */
  mbps: number;
}

export async function pull(url: string, path: string, size: number): Promise<Pull> {
  const pool = new Pool(url, { connections: 1, bodyTimeout: 300_000, headersTimeout: 300_000 });
  try {
    const t0 = performance.now();
    const r = await pool.request({ method: 'GET', path });
    if (r.statusCode !== 200) throw new Error(`GET ${url}${path}: ${r.statusCode} ${await r.body.text()}`);
    let first = 0;
    let n = 0;
    for await (const chunk of r.body) {
      if (n === 0) first = performance.now() - t0;
      n += (chunk as Buffer).length;
    }
    const seconds = (performance.now() - t0) / 1000;
    if (n !== size) throw new Error(`GET ${url}${path}: ${n} of ${size} bytes`);
    return { ttfbMs: first, mbps: size / 1e6 / seconds };
  } finally {
    await pool.close();
  }
}

/** CPU seconds per GB (10^9 bytes) pulled, per process; for Berth also per kind of thread. */
interface PullCpu {
  upstream: number;
  client: number;
  berth?: number;
  berthThreads?: Record<ThreadKind, number>;
}

/** Runs one pull and reads the CPU every process spent on it (the client is this process). */
export async function measured(run: () => Promise<Pull>, size: number, upstreamPid: number, berthPid?: number): Promise<Pull & { cpu: PullCpu }> {
  const perGB = (s: number) => s / (size / 1e9);
  const up0 = processCpuSeconds(upstreamPid);
  const own0 = process.cpuUsage();
  const threads = berthPid !== undefined ? recordThreads(berthPid) : undefined;
  const r = await run();
  const berth = threads?.stop();
  const own = process.cpuUsage(own0);
  const cpu: PullCpu = { upstream: perGB(processCpuSeconds(upstreamPid) - up0), client: perGB((own.user + own.system) / 1e6) };
  if (berth) {
    cpu.berth = perGB(berth.total);
    cpu.berthThreads = Object.fromEntries(Object.entries(berth.byKind).map(([k, v]) => [k, perGB(v)])) as Record<ThreadKind, number>;
  }
  return { ...r, cpu };
}

export const cpuLine = (c: PullCpu) =>
  `upstream ${c.upstream.toFixed(2)}, client ${c.client.toFixed(2)}` +
  (c.berth !== undefined ? `, Berth ${c.berth.toFixed(2)} (${Object.entries(c.berthThreads!).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})` : '');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function proxyTable(s: Settings & { proxyMiB: number }, logLevel: string, log: (l: string) => void, own: (r: Registry, c?: RegistryClient) => void): Promise<Table> {
  const upstream = await startReference(logLevel, { label: 'upstream' });
  const up = new RegistryClient(upstream);
  own(upstream, up);
  const dir = await mkdtemp(join(tmpdir(), 'bench-proxy-'));
  try {
    const file = join(dir, 'berth.yaml');
    // JSON is YAML: the proxy section names the upstream started above.
    await writeFile(file, JSON.stringify({ proxy: { upstreams: [{ name: 'up', url: upstream.url }] } }));
    const berth = await startBerth(logLevel, { label: 'berth-proxy', workers: 1, auth: false, env: { BERTH_CONFIG: file } });
    const local = new RegistryClient(berth);
    own(berth, local);
    const size = s.proxyMiB * MiB;
    const runs: { direct: Pull & { cpu: PullCpu }; cold: Pull & { cpu: PullCpu }; warm: Pull; core: Pull }[] = [];
    for (let i = 0; i < s.repeat; i++) {
      const blob = blobSpec(4242 + i, size);
      await up.pushMonolithic('bench/proxy', blob);
      await local.pushMonolithic('local/proxy', blob);
      const direct = await measured(() => pull(upstream.url, `/v2/bench/proxy/blobs/${blob.digest}`, size), size, upstream.pid);
      const cold = await measured(() => pull(berth.url, `/v2/up/bench/proxy/blobs/${blob.digest}`, size), size, upstream.pid, berth.pid);
      const warm = await pull(berth.url, `/v2/up/bench/proxy/blobs/${blob.digest}`, size);
      const core = await pull(berth.url, `/v2/local/proxy/blobs/${blob.digest}`, size);
      runs.push({ direct, cold, warm, core });
      log(`bench: proxy run ${i + 1}: direct ${direct.mbps.toFixed(0)} MB/s, cold ${cold.mbps.toFixed(0)} MB/s (first byte ${cold.ttfbMs.toFixed(0)} ms), warm ${warm.mbps.toFixed(0)} MB/s, core ${core.mbps.toFixed(0)} MB/s`);
      log(`bench: proxy run ${i + 1} CPU-s per GB: direct: ${cpuLine(direct.cpu)}; cold: ${cpuLine(cold.cpu)}`);
    }
    const m = (pick: (r: (typeof runs)[number]) => number) => median(runs.map(pick));
    const medianCpu = (pick: (r: (typeof runs)[number]) => PullCpu): PullCpu => {
      const c: PullCpu = { upstream: m((r) => pick(r).upstream), client: m((r) => pick(r).client) };
      if (pick(runs[0]!).berth === undefined) return c;
      c.berth = m((r) => pick(r).berth!);
      c.berthThreads = Object.fromEntries(Object.keys(pick(runs[0]!).berthThreads!).map((k) => [k, m((r) => pick(r).berthThreads![k as ThreadKind])])) as Record<ThreadKind, number>;
      return c;
    };
    const directCpu = medianCpu((r) => r.direct.cpu);
    const coldCpu = medianCpu((r) => r.cold.cpu);
    const cpuSum = (c: PullCpu) => c.upstream + c.client + (c.berth ?? 0);
    const mib = `${s.proxyMiB} MiB`;
    return {
      title: 'Pull-through cache: pulls through Berth against a direct pull from the upstream (the reference)',
      columns: ['Direct / core', 'Through the cache', 'Cache/Direct'],
      rows: [
        { label: `pull ${mib} cold (upstream -> cache -> client) vs direct from the upstream`, unit: 'MB/s', better: 'higher', reference: m((r) => r.direct.mbps), berth: m((r) => r.cold.mbps), targetRatio: 0.8 },
        { label: `time to first byte, ${mib} cold vs direct`, unit: 'ms', better: 'lower', reference: m((r) => r.direct.ttfbMs), berth: m((r) => r.cold.ttfbMs), targetBerth: 1000 },
        { label: `pull ${mib} warm (from the cache) vs direct from the upstream`, unit: 'MB/s', better: 'higher', reference: m((r) => r.direct.mbps), berth: m((r) => r.warm.mbps) },
        { label: `pull ${mib} warm vs Berth's core blob pull (a local project)`, unit: 'MB/s', better: 'higher', reference: m((r) => r.core.mbps), berth: m((r) => r.warm.mbps), targetRatio: 1 },
      ],
      notes: [
        `Median of ${s.repeat} runs, each on a fresh ${mib} blob; upstream: the reference on the filesystem, on 127.0.0.1; Berth: one open process, SQLite + filesystem, proxy project \`up\`. MB = 10^6 bytes.`,
        `CPU-seconds per GB pulled (utime + stime from /proc, medians): direct: ${cpuLine(directCpu)}, total ${cpuSum(directCpu).toFixed(2)}; cold: ${cpuLine(coldCpu)}, total ${cpuSum(coldCpu).toFixed(2)}. On 2 cores a pull cannot go faster than 2 / total GB/s of CPU, nor faster than 1 / (its busiest single thread) GB/s.`,
        'Cold: the cache fetches from the upstream and streams each chunk to the client at once; behind it the bytes are hashed (on a thread, in place) and written in 8 MiB segments (the client never waits for the disk), and the last chunk is held back until the digest matched and the blob was committed (flushed once, then recorded). Direct runs first, so the upstream reads from the page cache in both.',
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
