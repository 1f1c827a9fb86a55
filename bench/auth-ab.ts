/**
 * Manifest GET by tag under access control: the same Berth (auth on) serves a public project's
 * image to anonymous, Basic and Bearer (registry token) clients; an open registry (auth off)
 * serves it too. Load runs alternate between the modes for `BENCH_ROUNDS` rounds; prints the
 * medians and each mode's ratio to anonymous. `node dist/bench/auth-ab.js`
 * (BENCH_ROUNDS, BENCH_SECONDS, BERTH_WORKERS pass through).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { load, MANIFEST_ACCEPT } from './client.js';
import { imageManifest, sha256 } from '../test/helpers/oci.js';
import { startBerth, type Registry } from './servers.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const TAGS = 50;
const password = 'bench-password-1';
const basic = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU seconds used so far by `pid` and its child processes (the cluster workers). */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
    return ticks / 100 + children.reduce((sum, c) => sum + cpuSeconds(Number(c)), 0);
  } catch {
    return ticks / 100;
  }
}

async function ok(r: Response, what: string): Promise<Response> {
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${await r.text()}`);
  return r;
}

async function pushImages(url: string, auth: Record<string, string>): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(2048);
  for (const b of [config, layer]) {
    await ok(await fetch(`${url}/v2/bench/app/blobs/uploads/?digest=${sha256(b)}`, { method: 'POST', body: new Uint8Array(b), headers: { ...auth, 'content-type': 'application/octet-stream' } }), 'blob push');
  }
  const manifest = imageManifest(config, [layer]);
  for (let i = 0; i < TAGS; i++) {
    await ok(await fetch(`${url}/v2/bench/app/manifests/t${i}`, { method: 'PUT', body: new Uint8Array(manifest), headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' } }), 'manifest push');
  }
}

async function main(): Promise<void> {
  process.env.BERTH_ADMIN_PASSWORD = password;
  process.env.BERTH_AUTH__ENABLED = 'true';
  const secured: Registry = await startBerth('warn');
  process.env.BERTH_AUTH__ENABLED = 'false';
  const open: Registry = await startBerth('warn');
  delete process.env.BERTH_AUTH__ENABLED;
  try {
    await ok(await fetch(`${secured.url}/api/v1/projects`, { method: 'POST', body: JSON.stringify({ name: 'bench', public: true }), headers: { authorization: basic, 'content-type': 'application/json' } }), 'create project');
    await pushImages(secured.url, { authorization: basic });
    await pushImages(open.url, {});
    const t = (await (await ok(await fetch(`${secured.url}/auth/token?service=berth&scope=repository:bench/app:pull`, { headers: { authorization: basic } }), 'token')).json()) as { token: string };
    const paths = Array.from({ length: TAGS }, (_, i) => `/v2/bench/app/manifests/t${i}`);
    const modes: { label: string; url: string; pid: number; headers: Record<string, string> }[] = [
      { label: 'open registry', url: open.url, pid: open.pid, headers: {} },
      { label: 'anonymous', url: secured.url, pid: secured.pid, headers: {} },
      { label: 'basic', url: secured.url, pid: secured.pid, headers: { authorization: basic } },
      { label: 'bearer', url: secured.url, pid: secured.pid, headers: { authorization: `Bearer ${t.token}` } },
    ];
    // BENCH_MODES: a comma-separated subset of the labels (e.g. for profiling one mode).
    const only = process.env.BENCH_MODES?.split(',');
    if (only) modes.splice(0, modes.length, ...modes.filter((m) => only.includes(m.label)));
    const rates = new Map(modes.map((m) => [m.label, [] as number[]]));
    const cpu = new Map(modes.map((m) => [m.label, [] as number[]]));
    for (const m of modes) await load(m.url, { method: 'GET', paths, connections: 32, seconds: 1, headers: { accept: MANIFEST_ACCEPT, ...m.headers } }); // warm up
    for (let r = 0; r < rounds; r++) {
      for (const m of r % 2 ? [...modes].reverse() : modes) {
        const cpuBefore = cpuSeconds(m.pid);
        const res = await load(m.url, { method: 'GET', paths, connections: 32, seconds, headers: { accept: MANIFEST_ACCEPT, ...m.headers } });
        if (res.errors > 0) throw new Error(`${m.label}: ${res.errors} errors`);
        rates.get(m.label)!.push(res.rps);
        cpu.get(m.label)!.push(((cpuSeconds(m.pid) - cpuBefore) / res.requests) * 1e6);
      }
      console.log(`round ${r}: ` + modes.map((m) => `${m.label} ${rates.get(m.label)!.at(-1)!.toFixed(0)}`).join(' | '));
    }
    const anon = median(rates.get('anonymous') ?? [1]);
    const anonCpu = median(cpu.get('anonymous') ?? [1]);
    for (const [label, xs] of rates) {
      const c = median(cpu.get(label)!);
      console.log(`median ${label.padEnd(14)} ${median(xs).toFixed(0).padStart(6)} req/s (${(median(xs) / anon).toFixed(2)}x anonymous)   server CPU ${c.toFixed(0).padStart(4)} us/req (${(c / anonCpu).toFixed(2)}x anonymous)`);
    }
  } finally {
    await secured.stop();
    await open.stop();
  }
}

await main();
