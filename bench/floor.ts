/**
 * The floor under a manifest GET: how fast any Node.js server answers the same requests on this
 * machine, next to the reference and Berth, in alternating rounds of one run. The floors answer
 * the reference's own manifests (same bytes, same headers Berth sends) from a map in memory and
 * do nothing else: `node:http` bare, and Fastify with no hooks. What Berth spends above them is
 * its own work per request (authentication, the permission check, the read gates, the audit row,
 * metrics, the log line); what the floors spend is the HTTP stack and the kernel's loopback.
 * Usage: node dist/bench/floor.js (BENCH_ROUNDS 3, BENCH_SECONDS 4, BENCH_METHOD GET or HEAD).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { MANIFEST_ACCEPT, RegistryClient, load, type LoadResult } from './client.js';
import { startBerthWithAccess, startReference, type Registry } from './servers.js';
import { loadManifests, manifestPaths, pushImages } from './workloads.js';
import { treeCpuSeconds } from './workers.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const s = { images: 200, imageConcurrency: 16, manifestConnections: 32, loadSeconds: seconds };
const method = process.env.BENCH_METHOD === 'HEAD' ? 'HEAD' : 'GET';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Manifest {
  headers: Record<string, string>;
  body: Buffer;
}

/** The reference's manifests by path, with the response headers Berth sends for them. */
async function manifestsOf(reference: Registry): Promise<Map<string, Manifest>> {
  const out = new Map<string, Manifest>();
  for (const path of manifestPaths(s)) {
    const r = await fetch(`${reference.url}${path}`, { headers: { accept: MANIFEST_ACCEPT } });
    if (r.status !== 200) throw new Error(`reference: GET ${path}: ${r.status}`);
    const body = Buffer.from(await r.arrayBuffer());
    const digest = r.headers.get('docker-content-digest')!;
    out.set(path, {
      body,
      headers: {
        'Content-Type': r.headers.get('content-type')!,
        'Content-Length': String(body.length),
        'Docker-Content-Digest': digest,
        ETag: `"${digest}"`,
        'Docker-Distribution-API-Version': 'registry/2.0',
      },
    });
  }
  return out;
}

interface Floor {
  label: string;
  url: string;
  stop(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function nodeFloor(manifests: Map<string, Manifest>): Promise<Floor> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const m = manifests.get(req.url ?? '');
    if (!m) return void res.writeHead(404).end();
    res.writeHead(200, { ...m.headers, 'X-Request-Id': randomUUID() }).end(m.body);
  });
  const url = await listen(server);
  return { label: 'node:http floor', url, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function fastifyFloor(manifests: Map<string, Manifest>): Promise<Floor> {
  const app = Fastify({ logger: false });
  app.get('/v2/*', async (request, reply) => {
    const m = manifests.get(request.url);
    if (!m) return reply.code(404).send();
    return reply.code(200).headers({ ...m.headers, 'X-Request-Id': request.id }).send(m.body);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { label: 'Fastify floor', url, stop: () => app.close() };
}

interface Target {
  label: string;
  run(): Promise<LoadResult>;
  /** CPU seconds of the server so far. */
  cpu(): number;
}

const reference = await startReference('info');
const berth = await startBerthWithAccess('info', { workers: 1 });
const floors: Floor[] = [];
try {
  const refClient = new RegistryClient(reference);
  const berthClient = new RegistryClient(berth);
  await pushImages(refClient, s);
  await pushImages(berthClient, s);
  const manifests = await manifestsOf(reference);
  floors.push(await nodeFloor(manifests), await fastifyFloor(manifests));
  const paths = manifestPaths(s);
  const ownCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const targets: Target[] = [
    { label: 'reference', run: () => loadManifests(refClient, s, method), cpu: () => treeCpuSeconds(reference.pid) },
    { label: 'Berth (token)', run: () => loadManifests(berthClient, s, method), cpu: () => treeCpuSeconds(berth.pid) },
    ...floors.map((f) => ({ label: f.label, run: () => load(f.url, { method, paths, connections: s.manifestConnections, seconds }), cpu: ownCpu })),
  ];
  // Warm every server (V8 optimizes a path over its first thousands of requests).
  for (const t of targets) await t.run();
  const results = new Map<string, { rps: number; p99: number; cpuUs: number }[]>();
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
      const cpu0 = t.cpu();
      const res = await t.run();
      const cpuUs = ((t.cpu() - cpu0) * 1e6) / res.requests;
      if (res.errors > 0) throw new Error(`${t.label}: ${res.errors} failed requests`);
      console.log(`round ${r + 1} ${t.label}: ${res.rps.toFixed(0)} req/s, p99 ${res.p99Ms.toFixed(1)} ms, ${cpuUs.toFixed(0)} µs server CPU per request`);
      results.set(t.label, [...(results.get(t.label) ?? []), { rps: res.rps, p99: res.p99Ms, cpuUs }]);
    }
  }
  const refRps = median(results.get('reference')!.map((x) => x.rps));
  console.log(`\n| server | manifest ${method} req/s (median of ${rounds}) | / reference | p99 ms | server CPU µs per request |\n|---|---:|---:|---:|---:|`);
  for (const t of targets) {
    const xs = results.get(t.label)!;
    const rps = median(xs.map((x) => x.rps));
    console.log(`| ${t.label} | ${rps.toFixed(0)} | ${(rps / refRps).toFixed(2)}x | ${median(xs.map((x) => x.p99)).toFixed(1)} | ${median(xs.map((x) => x.cpuUs)).toFixed(0)} |`);
  }
} finally {
  for (const f of floors) await f.stop();
  await berth.stop();
  await reference.stop();
}
