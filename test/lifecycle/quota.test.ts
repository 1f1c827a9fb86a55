/**
 * Quotas and usage: shared blobs counted once per project, refused pushes (bytes, repository
 * and tag limits) leave nothing behind, and a randomized sequence of pushes, mounts, deletes,
 * GC runs, retention runs and restores keeps usage equal to an independent recount after
 * every step, on every surface that shows it (API project list and summary, repository list,
 * the lifecycle usage endpoints, and `berth usage` at checkpoints). Also tag immutability
 * through the API and /v2.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { sqlOf } from '../helpers/metadata.js';
import { bytes, imageManifest, pushImage, putManifest, randomBlob, rng, sha256 } from '../helpers/oci.js';
import { recount, type Recount } from './helpers.js';

const run = promisify(execFile);
const cliMain = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const cliEnv = { ...process.env, BERTH_LOG_LEVEL: 'silent' };

const lifecycle = { gc: { schedule: null }, schedulerEnabled: false };

async function api(t: TestBerth, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${t.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

const NONE = { bytes: 0, blobs: 0, manifests: 0, repositories: 0, tags: 0 };

/** Usage as the store computes it (quota enforcement reads the same query) equals the recount. */
async function assertExact(t: TestBerth, step: string): Promise<void> {
  const db = sqlOf(t.berth.meta);
  const truth = await recount(db);
  for (const project of ['a', 'b']) {
    const u = await t.berth.meta.usage.of({ project });
    const r = truth.get(project) ?? NONE;
    assert.deepEqual({ bytes: u.bytes, blobs: u.blobs, manifests: u.manifests, repositories: u.repositories, tags: u.tags }, r, `usage of ${project} after ${step}`);
  }
}

const pick5 = (u: { bytes: number; blobs: number; manifests: number; repositories: number; tags: number }) => ({ bytes: u.bytes, blobs: u.blobs, manifests: u.manifests, repositories: u.repositories, tags: u.tags });

/**
 * Every surface that shows usage agrees with the recount: the lifecycle usage endpoints
 * (per project with its repositories, and across projects), the project list and summary,
 * the repository list, and (with `cli`) `berth usage` run as a separate process.
 */
async function assertEverySurface(t: TestBerth, step: string, cli = false): Promise<void> {
  await assertExact(t, step);
  const db = sqlOf(t.berth.meta);
  const byProject = await recount(db);
  const byRepo = await recount(db, 'repository');
  const list = (await api(t, 'GET', '/api/v1/projects?limit=100')).json.items as { name: string; storageBytes: number; repositoryCount: number }[];
  const all = (await api(t, 'GET', '/api/v1/usage')).json.items as { project: string; usage: Recount }[];
  for (const project of ['a', 'b']) {
    const want = byProject.get(project) ?? NONE;
    const at = `${project} after ${step}`;
    const usage = (await api(t, 'GET', `/api/v1/projects/${project}/usage`)).json as { usage: Recount; repositories: (Recount & { name: string })[] };
    assert.deepEqual(pick5(usage.usage), want, `usage endpoint of ${at}`);
    const wantRepos = [...byRepo].filter(([name]) => name.startsWith(`${project}/`)).sort(([x], [y]) => (x < y ? -1 : 1));
    assert.deepEqual(usage.repositories.map((r) => [r.name, pick5(r)]), wantRepos, `usage endpoint's repositories of ${at}`);
    assert.deepEqual(pick5(all.find((i) => i.project === project)?.usage ?? NONE), want, `/api/v1/usage of ${at}`);
    const summary = (await api(t, 'GET', `/api/v1/projects/${project}`)).json as { storageBytes: number; repositoryCount: number };
    assert.deepEqual([summary.storageBytes, summary.repositoryCount], [want.bytes, want.repositories], `project summary of ${at}`);
    const listed = list.find((p) => p.name === project);
    assert.deepEqual([listed?.storageBytes, listed?.repositoryCount], [want.bytes, want.repositories], `project list of ${at}`);
    const repos = (await api(t, 'GET', `/api/v1/repositories?project=${project}&limit=100`)).json.items as { name: string; sizeBytes: number; tagCount: number; manifestCount: number }[];
    for (const r of repos) {
      const w = byRepo.get(r.name) ?? NONE;
      assert.deepEqual([r.sizeBytes, r.tagCount, r.manifestCount], [w.bytes, w.tags, w.manifests], `repository list: ${r.name} after ${step}`);
    }
    assert.deepEqual(repos.filter((r) => r.sizeBytes > 0 || r.manifestCount > 0).map((r) => r.name).sort(), wantRepos.filter(([, w]) => w.bytes > 0).map(([n]) => n), `repository list of ${at}`);
    if (cli) {
      // The same shape as the usage endpoint's: each repository is its name and its figures.
      const out = JSON.parse((await run(process.execPath, [cliMain, 'usage', project, '--json', '--data-dir', t.dataDir], { env: cliEnv })).stdout) as { usage: Recount; repositories: (Recount & { name: string })[] };
      assert.deepEqual(pick5(out.usage), want, `berth usage ${at}`);
      assert.deepEqual(out.repositories.map((r) => [r.name, pick5(r)]), wantRepos, `berth usage's repositories of ${at}`);
    }
  }
}

