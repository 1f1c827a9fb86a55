/**
 * Garbage collection's review queue (`gc_reviews`) and the queries of its mark phase:
 * insert-if-absent, so an object keeps its first "queued at" while it stays queued. Links
 * and blobs are marked with set-based SQL; manifests are marked by the lifecycle from one
 * snapshot of the graph (`manifestGraph`).
 */
import { sql, type Kysely } from 'kysely';
import type { Digest } from '../../domain/names.js';
import type { GcQueries, ManifestGraph, Review, ReviewKind } from '../gc-store.js';
import type { Database } from '../tables.js';
import { inParts } from './parts.js';

/** A typed numeric parameter (PostgreSQL would read a bare parameter in a SELECT list as text). */
function bigint(n: number) {
  return sql<number>`cast(${n} as bigint)`;
}

export class SqlGc implements GcQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async manifestGraph(): Promise<ManifestGraph> {
    const rows = await this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['m.id', 'm.repository_id', 'm.digest', 'm.subject_digest', 'r.project'])
      .execute();
    if (rows.length === 0) return { manifests: [], tagged: [], trash: [], children: [] };
    const tagged = (await this.db.selectFrom('tags').select('manifest_id').distinct().execute()).map((t) => Number(t.manifest_id));
    const held = await this.db
      .selectFrom('trash as t')
      .innerJoin('repositories as r', 'r.name', 't.repository')
      .innerJoin('manifests as m', (j) => j.onRef('m.repository_id', '=', 'r.id').onRef('m.digest', '=', 't.digest'))
      .select(['m.id', 't.tag', 't.expires_at', 't.restored_at'])
      .execute();
    const children = await this.db.selectFrom('manifest_children').select(['parent_id', 'child_id']).execute();
    return {
      manifests: rows.map((r) => ({ id: Number(r.id), repositoryId: Number(r.repository_id), digest: r.digest, subject: r.subject_digest, project: r.project })),
      tagged,
      trash: held.map((h) => ({ manifestId: Number(h.id), entry: { tag: h.tag, expiresAt: Number(h.expires_at), restoredAt: h.restored_at === null ? null : Number(h.restored_at) } })),
      children: children.map((e) => ({ parentId: Number(e.parent_id), childId: Number(e.child_id) })),
    };
  }

  async queueManifests(manifests: Review[], now: number, graceMs: number): Promise<number> {
    let queued = 0;
    for (const batch of inParts(manifests, 500)) {
      const r = await this.db
        .insertInto('gc_reviews')
        .values(batch.map((n) => ({ kind: 'manifest' as const, repository_id: n.repositoryId, digest: n.digest, queued_at: now, not_before: now + graceMs })))
        .onConflict((oc) => oc.columns(['kind', 'repository_id', 'digest']).doNothing())
        .executeTakeFirst();
      queued += Number(r.numInsertedOrUpdatedRows ?? 0);
    }
    return queued;
  }

  async markLinks(now: number, graceMs: number, only?: { repositoryId: number; digests: string[] }): Promise<number> {
    const r = await this.db
      .insertInto('gc_reviews')
      .columns(['kind', 'repository_id', 'digest', 'queued_at', 'not_before'])
      .expression((eb) =>
        eb
          .selectFrom('repository_blobs as rb')
          .select((s) => [s.val('link').as('kind'), 'rb.repository_id', 'rb.digest', bigint(now).as('queued_at'), bigint(now + graceMs).as('not_before')])
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('manifest_blobs as mb')
                  .innerJoin('manifests as m', 'm.id', 'mb.manifest_id')
                  .select('mb.manifest_id')
                  .whereRef('mb.digest', '=', 'rb.digest')
                  .whereRef('m.repository_id', '=', 'rb.repository_id'),
              ),
            ),
          )
          .$if(only !== undefined, (q) => q.where('rb.repository_id', '=', only!.repositoryId).where('rb.digest', 'in', only!.digests)),
      )
      .onConflict((oc) => oc.columns(['kind', 'repository_id', 'digest']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0);
  }

  async markBlobs(now: number, graceMs: number, only?: string[]): Promise<number> {
    const r = await this.db
      .insertInto('gc_reviews')
      .columns(['kind', 'repository_id', 'digest', 'queued_at', 'not_before'])
      .expression((eb) =>
        eb
          .selectFrom('blobs as b')
          .select((s) => [s.val('blob').as('kind'), bigint(0).as('repository_id'), 'b.digest', bigint(now).as('queued_at'), bigint(now + graceMs).as('not_before')])
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.digest', '=', 'b.digest'))))
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom('manifest_blobs as mb').select('mb.digest').whereRef('mb.digest', '=', 'b.digest'))))
          .$if(only !== undefined, (q) => q.where('b.digest', 'in', only!)),
      )
      .onConflict((oc) => oc.columns(['kind', 'repository_id', 'digest']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0);
  }

  async queueOrphans(digests: Digest[], now: number, graceMs: number): Promise<void> {
    if (digests.length === 0) return;
    const present = new Set((await this.db.selectFrom('blobs').select('digest').where('digest', 'in', digests).execute()).map((r) => r.digest));
    // Bytes already being deleted (fence raised) are not orphans.
    for (const r of await this.db.selectFrom('blob_deletions').select('digest').where('digest', 'in', digests).where('pending', '=', 1).execute()) present.add(r.digest);
    const orphans = digests.filter((d) => !present.has(d));
    if (orphans.length === 0) return;
    await this.db
      .insertInto('gc_reviews')
      .values(orphans.map((digest) => ({ kind: 'orphan' as const, repository_id: 0, digest, queued_at: now, not_before: now + graceMs })))
      .onConflict((oc) => oc.columns(['kind', 'repository_id', 'digest']).doNothing())
      .execute();
  }

  async due(kind: ReviewKind, queuedBy: number, limit: number): Promise<Review[]> {
    const rows = await this.db
      .selectFrom('gc_reviews')
      .select(['repository_id', 'digest'])
      .where('kind', '=', kind)
      .where('queued_at', '<=', queuedBy)
      .orderBy('queued_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ repositoryId: Number(r.repository_id), digest: r.digest }));
  }

  async countDue(queuedBy: number): Promise<number> {
    const r = await this.db
      .selectFrom('gc_reviews')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('queued_at', '<=', queuedBy)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async dropReviews(kind: ReviewKind, repositoryId: number, digests: string[]): Promise<void> {
    if (digests.length === 0) return;
    const q = this.db.deleteFrom('gc_reviews').where('kind', '=', kind).where('repository_id', '=', repositoryId);
    await (digests.length === 1 ? q.where('digest', '=', digests[0]!) : q.where('digest', 'in', digests)).execute();
  }
}
