/**
 * What access control costs on the hottest read, manifest GET by tag: Berth with access control
 * on (a public project, read anonymously, with Basic credentials on /v2, and with a Bearer
 * token from /auth/token) against the reference without auth and behind htpasswd Basic auth
 * (bcrypt, verified on every request). Each server gets the same small images; the load runs
 * alternate between the servers like every other phase. The puller is an ordinary user, not
 * the admin, so the permission check takes its normal path.
 */
import { randomBytes } from 'node:crypto';
import type { LoadResult } from './client.js';
import { RegistryClient } from './client.js';
import type { Row, Table } from './report.js';
import { basic, startBerth, startReference, type Registry } from './servers.js';
import { loadManifests, manifestPaths, pushImages, type Settings } from './workloads.js';

const PROJECT = 'bench';
const REPO = `${PROJECT}/small`;

async function expectOk(r: Response, what: string): Promise<unknown> {
  const text = await r.text();
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** One warm-up second, then the measured run; fails on any non-2xx answer (a broken setup, not a figure). */
async function measure(client: RegistryClient, s: Settings, label: string, headers: Record<string, string>, log: (l: string) => void): Promise<LoadResult> {
  await loadManifests(client, s, 'GET', { headers, seconds: 1 });
  const r = await loadManifests(client, s, 'GET', { headers });
  log(`  auth: ${label}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors`);
  if (r.errors) throw new Error(`auth: ${label}: ${r.errors} failed requests`);
  return r;
}

export async function authTable(s: Settings, logLevel: string, log: (l: string) => void, own: (r: Registry, c: RegistryClient) => void): Promise<Table> {
  const adminPassword = randomBytes(12).toString('hex');
  const user = { name: 'puller', password: randomBytes(12).toString('hex') };
  const admin = basic('admin', adminPassword);
  const start = async (r: Promise<Registry>) => {
    const registry = await r;
    const client = new RegistryClient(registry);
    own(registry, client);
    log(`bench: ${registry.label} at ${registry.url} (pid ${registry.pid})`);
    return client;
  };
  const refOpen = await start(startReference(logLevel, { label: 'reference' }));
  const refAuth = await start(startReference(logLevel, { label: 'reference-htpasswd', htpasswd: { user: user.name, password: user.password } }));
  const berth = await start(startBerth(logLevel, { label: 'berth-auth', workers: 1, auth: true, adminPassword, headers: { authorization: admin } }));
  const url = berth.registry.url;

  // Setup through the API: a public project and an ordinary user (who may pull from it).
  const api = (path: string, body: unknown) =>
    fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await expectOk(await api('/projects', { name: PROJECT, public: true }), 'POST /api/v1/projects');
  await expectOk(await api('/users', { name: user.name, password: user.password }), 'POST /api/v1/users');
  for (const c of [refOpen, refAuth, berth]) await pushImages(c, s, REPO);
  const tokenUrl = `${url}/auth/token?service=berth&scope=${encodeURIComponent(`repository:${REPO}:pull`)}`;
  const { token } = (await expectOk(await fetch(tokenUrl, { headers: { authorization: basic(user.name, user.password) } }), 'GET /auth/token')) as { token: string };
  // The setup proves what each figure means: anonymous really is anonymous on Berth, and the reference really demands credentials.
  const probe = manifestPaths(s, REPO)[0]!;
  const anon = await fetch(`${url}${probe}`);
  await anon.arrayBuffer();
  if (anon.status !== 200) throw new Error(`auth: anonymous pull from the public project: ${anon.status}`);
  const refAnon = await fetch(`${refAuth.registry.url}${probe}`);
  await refAnon.arrayBuffer();
  if (refAnon.status !== 401) throw new Error(`auth: reference with htpasswd answered an anonymous pull with ${refAnon.status}, not 401`);

  const userBasic = { authorization: basic(user.name, user.password) };
  const cases: [string, RegistryClient, Record<string, string>][] = [
    ['reference, no auth', refOpen, {}],
    ['berth, anonymous on a public project', berth, {}],
    ['reference, htpasswd Basic', refAuth, userBasic],
    ['berth, Basic on /v2', berth, userBasic],
    ['berth, Bearer token', berth, { authorization: `Bearer ${token}` }],
  ];
  // Two rounds, the second in reverse order, averaged: no case always runs first (cold) or last.
  const results = cases.map(() => [] as LoadResult[]);
  for (const order of [cases.map((_, i) => i), cases.map((_, i) => cases.length - 1 - i)]) {
    for (const i of order) results[i]!.push(await measure(cases[i]![1], s, cases[i]![0], cases[i]![2], log));
  }
  const avg = (rs: LoadResult[]) => ({ rps: rs.reduce((a, r) => a + r.rps, 0) / rs.length, p99Ms: rs.reduce((a, r) => a + r.p99Ms, 0) / rs.length });
  const [refNone, berthAnon, refBasic, berthBasic, berthBearer] = results.map(avg) as [ReturnType<typeof avg>, ...ReturnType<typeof avg>[]];
  if (!berthAnon || !refBasic || !berthBasic || !berthBearer) throw new Error('unreachable');

  const row = (label: string, unit: string, better: Row['better'], reference: number, b: number, target: Partial<Row> = {}): Row => ({ label, unit, better, reference, berth: b, ...target });
  const c = s.manifestConnections;
  return {
    title: `Access control: manifest GET by tag, ${c} connections`,
    columns: ['Reference', 'Berth', 'Berth/Ref'],
    rows: [
      row('no credentials (reference: auth off; Berth: anonymous, public project)', 'req/s', 'higher', refNone.rps, berthAnon.rps),
      row('Basic auth on every request (reference: htpasswd bcrypt; Berth: user password)', 'req/s', 'higher', refBasic.rps, berthBasic.rps),
      row('Bearer token from /auth/token (the reference has no token server here)', 'req/s', 'higher', NaN, berthBearer.rps),
      row('Basic / no credentials', 'x', 'higher', refBasic.rps / refNone.rps, berthBasic.rps / berthAnon.rps, { targetBerth: 0.8 }),
      row('Bearer / no credentials', 'x', 'higher', NaN, berthBearer.rps / berthAnon.rps),
      row('p99, no credentials', 'ms', 'lower', refNone.p99Ms, berthAnon.p99Ms),
      row('p99, Basic', 'ms', 'lower', refBasic.p99Ms, berthBasic.p99Ms),
      row('p99, Bearer', 'ms', 'lower', NaN, berthBearer.p99Ms),
    ],
    notes: [
      `Berth: one process (BERTH_WORKERS=1), access control on, SQLite + filesystem; project "${PROJECT}" public, pulled by an ordinary user "${user.name}" (Basic: argon2 once, then the credential cache; Bearer: one token for repository:${REPO}:pull, ES256 JWT verified per request). The reference: htpasswd with a bcrypt cost-5 hash (as \`htpasswd -B\`), checked on every request.`,
      `Each case: ${s.manifestConnections} keep-alive connections (wrk, one thread) for ${s.loadSeconds} s after a 1 s warm-up, cycling over ${s.images} tags, in two rounds (the second in reverse order), averaged; any non-2xx answer fails the benchmark. Target (issue): Berth's Basic figure within 20% of its anonymous one (ratio >= 0.8).`,
    ],
  };
}
