/** Blob rows and the links that let a repository serve a blob. */
import type { Kysely } from 'kysely';
import { ConflictError } from '../../errors/store.js';
import type { Digest, RepoName } from '../../registry/names.js';
import type { BlobQueries, BlobRecord } from '../store.js';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';
import { ensureRepository, repositoryId } from './repositories.js';

export class SqlBlobs implements BlobQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async get(digest: Digest): Promise<BlobRecord | undefined> {
    const row = await this.db.selectFrom('blobs').select(['digest', 'size', 'media_type']).where('digest', '=', digest).executeTakeFirst();
    return row && { digest: row.digest as Digest, size: Number(row.size), mediaType: row.media_type };
  }

  async sizeInRepository(repo: RepoName, digest: Digest): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('blobs as b')
      .select('b.size')
      .where('b.digest', '=', digest)
      .where(({ exists, or, selectFrom }) =>
        or([
          exists(
            selectFrom('repository_blobs as rb')
              .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
              .select('rb.digest')
              .where('r.name', '=', repo)
              .whereRef('rb.digest', '=', 'b.digest'),
          ),
          exists(
            selectFrom('manifest_blobs as mb')
              .innerJoin('manifests as m', 'm.id', 'mb.manifest_id')
              .innerJoin('repositories as r', 'r.id', 'm.repository_id')
              .select('mb.digest')
              .where('r.name', '=', repo)
              .whereRef('mb.digest', '=', 'b.digest'),
          ),
        ]),
      )
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.size);
  }

  async insert(blob: { digest: Digest; size: number; mediaType?: string | null }, now: number): Promise<void> {
    await this.db
      .insertInto('blobs')
      .values({ digest: blob.digest, size: blob.size, media_type: blob.mediaType ?? null, created_at: now })
      .onConflict((oc) => oc.column('digest').doNothing())
      .execute();
  }

  async link(repo: RepoName, digest: Digest, source: 'pushed' | 'mounted', now: number): Promise<void> {
    const id = await ensureRepository(this.db, repo, now);
    await this.db
      .insertInto('repository_blobs')
      .values({ repository_id: id, digest, source, created_at: now })
      // A re-push or re-mount refreshes the link's age (garbage collection's grace counts from it).
      .onConflict((oc) => oc.columns(['repository_id', 'digest']).doUpdateSet({ created_at: now }))
      .execute();
  }

  async deletionState(digest: Digest): Promise<{ version: number; pending: boolean }> {
    const row = await this.db.selectFrom('blob_deletions').select(['version', 'pending']).where('digest', '=', digest).executeTakeFirst();
    return row ? { version: Number(row.version), pending: Number(row.pending) === 1 } : { version: 0, pending: false };
  }

  async lockDeletionState(digest: Digest, now: number): Promise<{ version: number; pending: boolean }> {
    // SQLite: the transaction already holds the one write lock, so a plain read is locked.
    if (this.dialect === 'sqlite') return this.deletionState(digest);
    // The row must exist to be locked: a collector that has not fenced this digest yet finds
    // it locked (or being inserted) and waits for this transaction before its re-check.
    await this.db
      .insertInto('blob_deletions')
      .values({ digest, version: 0, pending: 0, updated_at: now })
      .onConflict((oc) => oc.column('digest').doNothing())
      .execute();
    const row = await this.db.selectFrom('blob_deletions').select(['version', 'pending']).where('digest', '=', digest).forShare().executeTakeFirstOrThrow();
    return { version: Number(row.version), pending: Number(row.pending) === 1 };
  }

  async fenceUnrecorded(digest: Digest, now: number): Promise<boolean> {
    // PostgreSQL: lock the fence row first, so an upload recording this blob (which holds the
    // row in share mode until it commits) finishes before the check below; SQLite: the
    // transaction's write lock already excludes it.
    if (this.dialect === 'postgres') {
      await this.db.insertInto('blob_deletions').values({ digest, version: 0, pending: 0, updated_at: now }).onConflict((oc) => oc.column('digest').doNothing()).execute();
      await this.db.selectFrom('blob_deletions').select('digest').where('digest', '=', digest).forUpdate().execute();
    }
    if (await this.db.selectFrom('blobs').select('digest').where('digest', '=', digest).executeTakeFirst()) return false;
    await this.db
      .insertInto('blob_deletions')
      .values({ digest, version: 1, pending: 1, updated_at: now })
      .onConflict((oc) => oc.column('digest').doUpdateSet((eb) => ({ version: eb(eb.ref('blob_deletions.version'), '+', 1), pending: 1, updated_at: now })))
      .execute();
    return true;
  }

  async lowerDeletionFence(digest: Digest, now: number): Promise<void> {
    await this.db.updateTable('blob_deletions').set({ pending: 0, updated_at: now }).where('digest', '=', digest).execute();
  }

  async unlink(repo: RepoName, digest: Digest): Promise<boolean> {
    const id = await repositoryId(this.db, repo);
    if (id === undefined) return false;
    const r = await this.db.deleteFrom('repository_blobs').where('repository_id', '=', id).where('digest', '=', digest).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async delete(digest: Digest): Promise<boolean> {
    // The reference check is part of the DELETE itself so a concurrent link cannot slip in
    // between (and no foreign-key error aborts a PostgreSQL transaction).
    const r = await this.db
      .deleteFrom('blobs')
      .where('digest', '=', digest)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('repository_blobs').select('digest').where('digest', '=', digest))))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('manifest_blobs').select('digest').where('digest', '=', digest))))
      .executeTakeFirst();
    if (Number(r.numDeletedRows) > 0) return true;
    if ((await this.get(digest)) === undefined) return false;
    throw new ConflictError(`blob ${digest} is still referenced`);
  }
}
