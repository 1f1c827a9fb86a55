/**
 * The byte-deletion fence (`blob_deletions`): the one module that writes it. Garbage
 * collection raises a digest's fence in the transaction that gives up its bytes and lowers
 * it once they are gone; an upload commit reads it under a lock (BlobQueries.lockDeletionState)
 * so that a push recording a blob and a sweep of the same digest serialize on PostgreSQL (see
 * src/lifecycle/gc.ts). On SQLite the transaction's write lock serializes them instead, so
 * no row is created or locked there.
 */
import type { Kysely } from 'kysely';
import type { Digest } from '../../domain/names.js';
import type { FenceQueries } from '../gc-store.js';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';
import { PreparedQuery } from './prepared.js';

export interface FenceState {
  version: number;
  pending: boolean;
}

/** A digest's fence: every blob upload reads it twice, before and while it commits (prepared.ts). */
const FENCE = new PreparedQuery((db: Kysely<Database>, digest: string) => db.selectFrom('blob_deletions').select(['version', 'pending']).where('digest', '=', digest));

export async function readFence(db: Kysely<Database>, dialect: Dialect, digest: string): Promise<FenceState> {
  const row = await FENCE.executeTakeFirst(db, dialect, digest);
  return row ? { version: Number(row.version), pending: Number(row.pending) === 1 } : { version: 0, pending: false };
}

/** Creates absent fence rows at version 0 (a row must exist to be locked). */
async function ensureFences(db: Kysely<Database>, digests: readonly string[], now: number): Promise<void> {
  await db
    .insertInto('blob_deletions')
    .values(digests.map((digest) => ({ digest, version: 0, pending: 0, updated_at: now })))
    .onConflict((oc) => oc.column('digest').doNothing())
    .execute();
}

/**
 * The fence of one digest read under a share lock held to the end of the transaction
 * (PostgreSQL; SQLite: a plain read, the write lock is held already).
 */
export async function readFenceLocked(db: Kysely<Database>, dialect: Dialect, digest: string, now: number): Promise<FenceState> {
  if (dialect === 'sqlite') return readFence(db, dialect, digest);
  // A collector that has not fenced this digest yet finds the row locked (or being inserted)
  // and waits for this transaction before its re-check.
  await ensureFences(db, [digest], now);
  const row = await db.selectFrom('blob_deletions').select(['version', 'pending']).where('digest', '=', digest).forShare().executeTakeFirstOrThrow();
  return { version: Number(row.version), pending: Number(row.pending) === 1 };
}

export async function raiseFences(db: Kysely<Database>, digests: readonly string[], now: number): Promise<void> {
  if (digests.length === 0) return;
  await db
    .insertInto('blob_deletions')
    .values(digests.map((digest) => ({ digest, version: 1, pending: 1, updated_at: now })))
    .onConflict((oc) => oc.column('digest').doUpdateSet((eb) => ({ version: eb(eb.ref('blob_deletions.version'), '+', 1), pending: 1, updated_at: now })))
    .execute();
}

export class SqlFences implements FenceQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async lock(digests: string[], now: number): Promise<void> {
    // SQLite: the sweep transaction holds the one write lock; no upload is in flight inside it.
    if (digests.length === 0 || this.dialect === 'sqlite') return;
    const sorted = [...digests].sort();
    await ensureFences(this.db, sorted, now);
    await this.db.selectFrom('blob_deletions').select('digest').where('digest', 'in', sorted).orderBy('digest').forUpdate().execute();
  }

  raise(digests: string[], now: number): Promise<void> {
    return raiseFences(this.db, digests, now);
  }

  async raiseUnrecorded(digest: Digest, now: number): Promise<boolean> {
    // PostgreSQL: lock the fence row first, so an upload recording this blob (which holds the
    // row in share mode until it commits) finishes before the check below; SQLite: the
    // transaction's write lock already excludes it.
    await this.lock([digest], now);
    if (await this.db.selectFrom('blobs').select('digest').where('digest', '=', digest).executeTakeFirst()) return false;
    await raiseFences(this.db, [digest], now);
    return true;
  }

  async pending(): Promise<Digest[]> {
    return (await this.db.selectFrom('blob_deletions').select('digest').where('pending', '=', 1).execute()).map((r) => r.digest as Digest);
  }

  async lower(digests: string[], now: number): Promise<void> {
    if (digests.length === 0) return;
    await this.db.updateTable('blob_deletions').set({ pending: 0, updated_at: now }).where('digest', 'in', digests).execute();
  }

  async prune(before: number): Promise<void> {
    await this.db.deleteFrom('blob_deletions').where('pending', '=', 0).where('updated_at', '<', before).execute();
  }
}
