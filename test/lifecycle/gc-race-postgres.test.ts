/**
 * The push/GC race inside the metadata transaction, on PostgreSQL. A push reads the digest's
 * byte-deletion fence in its transaction; if, before that transaction commits, garbage
 * collection finds the freshly placed bytes without a blob row (an orphan, grace 0), raises the
 * fence and deletes them, the push must not record the blob. On SQLite the two transactions
 * cannot interleave (one writer at a time); on PostgreSQL they can, and only SERIALIZABLE
 * isolation on both sides makes PostgreSQL abort the push, which then sees the moved fence and
 * refuses with BLOB_UPLOAD_INVALID. (With a READ COMMITTED collector the push committed a
 * blob row whose bytes were gone: seen in the PostgreSQL + S3 stress test.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { createLifecycle } from '../../src/lifecycle/services.js';
import { openPostgres } from '../../src/metadata/postgres.js';
import type { MetadataQueries, MetadataStore } from '../../src/metadata/store.js';
import type { Digest, RepoName } from '../../src/registry/names.js';
import { UploadService } from '../../src/registry/uploads.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { postgresConfig } from '../helpers/metadata.js';
import { randomBlob, sha256 } from '../helpers/oci.js';
import { createTestDatabase, postgresSkipReason } from '../helpers/postgres.js';

/** A MetadataStore whose transactions run `hook` once, right after the first fence read. */
function pausingAfterFenceRead(meta: MetadataStore, hook: { run?: () => Promise<void> }): MetadataStore {
  return new Proxy(meta, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return <T>(fn: (tx: MetadataQueries) => Promise<T>) =>
          target.transaction((tx) => {
            const blobs = new Proxy(tx.blobs, {
              get(b, p, r) {
                if (p !== 'deletionState') {
                  const v = Reflect.get(b, p, r);
                  return typeof v === 'function' ? v.bind(b) : v;
                }
                return async (digest: Digest) => {
                  const state = await b.deletionState(digest);
                  const run = hook.run;
                  hook.run = undefined;
                  if (run) await run();
                  return state;
                };
              },
            });
            return fn(new Proxy(tx, { get: (t, p, r) => (p === 'blobs' ? blobs : Reflect.get(t, p, r)) }));
          });
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('PostgreSQL: GC giving up orphaned bytes inside a push transaction makes the push refuse, never a row without bytes', async (t) => {
  const skip = await postgresSkipReason();
  if (skip) return t.skip(skip);
  const database = await createTestDatabase();
  const dir = await mkdtemp(join(tmpdir(), 'berth-race-pg-'));
  const meta = openPostgres(postgresConfig(database.url));
  try {
    await meta.migrate();
    const fs = await FsBlobStore.open(join(dir, 'storage'));
    const config = parseConfig({ dataDir: dir, lifecycle: { gc: { schedule: null }, schedulerEnabled: false } });
    const lc = createLifecycle(config, meta, fs, pino({ level: 'silent' }), async () => {});
    const hook: { run?: () => Promise<void> } = {};
    const uploads = new UploadService(pausingAfterFenceRead(meta, hook), fs, Date.now, lc.writePolicy);
    const data = randomBlob(4096, 0.31);
    const digest = sha256(data) as Digest;
    const body = async function* () {
      yield data;
    };

    let orphansRemoved = -1;
    hook.run = async () => {
      // The push placed its bytes and read the fence; its row is not committed yet.
      const r = await lc.gc.run({ graceMs: 0 });
      orphansRemoved = r.totals.orphan.count;
    };
    await assert.rejects(uploads.putMonolithic('r/one' as RepoName, digest, body()), (e: Error & { code?: string }) => e.code === 'BLOB_UPLOAD_INVALID');
    assert.equal(orphansRemoved, 1, 'GC took the bytes as an orphan while the push transaction was open');
    assert.equal(await fs.stat(digest), undefined);
    assert.equal(await meta.blobs.get(digest), undefined, 'no blob row for bytes GC gave up');

    // The client pushes again: recorded, bytes present.
    await uploads.putMonolithic('r/one' as RepoName, digest, body());
    assert.equal(await fs.stat(digest), data.length);
    assert.ok(await meta.blobs.get(digest));
    await lc.close();
  } finally {
    await meta.close();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
});
