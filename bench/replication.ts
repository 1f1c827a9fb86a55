/**
 * Replication and webhook delivery: a Berth with 200 small images and one big image
 * (settings.bigMiB, 1 GiB) replicates them to an empty reference registry (a manual push
 * policy run through the job queue), against `skopeo sync` copying the same repositories from
 * the same Berth to another empty reference registry. Then webhook delivery latency: the time
 * from a push's acknowledgement (manifest PUT answered) to the webhook's arrival at a receiver
 * on loopback, p99 over 100 sequential pushes.
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { RegistryClient } from './client.js';
import { blobSpec, smallImage } from './payload.js';
import type { Row, Table } from './report.js';
import { startBerth, startReference, type Registry } from './servers.js';
import { pushImages, type Settings } from './workloads.js';

const MiB = 1 << 20;

async function expectOk(r: Response, what: string): Promise<any> {
  const text = await r.text();
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export async function replicationTable(s: Settings, logLevel: string, log: (l: string) => void, own: (r: Registry, c: RegistryClient) => void): Promise<Table> {
  const start = async (r: Promise<Registry>) => {
    const registry = await r;
    const client = new RegistryClient(registry);
    own(registry, client);
    log(`bench: ${registry.label} at ${registry.url} (pid ${registry.pid})`);
    return client;
  };
  const source = await start(
    startBerth(logLevel, {
      label: 'berth-source',
      workers: 1,
      auth: false,
      env: { BERTH_WEBHOOKS__ALLOW_PRIVATE_NETWORKS: 'true', BERTH_REPLICATION__CONCURRENCY: '8', BERTH_JOBS__LEASE_SECONDS: '3600' },
    }),
  );
  const forBerth = await start(startReference(logLevel, { label: 'reference-for-berth' }));
  const forSkopeo = await start(startReference(logLevel, { label: 'reference-for-skopeo' }));
  const url = source.registry.url;

  log(`bench: replication: pushing ${s.images} small images and one ${s.bigMiB} MiB image to the source`);
  await pushImages(source, s, 'bench/small');
  const big = blobSpec(400, s.bigMiB * MiB);
  await source.pushMonolithic('bench/big', big);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, big: true }));
  await source.pushSmallImage('bench/big', 'big', { blobs: [config], manifest: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${createHash('sha256').update(config).digest('hex')}`, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: big.digest, size: big.size }] })) });

  // skopeo sync: each repository from the source into the empty reference.
  const host = (r: Registry) => new URL(r.url).host;
  let started = performance.now();
  for (const repo of ['bench/small', 'bench/big']) {
    const r = spawnSync('skopeo', ['sync', '--src', 'docker', '--dest', 'docker', '--src-tls-verify=false', '--dest-tls-verify=false', `${host(source.registry)}/${repo}`, `${host(forSkopeo.registry)}/bench`], { encoding: 'utf8', maxBuffer: 64 * MiB });
    if (r.status !== 0) throw new Error(`skopeo sync ${repo}: ${r.stderr.slice(-500)}`);
  }
  const skopeoSeconds = (performance.now() - started) / 1000;
  log(`  replication: skopeo sync ${skopeoSeconds.toFixed(1)} s`);

  // One retry: a keep-alive connection idle through the skopeo run may be closed under us.
  const api = (method: string, path: string, body?: unknown) => call(method, path, body).catch(() => call(method, path, body));
  const call = (method: string, path: string, body?: unknown) => fetch(`${url}/api/v1${path}`, { method, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  await expectOk(await api('POST', '/replication/targets', { name: 'ref', url: forBerth.registry.url }), 'POST target');
  await expectOk(await api('POST', '/replication/policies', { name: 'all', target: 'ref', direction: 'push', repositories: ['bench/**'], tags: ['**'], trigger: 'manual' }), 'POST policy');
  started = performance.now();
  const { id } = await expectOk(await api('POST', '/replication/policies/all/runs'), 'POST run');
  let run: any;
  for (;;) {
    run = await expectOk(await api('GET', `/replication/runs/${id}`), 'GET run');
    if (run.status !== 'queued' && run.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const berthSeconds = (performance.now() - started) / 1000;
  log(`  replication: Berth run ${run.status} in ${berthSeconds.toFixed(1)} s: ${JSON.stringify(run.summary)}`);
  if (run.status !== 'succeeded') throw new Error(`replication run ${run.status}: ${run.error}`);

  // Webhook delivery latency from the push's acknowledgement.
  const arrivals = new Map<string, number>();
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const subject = (JSON.parse(body) as { subject?: string }).subject;
      if (subject && !arrivals.has(subject)) arrivals.set(subject, performance.now());
      res.end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const port = (receiver.address() as { port: number }).port;
  await expectOk(await api('POST', '/system/webhooks', { url: `http://127.0.0.1:${port}/`, events: ['artifact.pushed'] }), 'POST webhook');
  const acked = new Map<string, number>();
  const n = process.env.BENCH_QUICK === '1' ? 20 : 100;
  for (let i = 0; i < n; i++) {
    const img = smallImage(10_000 + i, 'webhook');
    await source.pushSmallImage('bench/hooks', `h${i}`, img);
    acked.set(`bench/hooks:h${i}`, performance.now());
  }
  const deadline = Date.now() + 30_000;
  while (arrivals.size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  receiver.close();
  const lat = [...acked].map(([k, t]) => (arrivals.get(k) ?? Infinity) - t);
  const p50 = percentile(lat, 50);
  const p99 = percentile(lat, 99);
  log(`  webhooks: ${arrivals.size}/${n} delivered, p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`);

  const rows: Row[] = [
    { label: `replicate ${s.images} small images + one ${s.bigMiB} MiB image to an empty registry`, unit: 's', better: 'lower', reference: skopeoSeconds, berth: berthSeconds, targetRatio: 1.0 },
    { label: 'webhook delivery after the push is acknowledged, p50', unit: 'ms', better: 'lower', reference: NaN, berth: p50 },
    { label: 'webhook delivery after the push is acknowledged, p99', unit: 'ms', better: 'lower', reference: NaN, berth: p99, targetBerth: 1000 },
  ];
  return {
    title: 'Replication (Berth push policy) against skopeo sync; webhook delivery latency',
    columns: ['skopeo sync', 'Berth', 'Berth/skopeo'],
    rows,
    notes: [
      'The same source (a Berth, one open process, SQLite + filesystem) and two empty reference registries (filesystem), all on 127.0.0.1; skopeo sync copies bench/small and bench/big into one, a manual Berth push policy (bench/**, replication.concurrency 8) into the other.',
      `Berth run summary: ${JSON.stringify(run.summary)}.`,
      `Webhook: ${n} sequential small-image pushes, one system-wide webhook on a loopback receiver, default events.pollMs (200) and jobs.pollMs (1000; the dispatcher wakes the local worker when it hands jobs off); ${arrivals.size} of ${n} arrived.`,
    ],
  };
}
