/**
 * What signature enforcement costs on the hottest read, manifest GET by tag: one Berth (open,
 * one process, SQLite + filesystem) whose project signs on push, so every image carries a
 * cosign signature made by Berth; the same load with the project's policy `enforce` off and on,
 * alternating in two rounds (the second reversed), averaged. With enforcement on every GET goes
 * through the signature read gate; warm, it answers from its verdict cache. Target (issue 16):
 * enforcement on within 10% of off (ratio >= 0.9).
 */
import type { LoadResult } from './client.js';
import { RegistryClient } from './client.js';
import type { Row, Table } from './report.js';
import { startBerth, type Registry } from './servers.js';
import { loadManifests, manifestPaths, pushImages, type Settings } from './workloads.js';

const PROJECT = 'signed';
const REPO = `${PROJECT}/small`;

async function expectOk(r: Response, what: string): Promise<void> {
  const text = await r.text();
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: ${r.status} ${text.slice(0, 300)}`);
}

export async function signingTable(s: Settings, logLevel: string, log: (l: string) => void, own: (r: Registry, c: RegistryClient) => void): Promise<Table> {
  const registry = await startBerth(logLevel, { label: 'berth-signing', workers: 1, auth: false, env: { BERTH_JOBS__POLL_MS: '50' } });
  const client = new RegistryClient(registry);
  own(registry, client);
  log(`bench: ${registry.label} at ${registry.url} (pid ${registry.pid})`);
  const url = registry.url;
  const policy = (enforce: boolean) =>
    fetch(`${url}/api/v1/projects/${PROJECT}/signing`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ verify: { enforce }, signOnPush: true }) });
  await expectOk(await fetch(`${url}/api/v1/projects`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: PROJECT }) }), 'POST /api/v1/projects');
  await expectOk(await policy(true), 'PUT signing policy');
  await pushImages(client, s, REPO);

  // Wait until Berth signed every image: with enforcement on, each tag then answers 200.
  const paths = manifestPaths(s, REPO);
  const deadline = Date.now() + 120_000;
  for (let pending = paths; pending.length > 0; ) {
    if (Date.now() > deadline) throw new Error(`signing: ${pending.length} images still unsigned after 120 s`);
    const still: string[] = [];
    for (const p of pending) {
      const r = await fetch(`${url}${p}`, { method: 'HEAD' });
      if (r.status !== 200) still.push(p);
    }
    pending = still;
    if (pending.length) await new Promise((r) => setTimeout(r, 250));
  }
  log(`  signing: ${paths.length} images signed on push`);

  const measure = async (enforce: boolean): Promise<LoadResult> => {
    await expectOk(await policy(enforce), 'PUT signing policy');
    await loadManifests(client, s, 'GET', { repo: REPO, seconds: 1 });
    const r = await loadManifests(client, s, 'GET', { repo: REPO });
    log(`  signing: enforce ${enforce ? 'on ' : 'off'}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors`);
    if (r.errors) throw new Error(`signing: enforce ${enforce}: ${r.errors} failed requests`);
    return r;
  };
  // Warm the server (JIT, page cache) before the first measured case, so order does not decide.
  await loadManifests(client, s, 'GET', { repo: REPO, seconds: 3 });
  const off: LoadResult[] = [];
  const on: LoadResult[] = [];
  for (const order of [[false, true], [true, false], [false, true], [true, false]]) for (const e of order) (e ? on : off).push(await measure(e));
  const avg = (rs: LoadResult[]) => ({ rps: rs.reduce((a, r) => a + r.rps, 0) / rs.length, p99Ms: rs.reduce((a, r) => a + r.p99Ms, 0) / rs.length });
  const a = avg(off);
  const b = avg(on);
  const row = (label: string, unit: string, better: Row['better'], x: number, y: number, target: Partial<Row> = {}): Row => ({ label, unit, better, reference: x, berth: y, ...target });
  return {
    title: `Signature enforcement: manifest GET by tag, ${s.manifestConnections} connections`,
    columns: ['Enforcement off', 'Enforcement on', 'On/Off'],
    rows: [row('manifest GET', 'req/s', 'higher', a.rps, b.rps, { targetRatio: 0.9 }), row('manifest GET p99', 'ms', 'lower', a.p99Ms, b.p99Ms)],
    notes: [
      `One Berth (BERTH_WORKERS=1, access control off, SQLite + filesystem); project "${PROJECT}" signs on push, so each of the ${s.images} images has a cosign signature by the project key (ECDSA P-256) that the policy trusts.`,
      `Each case: ${s.manifestConnections} keep-alive connections (wrk) for ${s.loadSeconds} s after a 1 s warm-up (which also warms the verdict cache), cycling over the ${s.images} tags, after a 3 s warm-up of the server, in four rounds alternating which case goes first, averaged; any non-2xx answer fails the benchmark. Target (issue 16): on/off >= 0.9.`,
    ],
  };
}
