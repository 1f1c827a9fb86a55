/**
 * Concurrency stress: several clients push, retag, delete, mount and re-push overlapping
 * images (shared layers, multi-arch indexes, referrers) while garbage collection loops with a
 * short grace period. Afterwards every tagged manifest is fully pullable (every blob, every
 * child) and, once GC has caught up, no unreferenced blob and no stray bytes remain.
 *
 * Runs on SQLite + filesystem by default; BERTH_TEST_METADATA=postgres and BERTH_TEST_STORAGE=s3
 * (test/helpers/berth.ts) run it on the scale-out configuration, as test/matrix does. Set
 * BERTH_TEST_CONFIG to a JSON config fragment to run against any other configuration;
 * STRESS_SECONDS sets the duration (default 6), STRESS_GRACE_MS the grace period (default 300).
 * On a slow machine the storm goes on past that duration (up to four times it) until it has
 * seen MIN_OPERATIONS successful operations and MIN_GC_RUNS collections, so the races it
 * is about are exercised whatever the machine's speed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError } from '../../src/errors/store.js';
import { startBerth } from '../helpers/berth.js';
import { sqlOf } from '../helpers/metadata.js';
import { bytes, imageManifest, indexManifest, randomBlob, rng, sha256 } from '../helpers/oci.js';
import { assertAllTagsPullable, assertNoGarbage } from './helpers.js';

const SECONDS = Number(process.env.STRESS_SECONDS ?? 6);
const GRACE_MS = Number(process.env.STRESS_GRACE_MS ?? 300);
const MIN_OPERATIONS = 100;
const MIN_GC_RUNS = 4;
const TOLERATED = new Set(['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'DENIED', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN']);

interface Outcome {
  ok: number;
  tolerated: Record<string, number>;
}

class Client {
  constructor(
    readonly url: string,
    readonly out: Outcome,
  ) {}

  async check(r: Response, expected: number[]): Promise<boolean> {
    if (expected.includes(r.status)) {
      await r.arrayBuffer();
      return true;
    }
    const text = await r.text();
    assert.ok(r.status < 500, `server error ${r.status}: ${text}`);
    const code = (JSON.parse(text) as { errors?: { code: string }[] }).errors?.[0]?.code ?? String(r.status);
    assert.ok(TOLERATED.has(code), `unexpected ${r.status} ${text}`);
    this.out.tolerated[code] = (this.out.tolerated[code] ?? 0) + 1;
    return false;
  }

  async blob(repo: string, data: Buffer): Promise<boolean> {
    return this.check(await fetch(`${this.url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: bytes(data), headers: { 'Content-Type': 'application/octet-stream' } }), [201]);
  }

  async manifest(repo: string, ref: string, body: Buffer, type = 'application/vnd.oci.image.manifest.v1+json'): Promise<boolean> {
    return this.check(await fetch(`${this.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes(body), headers: { 'Content-Type': type } }), [201]);
  }

  async image(repo: string, ref: string, layers: Buffer[], extra: Record<string, unknown> = {}): Promise<Buffer | undefined> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: Math.random() }));
    for (const b of [config, ...layers]) if (!(await this.blob(repo, b))) return undefined;
    const m = imageManifest(config, layers, extra);
    return (await this.manifest(repo, ref, m)) ? m : undefined;
  }

  async get(repo: string, ref: string): Promise<Buffer | undefined> {
    const r = await fetch(`${this.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' } });
    if (r.status !== 200) {
      await this.check(r, []);
      return undefined;
    }
    return Buffer.from(await r.arrayBuffer());
  }
}

test('stress: pushes, retags, deletes and mounts race an online GC loop', { timeout: SECONDS * 4000 + 120_000 }, async () => {
  const extra = process.env.BERTH_TEST_CONFIG ? (JSON.parse(process.env.BERTH_TEST_CONFIG) as Record<string, unknown>) : {};
  const t = await startBerth({ ...extra, lifecycle: { gc: { schedule: null, batchSize: 50 }, schedulerEnabled: false } });
  try {
    const pool = Array.from({ length: 10 }, (_, i) => randomBlob(1024 + i * 512, 0.01 * (i + 1)));
    const repos = ['stress/r0', 'stress/r1', 'stress/r2'];
    const tags = ['t0', 't1', 't2', 't3', 'multi'];
    const out: Outcome = { ok: 0, tolerated: {} };
    const started = Date.now();
    let gcRuns = 0;
    const storming = () => {
      const elapsed = Date.now() - started;
      if (elapsed >= SECONDS * 4000) return false;
      return elapsed < SECONDS * 1000 || out.ok < MIN_OPERATIONS || gcRuns < MIN_GC_RUNS;
    };

    const client = async (seed: number) => {
      const rand = rng(seed);
      const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
      const c = new Client(t.url, out);
      while (storming()) {
        const repo = pick(repos);
        const op = rand();
        let ok = false;
        if (op < 0.3) {
          ok = (await c.image(repo, pick(tags), [pick(pool), pick(pool)])) !== undefined;
        } else if (op < 0.45) {
          const a = await c.image(repo, 'tmp-a', [pick(pool)]);
          const b = await c.image(repo, 'tmp-b', [pick(pool)]);
          if (a && b) {
            const idx = indexManifest([
              { digest: sha256(a), size: a.length, platform: { os: 'linux', architecture: 'amd64' } },
              { digest: sha256(b), size: b.length, platform: { os: 'linux', architecture: 'arm64' } },
            ]);
            ok = await c.manifest(repo, 'multi', idx, 'application/vnd.oci.image.index.v1+json');
          }
        } else if (op < 0.55) {
          const subject = await c.get(repo, pick(tags));
          if (subject) {
            const subjectDesc = { mediaType: JSON.parse(subject.toString()).mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: sha256(subject), size: subject.length };
            const m = await c.image(repo, 'sig', [randomBlob(64, rand())], { subject: subjectDesc, artifactType: 'application/vnd.example.signature' });
            if (m) ok = await c.check(await fetch(`${t.url}/v2/${repo}/manifests/sig`, { method: 'DELETE' }), [202]);
          }
        } else if (op < 0.7) {
          ok = await c.check(await fetch(`${t.url}/v2/${repo}/manifests/${pick(tags)}`, { method: 'DELETE' }), [202]);
        } else if (op < 0.78) {
          const m = await c.get(repo, pick(tags));
          if (m) ok = await c.check(await fetch(`${t.url}/v2/${repo}/manifests/${sha256(m)}`, { method: 'DELETE' }), [202]);
        } else if (op < 0.9) {
          const m = await c.get(repo, pick(tags));
          if (m) ok = await c.manifest(repo, pick(tags), m, JSON.parse(m.toString()).mediaType);
        } else {
          const from = pick(repos);
          const d = sha256(pick(pool));
          const r = await fetch(`${t.url}/v2/${repo}/blobs/uploads/?mount=${d}&from=${from}`, { method: 'POST' });
          if (r.status === 202) await fetch(new URL(r.headers.get('location')!, t.url), { method: 'DELETE' });
          ok = await c.check(r, [201, 202]);
        }
        if (ok) out.ok++;
      }
    };

    let reclaimed = 0;
    const gcLoop = async () => {
      while (storming()) {
        try {
          const { report } = await t.berth.lifecycle.runs.run('stress', { graceMs: GRACE_MS });
          reclaimed += report.totals.manifest.count + report.totals.blob.count;
          gcRuns++;
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    await Promise.all([client(11), client(22), client(33), client(44), gcLoop()]);
    console.log(`stress storm: ${out.ok} operations, ${gcRuns} GC runs, tolerated refusals ${JSON.stringify(out.tolerated)}`);
    assert.ok(out.ok >= MIN_OPERATIONS, `clients made progress (${out.ok} operations in ${Date.now() - started} ms)`);
    assert.ok(gcRuns >= MIN_GC_RUNS, `GC ran repeatedly (${gcRuns})`);
    assert.ok(reclaimed > 0, 'GC reclaimed objects while clients were pushing');

    // Every tagged manifest is fully pullable right after the storm.
    const tagged = await assertAllTagsPullable(t.url, sqlOf(t.berth.meta));
    assert.ok(tagged > 0);

    // Let GC catch up: after at most a few grace periods nothing unreferenced remains.
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, GRACE_MS + 50));
      const { report } = await t.berth.lifecycle.runs.run('stress', { graceMs: GRACE_MS });
      const busy = await sqlOf(t.berth.meta).selectFrom('gc_reviews').select('digest').limit(1).execute();
      if (report.totals.blob.count + report.totals.manifest.count + report.totals.link.count + report.totals.orphan.count === 0 && busy.length === 0) break;
    }
    await assertAllTagsPullable(t.url, sqlOf(t.berth.meta));
    await assertNoGarbage(sqlOf(t.berth.meta), t.berth.blobs);
    console.log(`stress: ${out.ok} operations, ${gcRuns} GC runs reclaiming ${reclaimed} manifests+blobs, tolerated refusals ${JSON.stringify(out.tolerated)}, ${tagged} tags checked`);
  } finally {
    await t.close();
  }
});