async function storageState(t: TestBerth): Promise<string> {
  const files: string[] = [];
  for await (const b of t.berth.blobs.list()) files.push(b.digest);
  for await (const u of t.berth.blobs.listUploads()) files.push(`upload:${u.id}`);
  const db = sqlOf(t.berth.meta);
  const counts = await Promise.all((['blobs', 'repository_blobs', 'manifests', 'tags', 'uploads'] as const).map(async (tb) => (await db.selectFrom(tb).selectAll().execute()).length));
  return JSON.stringify({ files: files.sort(), counts });
}

test('shared blobs count once; a refused push leaves nothing behind', async () => {
  const t = await startBerth({ lifecycle });
  try {
    const layer = randomBlob(10_000, 0.5);
    await pushImage(t.url, 'a/x', 'v1', { layers: [layer] });
    await pushImage(t.url, 'a/y', 'v1', { layers: [layer] });
    const u = (await api(t, 'GET', '/api/v1/projects/a/usage')).json;
    assert.equal(u.usage.blobs, 3, 'two configs + one shared layer');
    assert.ok(u.usage.bytes < 2 * 10_000, 'the shared layer is counted once');
    assert.equal(u.repositories.length, 2);
    await assertExact(t, 'shared push');

    const set = await api(t, 'PUT', '/api/v1/projects/a/quota', { bytes: u.usage.bytes + 5_000 });
    assert.equal(set.status, 200);
    const before = await storageState(t);
    const big = randomBlob(20_000, 0.6);
    const r = await fetch(`${t.url}/v2/a/x/blobs/uploads/?digest=${sha256(big)}`, { method: 'POST', body: bytes(big), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 403);
    const err = (await r.json()) as { errors: { code: string; detail: { reason: string } }[] };
    assert.equal(err.errors[0]!.code, 'DENIED');
    assert.match(err.errors[0]!.detail.reason, /quota exceeded: project a would use \d+ bytes of its \d+ bytes quota/);
    assert.equal(await storageState(t), before, 'the refused push left no rows and no bytes');
    // The same through a chunked upload session: the chunk is refused as it arrives (open
    // uploads count against the quota) and the session keeps no bytes; cancelling it leaves nothing.
    const start = await fetch(`${t.url}/v2/a/x/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(start.headers.get('location')!, t.url);
    const patched = await fetch(loc, { method: 'PATCH', body: bytes(big), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(patched.status, 403);
    assert.equal((await fetch(loc)).headers.get('range'), '0-0');
    assert.equal((await fetch(loc, { method: 'DELETE' })).status, 204);
    assert.equal(await storageState(t), before, 'the refused chunked push left no session and no bytes');
    // A blob the project already holds costs nothing and is accepted.
    await pushImage(t.url, 'a/z', 'v1', { layers: [layer], config: Buffer.from('{"architecture":"amd64","os":"linux"}') });
    await assertExact(t, 'quota refusal');

    // Tag and repository limits are enforced in the push transaction.
    await api(t, 'PUT', '/api/v1/projects/a/quota', { bytes: null, tags: 3, repositories: 3 });
    const img = await pushImage(t.url, 'a/x', 'v2', { layers: [randomBlob(10, 0.1)] }).catch((e: Error) => e);
    assert.ok(img instanceof Error && /403/.test(img.message), 'a fourth tag is refused');
    const tags = await sqlOf(t.berth.meta).selectFrom('tags').selectAll().execute();
    assert.equal(tags.length, 3);
    await assertExact(t, 'tag quota refusal');
  } finally {
    await t.close();
  }
});

test('quota.warning: one outbox event when a project crosses 90% of its byte quota, not one per push', async () => {
  const t = await startBerth({ lifecycle });
  try {
    const warnings = async () =>
      (await sqlOf(t.berth.meta).selectFrom('events').selectAll().where('type', '=', 'quota.warning').execute()).map((e) => ({ project: e.project, data: JSON.parse(String(e.data)) as { usedBytes: number; quotaBytes: number } }));
    await pushImage(t.url, 'a/w', 'v1', { layers: [randomBlob(100_000, 0.3)] });
    const used = (await t.berth.meta.usage.of({ project: 'a' })).bytes;
    const quota = Math.round(used / 0.6);
    assert.equal((await api(t, 'PUT', '/api/v1/projects/a/quota', { bytes: quota })).status, 200);
    await pushImage(t.url, 'a/w', 'v2', { layers: [randomBlob(100, 0.31)] });
    assert.deepEqual(await warnings(), [], 'about 61% of the quota: no warning');
    await pushImage(t.url, 'a/w', 'v3', { layers: [randomBlob(Math.round(quota * 0.31), 0.32)] });
    const after = (await t.berth.meta.usage.of({ project: 'a' })).bytes;
    assert.ok(after >= quota * 0.9 && after <= quota, `now at ${after} of ${quota}`);
    const w = await warnings();
    assert.equal(w.length, 1, 'crossing 90% warns');
    // Emitted by the write that crossed (the layer's link, before the manifest push that followed).
    assert.deepEqual({ project: w[0]!.project, quota: w[0]!.data.quotaBytes }, { project: 'a', quota });
    assert.ok(w[0]!.data.usedBytes >= quota * 0.9 && w[0]!.data.usedBytes <= after, `used ${w[0]!.data.usedBytes}`);
    await pushImage(t.url, 'a/w', 'v4', { layers: [randomBlob(50, 0.33)] });
    assert.equal((await warnings()).length, 1, 'still above 90%: no second warning');
    // A refused push (over the quota) rolls back and emits nothing either.
    await assert.rejects(pushImage(t.url, 'a/w', 'v5', { layers: [randomBlob(quota, 0.34)] }), /403/);
    assert.equal((await warnings()).length, 1);
  } finally {
    await t.close();
  }
});

test('usage equals a recount after every step of a randomized sequence', { timeout: 120_000 }, async () => {
  const t = await startBerth({ lifecycle });
  try {
    const rand = rng(1234);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    const pool = Array.from({ length: 8 }, (_, i) => randomBlob(500 + i * 300, (i + 1) / 17));
    const repos = ['a/one', 'a/two', 'b/one', 'b/deep/two'];
    const tags = ['t1', 't2', 't3'];
    for (const name of ['a', 'b']) assert.equal((await api(t, 'POST', '/api/v1/projects', { name, public: true })).status, 201);
    await api(t, 'PUT', '/api/v1/projects/a/quota', { bytes: 9_000 });
    // The quota the projects API shows (the UI's Quota column) is the one the push path enforces.
    assert.equal((await api(t, 'GET', '/api/v1/projects/a')).json.quotaBytes, 9_000);
    assert.equal((await api(t, 'GET', '/api/v1/projects/b')).json.quotaBytes, null);
    await api(t, 'PUT', '/api/v1/projects/a/retention', { rules: [{ keep: { kind: 'lastPushed', count: 1 } }] });
    await api(t, 'PUT', '/api/v1/projects/b/retention', { rules: [{ keep: { kind: 'lastPushed', count: 1 } }] });
    const steps: Record<string, number> = {};
    for (let i = 0; i < 120; i++) {
      const op = rand();
      const repo = pick(repos);
      let name: string;
      if (op < 0.35) {
        name = 'push';
        await pushImage(t.url, repo, pick(tags), { layers: [pick(pool), pick(pool)] }).catch(() => {});
      } else if (op < 0.45) {
        name = 'mount';
        const r = await fetch(`${t.url}/v2/${repo}/blobs/uploads/?mount=${sha256(pick(pool))}&from=${pick(repos)}`, { method: 'POST' });
        if (r.status === 202) await fetch(new URL(r.headers.get('location')!, t.url), { method: 'DELETE' });
      } else if (op < 0.55) {
        name = 'delete-tag';
        await fetch(`${t.url}/v2/${repo}/manifests/${pick(tags)}`, { method: 'DELETE' });
      } else if (op < 0.62) {
        name = 'delete-manifest';
        const m = await fetch(`${t.url}/v2/${repo}/manifests/${pick(tags)}`);
        if (m.status === 200) await fetch(`${t.url}/v2/${repo}/manifests/${m.headers.get('docker-content-digest')}`, { method: 'DELETE' });
      } else if (op < 0.68) {
        name = 'delete-blob';
        await fetch(`${t.url}/v2/${repo}/blobs/${sha256(pick(pool))}`, { method: 'DELETE' });
      } else if (op < 0.78) {
        name = 'gc';
        await t.berth.lifecycle.runs.run('test', { graceMs: 0 });
      } else if (op < 0.86) {
        name = 'retention';
        await api(t, 'POST', `/api/v1/projects/${pick(['a', 'b'])}/retention/runs`, { dryRun: false });
      } else if (op < 0.93) {
        name = 'restore';
        const trash = await api(t, 'GET', '/api/v1/trash?limit=5');
        if (trash.json.items.length > 0) await api(t, 'POST', '/api/v1/trash/restore', { ids: trash.json.items.map((e: { id: number }) => e.id) });
      } else {
        name = 'failed-push';
        // A manifest whose blobs were never pushed: refused, must change nothing.
        const m = imageManifest(randomBlob(10, rand()), [randomBlob(10, rand())]);
        await putManifest(t.url, repo, pick(tags), m).catch(() => {});
      }
      steps[name] = (steps[name] ?? 0) + 1;
      await assertEverySurface(t, `step ${i} (${name})`, i % 40 === 39);
      const ua = await t.berth.meta.usage.of({ project: 'a' });
      assert.ok(ua.bytes <= 9_000, `project a stays within its quota (${ua.bytes})`);
    }
    assert.ok(Object.keys(steps).length >= 8, `all step kinds ran: ${JSON.stringify(steps)}`);
  } finally {
    await t.close();
  }
});

test('immutable tags: overwrite, delete and delete-with-manifest are DENIED naming the rule; new tags pass', async () => {
  const t = await startBerth({ lifecycle });
  try {
    const put = await api(t, 'PUT', '/api/v1/projects/i/immutability', { rules: [{ name: 'releases', repositories: ['**'], tags: ['v*'] }] });
    assert.equal(put.status, 200);
    assert.deepEqual((await api(t, 'GET', '/api/v1/projects/i/immutability')).json.rules[0].tags, ['v*']);
    const v1 = await pushImage(t.url, 'i/app', 'v1');
    const other = await pushImage(t.url, 'i/app', 'dev');
    const denied = async (r: Response) => {
      assert.equal(r.status, 403);
      const e = (await r.json()) as { errors: { code: string; detail: { rule: string; reason: string } }[] };
      assert.equal(e.errors[0]!.code, 'DENIED');
      assert.equal(e.errors[0]!.detail.rule, 'releases');
      assert.match(e.errors[0]!.detail.reason, /immutable \(rule "releases": v\*\)/);
    };
    await denied(await fetch(`${t.url}/v2/i/app/manifests/v1`, { method: 'PUT', body: bytes(other.manifest), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } }));
    await denied(await fetch(`${t.url}/v2/i/app/manifests/v1`, { method: 'DELETE' }));
    await denied(await fetch(`${t.url}/v2/i/app/manifests/${v1.digest}`, { method: 'DELETE' }));
    // Re-pushing the same manifest is an idempotent no-op; a new matching tag is allowed.
    await putManifest(t.url, 'i/app', 'v1', v1.manifest);
    await putManifest(t.url, 'i/app', 'v2', other.manifest);
    // Non-matching tags stay mutable.
    await putManifest(t.url, 'i/app', 'dev', v1.manifest);
    assert.equal((await fetch(`${t.url}/v2/i/app/manifests/dev`, { method: 'DELETE' })).status, 202);
    const got = await fetch(`${t.url}/v2/i/app/manifests/v1`);
    assert.equal(got.headers.get('docker-content-digest'), v1.digest);
  } finally {
    await t.close();
  }
});
