/** Blob rows and the links that let a repository serve a blob. */
import type { Kysely } from 'kysely';
import { ConflictError } from '../../errors/store.js';
import type { Digest, RepoName } from '../../domain/names.js';
import type { BlobQueries, BlobRecord } from '../store.js';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';
import { readFence, readFenceLocked } from './fences.js';
import { ensureRepository, repositoryId } from './repositories.js';
import { PreparedQuery } from './prepared.js';

/** The blob's size if `repo` may serve it: linked to the repository, or referenced by one of its manifests (every blob HEAD and GET asks). */
const SIZE_IN_REPOSITORY = new PreparedQuery((db: Kysely<Database>, digest: Digest, repo: RepoName) =>
  db
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
    ),
);

// The rows a blob upload's commit writes: the blob, and its link to the repository.
const INSERT = new PreparedQuery((db: Kysely<Database>, digest: string, size: number, mediaType: string | null, now: number) =>
  db
    .insertInto('blobs')
    .values({ digest, size, media_type: mediaType, created_at: now })
    .onConflict((oc) => oc.column('digest').doNothing()),
);
const LINK = new PreparedQuery((db: Kysely<Database>, repositoryId: number, digest: string, source: string, now: number) =>
  db
    .insertInto('repository_blobs')
    .values({ repository_id: repositoryId, digest, source, created_at: now })
    // A re-push or re-mount refreshes the link's age (garbage collection's grace counts from it).
    .onConflict((oc) => oc.columns(['repository_id', 'digest']).doUpdateSet({ created_at: now })),
);

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
    const row = await SIZE_IN_REPOSITORY.executeTakeFirst(this.db, this.dialect, digest, repo);
    return row === undefined ? undefined : Number(row.size);
  }

  async insert(blob: { digest: Digest; size: number; mediaType?: string | null }, now: number): Promise<void> {
    await INSERT.run(this.db, this.dialect, blob.digest, blob.size, blob.mediaType ?? null, now);
  }

  async link(repo: RepoName, digest: Digest, source: 'pushed' | 'mounted', now: number): Promise<void> {
    await LINK.run(this.db, this.dialect, await ensureRepository(this.db, this.dialect, repo, now), digest, source, now);
  }

  deletionState(digest: Digest): Promise<{ version: number; pending: boolean }> {
    return readFence(this.db, this.dialect, digest);
  }

  lockDeletionState(digest: Digest, now: number): Promise<{ version: number; pending: boolean }> {
    return readFenceLocked(this.db, this.dialect, digest, now);
  }

  async unlink(repo: RepoName, digest: Digest): Promise<boolean> {
    const id = await repositoryId(this.db, this.dialect, repo);
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
