/**
 * Garbage collection over a real server (SQLite + filesystem): graph awareness (indexes keep
 * children, referrers go with their subject), the grace period and its re-check, dry run ==
 * real run, upload expiry, and the upload-commit race closed by the byte-deletion fence.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { GcReport } from '../../src/lifecycle/gc.js';
import { createLifecycle } from '../../src/lifecycle/services.js';
import { openSqlite } from '../../src/metadata/sqlite.js';
import type { Digest, RepoName } from '../../src/domain/names.js';
import { UploadService } from '../../src/registry/uploads.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { startBerth } from '../helpers/berth.js';
import { sqlOf } from '../helpers/metadata.js';
import { bytes, imageManifest, indexManifest, pushBlob, pushImage, putManifest, randomBlob, sha256 } from '../helpers/oci.js';
import { assertAllTagsPullable, assertNoGarbage } from './helpers.js';

const lifecycle = { gc: { schedule: null, graceSeconds: 3600 }, schedulerEnabled: false };

function removed(r: GcReport, kind: 'manifest' | 'blob'): string[] {
  return r.items[kind].map((i) => i.digest).sort();
}

test('GC is graph-aware: untagged go, index children and referrers stay with their parents', async () => {
  const t = await startBerth({ lifecycle });
  try {
    const { url } = t;
    const repo = 'p/app';
    const shared = randomBlob(3000, 0.1);
    const a = await pushImage(url, repo, 'a', { layers: [shared, randomBlob(1000, 0.2)] });
    const b = await pushImage(url, repo, 'b', { layers: [shared, randomBlob(1000, 0.3)] });
    const c1 = await pushImage(url, repo, 'tmp1', { layers: [randomBlob(500, 0.4)] });
    const c2 = await pushImage(url, repo, 'tmp2', { layers: [randomBlob(500, 0.5)] });
    const index = indexManifest([
      { digest: c1.digest, size: c1.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      { digest: c2.digest, size: c2.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    await putManifest(url, repo, 'multi', index, 'application/vnd.oci.image.index.v1+json');
    for (const tag of ['tmp1', 'tmp2']) assert.equal((await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'DELETE' })).status, 202);
    const subjectOf = (m: Buffer) => ({ subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(m), size: m.length }, artifactType: 'application/vnd.example.sbom' });
    const refA = await pushImage(url, repo, 'x', { layers: [randomBlob(200, 0.6)], extra: subjectOf(a.manifest) });
    const refC1 = await pushImage(url, repo, 'y', { layers: [randomBlob(200, 0.7)], extra: subjectOf(c1.manifest) });
    const u = await pushImage(url, repo, 'z', { layers: [randomBlob(700, 0.8)] });
    for (const tag of ['x', 'y', 'z']) await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'DELETE' });

    const gc = t.berth.lifecycle.runs;
    // Within the grace period nothing goes, but the unreferenced objects are queued.
    const early = await gc.run('test', {});
    assert.equal(early.report.totals.manifest.count, 0);
    assert.equal(early.report.totals.blob.count, 0);

    const dry = await gc.run('test', { dryRun: true, graceMs: 0 });
    const real = await gc.run('test', { graceMs: 0 });
    assert.deepEqual(removed(dry.report, 'manifest'), removed(real.report, 'manifest'), 'dry run reports exactly what the real run removes');
    assert.deepEqual(removed(dry.report, 'blob'), removed(real.report, 'blob'));
    assert.deepEqual(dry.report.totals, real.report.totals);
    // Only the untagged top-level image goes; children of the index and referrers of live subjects stay.
    assert.deepEqual(removed(real.report, 'manifest'), [u.digest]);
    assert.deepEqual(removed(real.report, 'blob'), [sha256(u.config), sha256(u.layers[0]!)].sort());
    assert.equal(real.report.bytesFreed, u.config.length + u.layers[0]!.length);
    assert.equal((await fetch(`${url}/v2/${repo}/manifests/${refA.digest}`)).status, 200);
    assert.equal((await fetch(`${url}/v2/${repo}/manifests/${refC1.digest}`)).status, 200);

    // Untagging A releases A and its referrer (removed with its subject); the shared layer stays for B.
    await fetch(`${url}/v2/${repo}/manifests/a`, { method: 'DELETE' });
    const r2 = await gc.run('test', { graceMs: 0 });
    assert.deepEqual(removed(r2.report, 'manifest'), [a.digest, refA.digest].sort());
    assert.ok(!removed(r2.report, 'blob').includes(sha256(shared)));
    assert.ok(removed(r2.report, 'blob').includes(sha256(a.layers[1]!)));

    // Deleting the index releases both children and the referrer of a child.
    assert.equal((await fetch(`${url}/v2/${repo}/manifests/${sha256(index)}`, { method: 'DELETE' })).status, 202);
    const r3 = await gc.run('test', { graceMs: 0 });
    assert.deepEqual(removed(r3.report, 'manifest'), [c1.digest, c2.digest, refC1.digest].sort());

    assert.equal(await assertAllTagsPullable(url, sqlOf(t.berth.meta)), 1);
    await assertPullableB(url, repo, b.digest);
    await assertNoGarbage(sqlOf(t.berth.meta), t.berth.blobs);
    const runs = await gc.list(undefined, 10);
    assert.equal(runs[0]!.status, 'succeeded');
  } finally {
    await t.close();
  }
});

async function assertPullableB(url: string, repo: string, digest: string) {
  assert.equal((await fetch(`${url}/v2/${repo}/manifests/${digest}`)).status, 200);
}

test('a push that references a queued object makes the re-check fail', async () => {
  const t = await startBerth({ lifecycle });
  try {
    const { url } = t;
    const img = await pushImage(url, 'q/app', 'v', { layers: [randomBlob(100, 0.9)] });
    await fetch(`${url}/v2/q/app/manifests/v`, { method: 'DELETE' });
    const gc = t.berth.lifecycle.runs;
    await gc.run('test', {}); // queues the untagged manifest (grace 1h)
    const queued = await sqlOf(t.berth.meta).selectFrom('gc_reviews').selectAll().where('kind', '=', 'manifest').execute();
    assert.equal(queued.length, 1);
    await putManifest(url, 'q/app', 'again', img.manifest); // re-tag: referenced again
    const r = await gc.run('test', { graceMs: 0 });
    assert.equal(r.report.totals.manifest.count, 0);
    await assertAllTagsPullable(url, sqlOf(t.berth.meta));
  } finally {
    await t.close();
  }
});

test('abandoned uploads expire with their bytes', async () => {
  const t = await startBerth({ lifecycle });
  try {
    const r = await fetch(`${t.url}/v2/u/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(r.status, 202);
    const loc = r.headers.get('location')!;
    await fetch(new URL(loc, t.url), { method: 'PATCH', body: bytes(randomBlob(4096, 0.3)), headers: { 'Content-Type': 'application/octet-stream' } });
    const fresh = await t.berth.lifecycle.runs.run('test', { graceMs: 0 });
    assert.equal(fresh.report.totals.upload.count, 0, 'a live upload is kept');
    await sqlOf(t.berth.meta).updateTable('uploads').set({ updated_at: Date.now() - 2 * 86_400_000 }).execute();
    // While a chunk streams somewhere, the upload's write lease is held: it stays.
    const id = loc.split('/').pop()!;
    assert.ok(await t.berth.meta.uploads.lock(id, 'someone', Date.now() + 60_000, Date.now()));
    const busy = await t.berth.lifecycle.runs.run('test', { graceMs: 0 });
    assert.equal(busy.report.totals.upload.count, 0, 'an upload being written is kept');
    await t.berth.meta.uploads.unlock(id, 'someone');
    const gone = await t.berth.lifecycle.runs.run('test', { graceMs: 0 });
    assert.equal(gone.report.totals.upload.count, 1);
    assert.equal(gone.report.totals.upload.bytes, 4096);
    assert.equal((await sqlOf(t.berth.meta).selectFrom('uploads').selectAll().execute()).length, 0);
    let files = 0;
    for await (const _ of t.berth.blobs.listUploads()) files++;
    assert.equal(files, 0);
  } finally {
    await t.close();
  }
});

/** Runs `hook` inside commitUpload, before the real commit: the window of the known race. */
class RacingBlobStore {
  hook: (() => Promise<void>) | undefined;
  constructor(readonly inner: FsBlobStore) {}
  wrap(): BlobStore {
    return new Proxy(this.inner, {
      get: (target, prop, receiver) => {
        if (prop === 'commitUpload') {
          return async (...args: Parameters<BlobStore['commitUpload']>) => {
            const h = this.hook;
            this.hook = undefined;
            if (h) await h();
            return target.commitUpload(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as BlobStore;
  }
}

test('GC deleting a blob while a push of the same bytes commits never leaves a row without bytes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-race-'));
  const meta = openSqlite(join(dir, 'berth.db'));
  try {
    await meta.migrate();
    const fs = await FsBlobStore.open(join(dir, 'storage'));
    const config = parseConfig({ dataDir: dir, lifecycle });
    const lc = createLifecycle(config, meta, fs, pino({ level: 'silent' }), async () => {});
    const racing = new RacingBlobStore(fs);
    const uploads = new UploadService(meta, racing.wrap(), Date.now, lc.writePolicy);
    const data = randomBlob(2048, 0.77);
    const digest = sha256(data) as Digest;
    const body = async function* () {
      yield data;
    };
    // An old, unreferenced blob: its row and bytes exist, no link.
    await uploads.putMonolithic('r/one' as RepoName, digest, body());
    await sqlOf(meta).deleteFrom('repository_blobs').execute();
    assert.equal(await fs.stat(digest), data.length);

    // Case 1: GC removes row and bytes between the push's fence read and its metadata commit.
    racing.hook = async () => {
      const r = await lc.gc.run({ graceMs: 0 });
      assert.equal(r.totals.blob.count, 1);
      assert.equal(await fs.stat(digest), undefined);
    };
    await assert.rejects(uploads.putMonolithic('r/two' as RepoName, digest, body()), (e: Error & { code?: string }) => e.code === 'BLOB_UPLOAD_INVALID');
    assert.equal(await meta.blobs.get(digest), undefined, 'no row recorded for bytes GC gave up');
    // The refused push placed its bytes after GC's delete, and removed them again itself
    // (through the same fence): no orphan is left for the storage scan.
    assert.equal(await fs.stat(digest), undefined, 'a refused push leaves no bytes behind');
    const orphans = await lc.gc.run({ graceMs: 0 });
    assert.equal(orphans.totals.orphan.count, 0);

    // The client pushes again: bytes are written anew and recorded.
    await uploads.putMonolithic('r/two' as RepoName, digest, body());
    assert.equal(await fs.stat(digest), data.length);
    assert.ok(await meta.blobs.get(digest));

    // Case 2: the push commits first; GC's re-check then sees the link and keeps the blob.
    await sqlOf(meta).deleteFrom('repository_blobs').execute();
    await lc.gc.run({ graceMs: 3_600_000 }); // queue it
    racing.hook = async () => {};
    await uploads.putMonolithic('r/three' as RepoName, digest, body());
    // The review is due (as if the grace period had passed since it was queued).
    await sqlOf(meta).updateTable('gc_reviews').set({ not_before: 0 }).execute();
    const r = await lc.gc.run({});
    assert.equal(r.totals.blob.count, 0);
    assert.equal(await fs.stat(digest), data.length);
    await lc.close();
  } finally {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  }
});
