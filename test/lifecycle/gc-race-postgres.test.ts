/**
 * The push/GC race inside the metadata transaction, on PostgreSQL. A push places its bytes,
 * then records the blob in a transaction that reads the digest's byte-deletion fence. If,
 * while that transaction is open, garbage collection finds the bytes without a committed blob
 * row (an orphan, grace 0), it must not give them up: the push holds the digest's fence row
 * (lockDeletionState) and GC locks the fence rows before its re-check, so GC waits for the
 * push to commit and then sees the row. On SQLite the two cannot interleave (one writer at a
 * time). Without the lock, GC deleted the bytes and the push committed a row without bytes
 * (seen in the PostgreSQL + S3 stress test).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { GcReport } from '../../src/lifecycle/gc.js';
import { createLifecycle } from '../../src/lifecycle/services.js';
import { openPostgres } from '../../src/metadata/postgres.js';
import type { MetadataQueries, MetadataStore, TransactionOptions } from '../../src/metadata/store.js';
import type { Digest, RepoName } from '../../src/domain/names.js';
import { UploadService } from '../../src/registry/uploads.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { postgresConfig, sqlOf } from '../helpers/metadata.js';
import { randomBlob, sha256 } from '../helpers/oci.js';
import { createTestDatabase, postgresSkipReason } from '../helpers/postgres.js';

/** A MetadataStore whose transactions run `hook` once, right after the locked fence read. */
function pausingAfterFenceRead(meta: MetadataStore, hook: { run?: () => Promise<void> }): MetadataStore {
  return new Proxy(meta, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return <T>(fn: (tx: MetadataQueries) => Promise<T>, options?: TransactionOptions) =>
          target.transaction((tx) => {
            const blobs = new Proxy(tx.blobs, {
              get(b, p, r) {
                if (p !== 'lockDeletionState') {
                  const v = Reflect.get(b, p, r);
                  return typeof v === 'function' ? v.bind(b) : v;
                }
                return async (digest: Digest, now: number) => {
                  const state = await b.lockDeletionState(digest, now);
                  const run = hook.run;
                  hook.run = undefined;
                  if (run) await run();
                  return state;
                };
              },
            });
            return fn(new Proxy(tx, { get: (t, p, r) => (p === 'blobs' ? blobs : Reflect.get(t, p, r)) }));
          }, options);
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** True once a session of `database` waits for a lock (GC blocked behind the push). */
async function someoneWaitsForALock(meta: MetadataStore, database: string): Promise<boolean> {
  const r = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = ${database} and wait_event_type = 'Lock'`.execute(sqlOf(meta));
  return Number(r.rows[0]!.n) > 0;
}

test('PostgreSQL: GC meeting the bytes of a push whose transaction is open waits for it and keeps the blob', async (t) => {
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

    let gc: Promise<GcReport> | undefined;
    let gcWaited = false;
    hook.run = async () => {
      // The push placed its bytes and holds the fence; its blob row is not committed yet.
      // GC (grace 0) scans storage, finds the bytes without a row and sweeps them as an orphan.
      let finished = false;
      gc = lc.gc.run({ graceMs: 0 }).finally(() => (finished = true));
      const deadline = Date.now() + 10_000;
      while (!finished && Date.now() < deadline) {
        if (await someoneWaitsForALock(meta, database.name)) {
          gcWaited = true;
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await uploads.putMonolithic('r/one' as RepoName, digest, body());
    const report = await gc!;
    assert.ok(gcWaited, 'GC waited for the push transaction');
    assert.equal(report.totals.orphan.count, 0, 'GC kept the bytes the push recorded');
    assert.equal(await fs.stat(digest), data.length, 'the bytes are there');
    assert.ok(await meta.blobs.get(digest), 'and so is the row');
    await lc.close();
  } finally {
    await meta.close();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
});
