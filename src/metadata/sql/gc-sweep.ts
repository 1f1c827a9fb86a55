/**
 * Garbage collection's re-checks and deletes. Each `lock*` method takes its row locks first
 * (PostgreSQL FOR UPDATE; nothing on SQLite, where the transaction holds the write lock) and
 * only then reads what the re-check needs, so inside a READ COMMITTED transaction the reads
 * see every change committed before the lock was granted, and no change can commit after it
 * until this transaction ends. The decisions are made in src/lifecycle/gc-sweep.ts.
 */
import type { Kysely } from 'kysely';
import type { Digest } from '../../domain/names.js';
import type { GcSweepQueries, LockedManifest } from '../gc-store.js';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';
import { raiseFences } from './fences.js';
import { deleteManifestRows } from './manifests.js';

export class SqlGcSweep implements GcSweepQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /** Adds FOR UPDATE on PostgreSQL. */
  private lock<Q extends { forUpdate(): Q }>(q: Q): Q {
    return this.dialect === 'postgres' ? q.forUpdate() : q;
  }

  async lockManifest(repositoryId: number, digest: string): Promise<LockedManifest | undefined> {
    const m = await this.lock(this.db.selectFrom('manifests').select(['id', 'subject_digest', 'pushed_at', 'size']).where('repository_id', '=', repositoryId).where('digest', '=', digest)).executeTakeFirst();
    if (!m) return undefined;
    const id = Number(m.id);
    const repo = await this.db.selectFrom('repositories').select(['name', 'project']).where('id', '=', repositoryId).executeTakeFirstOrThrow();
    const tagged = await this.db.selectFrom('tags').select('name').where('manifest_id', '=', id).limit(1).executeTakeFirst();
    const parent = await this.db.selectFrom('manifest_children').select('parent_id').where('child_id', '=', id).limit(1).executeTakeFirst();
    const trash = await this.db.selectFrom('trash').select(['tag', 'expires_at', 'restored_at']).where('repository', '=', repo.name).where('digest', '=', digest).execute();
    const subject = m.subject_digest
      ? await this.db.selectFrom('manifests').select('id').where('repository_id', '=', repositoryId).where('digest', '=', m.subject_digest).executeTakeFirst()
      : undefined;
    return {
      id,
      repositoryId,
      repository: repo.name,
      project: repo.project,
      digest,
      size: Number(m.size),
      pushedAt: Number(m.pushed_at),
      subject: m.subject_digest,
      tagged: tagged !== undefined,
      hasParent: parent !== undefined,
      subjectPresent: subject !== undefined,
      trash: trash.map((t) => ({ tag: t.tag, expiresAt: Number(t.expires_at), restoredAt: t.restored_at === null ? null : Number(t.restored_at) })),
    };
  }

  async deleteManifest(m: { id: number; repository: string; digest: string }): Promise<string[]> {
    const edges = await this.db.selectFrom('manifest_blobs').select('digest').where('manifest_id', '=', m.id).execute();
    await this.db.deleteFrom('trash').where('repository', '=', m.repository).where('digest', '=', m.digest).execute();
    await deleteManifestRows(this.db, m.id);
    return edges.map((e) => e.digest);
  }

  async repositoryNames(ids: number[]): Promise<Map<number, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.selectFrom('repositories').select(['id', 'name']).where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [Number(r.id), r.name]));
  }

  async lockLinks(repositoryId: number, digests: string[]): Promise<{ digest: string; createdAt: number; used: boolean }[]> {
    if (digests.length === 0) return [];
    const links = await this.lock(this.db.selectFrom('repository_blobs').select(['digest', 'created_at']).where('repository_id', '=', repositoryId).where('digest', 'in', digests)).execute();
    const used = new Set(
      (
        await this.db
          .selectFrom('manifest_blobs as mb')
          .innerJoin('manifests as m', 'm.id', 'mb.manifest_id')
          .select('mb.digest')
          .where('m.repository_id', '=', repositoryId)
          .where('mb.digest', 'in', digests)
          .execute()
      ).map((r) => r.digest),
    );
    return links.map((l) => ({ digest: l.digest, createdAt: Number(l.created_at), used: used.has(l.digest) }));
  }

  async deleteLinks(repositoryId: number, digests: string[]): Promise<void> {
    if (digests.length === 0) return;
    await this.db.deleteFrom('repository_blobs').where('repository_id', '=', repositoryId).where('digest', 'in', digests).execute();
  }

  async lockBlobs(digests: string[]): Promise<{ digest: Digest; size: number; createdAt: number; used: boolean }[]> {
    if (digests.length === 0) return [];
    // Lock first, then re-check: a concurrent link or manifest edge takes a key lock on the
    // blob row, so it either committed before (and is seen) or waits and fails.
    const rows = await this.lock(this.db.selectFrom('blobs').select(['digest', 'size', 'created_at']).where('digest', 'in', digests)).execute();
    const used = new Set([
      ...(await this.db.selectFrom('repository_blobs').select('digest').where('digest', 'in', digests).execute()).map((r) => r.digest),
      ...(await this.db.selectFrom('manifest_blobs').select('digest').where('digest', 'in', digests).execute()).map((r) => r.digest),
    ]);
    return rows.map((b) => ({ digest: b.digest as Digest, size: Number(b.size), createdAt: Number(b.created_at), used: used.has(b.digest) }));
  }

  async deleteBlobs(digests: Digest[], now: number): Promise<void> {
    if (digests.length > 0) await this.db.deleteFrom('blobs').where('digest', 'in', digests).execute();
    await raiseFences(this.db, digests, now);
  }

  async existingBlobs(digests: string[]): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    return new Set((await this.db.selectFrom('blobs').select('digest').where('digest', 'in', digests).execute()).map((r) => r.digest));
  }

  async staleUploads(before: number): Promise<{ id: string; handle: string; offset: number }[]> {
    const rows = await this.db.selectFrom('uploads').select(['id', 'handle', 'byte_offset']).where('updated_at', '<', before).execute();
    return rows.map((u) => ({ id: u.id, handle: u.handle, offset: Number(u.byte_offset) }));
  }

  async expireUpload(id: string, before: number, now: number): Promise<boolean> {
    // A session whose write lease is held has a chunk streaming right now (on any node).
    const r = await this.db
      .deleteFrom('uploads')
      .where('id', '=', id)
      .where('updated_at', '<', before)
      .where((eb) => eb.or([eb('writer', 'is', null), eb('writer_until', '<', now)]))
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async uploadIds(): Promise<Set<string>> {
    return new Set((await this.db.selectFrom('uploads').select('id').execute()).map((r) => r.id));
  }
}
