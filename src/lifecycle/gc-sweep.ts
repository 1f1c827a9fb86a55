/**
 * The sweep phase of garbage collection: takes due rows from `gc_reviews` in batches and, in
 * one write transaction per batch, locks each object (PostgreSQL: FOR UPDATE; SQLite: the
 * transaction holds the write lock), re-checks that nothing references it, and deletes its
 * rows. A push that started referencing the object makes the re-check fail and wins. Blob
 * bytes are deleted only after the transaction that removed the blob row and raised its
 * byte-deletion fence has committed (see gc.ts for why that ordering is safe).
 */
import type { Kysely } from 'kysely';
import type { Database, GcReviewsTable } from '../metadata/tables.js';
import type { Digest } from '../registry/names.js';
import type { GcContext, RemovedItem } from './gc.js';
import { holds } from './gc-mark.js';

type Kind = GcReviewsTable['kind'];

/**
 * Due review rows of one kind, oldest first: queued at least one grace period (this run's,
 * which `--grace` may override) ago. `not_before` records the due time under the configured
 * grace for display.
 */
async function due(db: Kysely<Database>, ctx: GcContext, kind: Kind): Promise<{ repository_id: number; digest: string }[]> {
  const rows = await db
    .selectFrom('gc_reviews')
    .select(['repository_id', 'digest'])
    .where('kind', '=', kind)
    .where('queued_at', '<=', ctx.now - ctx.graceMs)
    .orderBy('queued_at')
    .limit(ctx.batchSize)
    .execute();
  return rows.map((r) => ({ repository_id: Number(r.repository_id), digest: r.digest }));
}

export async function countDue(db: Kysely<Database>, ctx: GcContext): Promise<number> {
  const r = await db
    .selectFrom('gc_reviews')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('queued_at', '<=', ctx.now - ctx.graceMs)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

async function dropReview(db: Kysely<Database>, kind: Kind, repositoryId: number, digest: string): Promise<void> {
  await db.deleteFrom('gc_reviews').where('kind', '=', kind).where('repository_id', '=', repositoryId).where('digest', '=', digest).execute();
}

/** What one sweep transaction removed: reported, and released for the next mark, after commit. */
interface Swept {
  removed: RemovedItem[];
  /** Repository id -> digests whose link or edge went away. */
  released: Map<number, string[]>;
}

function release(ctx: GcContext, kind: 'manifest' | 'link', swept: Swept): number {
  for (const item of swept.removed) ctx.removed(kind, item);
  for (const [repositoryId, digests] of swept.released) {
    for (const d of digests) ctx.released.blobs.add(d);
    // Both may release blobs; a deleted manifest may also leave its repository's links unused.
    if (kind !== 'manifest') continue;
    let links = ctx.released.links.get(repositoryId);
    if (!links) ctx.released.links.set(repositoryId, (links = new Set()));
    for (const d of digests) links.add(d);
  }
  return swept.removed.length;
}

/** Re-checks and deletes due manifests; returns how many were deleted. */
export async function sweepManifests(ctx: GcContext): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await ctx.read((db) => due(db, ctx, 'manifest'));
    if (batch.length === 0) return deleted;
    const swept = await ctx.write(async (db) => {
      const out: Swept = { removed: [], released: new Map() };
      for (const c of batch) {
        await dropReview(db, 'manifest', c.repository_id, c.digest);
        const m = await ctx.lock(db.selectFrom('manifests').select(['id', 'subject_digest', 'pushed_at', 'size']).where('repository_id', '=', c.repository_id).where('digest', '=', c.digest)).executeTakeFirst();
        if (!m) continue;
        const id = Number(m.id);
        const repo = await db.selectFrom('repositories').select(['name', 'project']).where('id', '=', c.repository_id).executeTakeFirstOrThrow();
        if (Number(m.pushed_at) > ctx.now - ctx.graceMs) continue;
        if (await db.selectFrom('tags').select('name').where('manifest_id', '=', id).limit(1).executeTakeFirst()) continue;
        if (await db.selectFrom('manifest_children').select('parent_id').where('child_id', '=', id).limit(1).executeTakeFirst()) continue;
        const trash = await db.selectFrom('trash').select(['tag', 'expires_at', 'restored_at']).where('repository', '=', repo.name).where('digest', '=', c.digest).execute();
        if (trash.some((t) => holds(t, ctx.now))) continue;
        const released = trash.some((t) => t.restored_at === null);
        if (!released && !ctx.policy.deleteUntagged(repo.project)) continue;
        if (m.subject_digest) {
          if (ctx.policy.orphanReferrers === 'keep') continue;
          const subject = await db.selectFrom('manifests').select('id').where('repository_id', '=', c.repository_id).where('digest', '=', m.subject_digest).executeTakeFirst();
          if (subject) continue;
        }
        const edges = await db.selectFrom('manifest_blobs').select('digest').where('manifest_id', '=', id).execute();
        const digests = out.released.get(c.repository_id) ?? [];
        out.released.set(c.repository_id, [...digests, ...edges.map((e) => e.digest)]);
        await db.deleteFrom('manifest_blobs').where('manifest_id', '=', id).execute();
        await db.deleteFrom('manifest_children').where('parent_id', '=', id).execute();
        await db.deleteFrom('trash').where('repository', '=', repo.name).where('digest', '=', c.digest).execute();
        await db.deleteFrom('manifests').where('id', '=', id).execute();
        out.removed.push({ repository: repo.name, digest: c.digest, size: Number(m.size) });
      }
      return out;
    });
    deleted += release(ctx, 'manifest', swept);
    for (const r of new Set(swept.removed.map((m) => m.repository))) await ctx.changed(r);
    ctx.advance(batch.length);
  }
}

/** Re-checks and deletes due repository -> blob links (set-based per batch). */
export async function sweepLinks(ctx: GcContext): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await ctx.read((db) => due(db, ctx, 'link'));
    if (batch.length === 0) return deleted;
    const swept = await ctx.write(async (db) => {
      const out: Swept = { removed: [], released: new Map() };
      const byRepo = new Map<number, string[]>();
      for (const c of batch) {
        const list = byRepo.get(c.repository_id);
        if (list) list.push(c.digest);
        else byRepo.set(c.repository_id, [c.digest]);
      }
      const names = new Map(
        (await db.selectFrom('repositories').select(['id', 'name']).where('id', 'in', [...byRepo.keys()]).execute()).map((r) => [Number(r.id), r.name]),
      );
      for (const [repositoryId, digests] of byRepo) {
        await db.deleteFrom('gc_reviews').where('kind', '=', 'link').where('repository_id', '=', repositoryId).where('digest', 'in', digests).execute();
        const links = await ctx.lock(db.selectFrom('repository_blobs').select(['digest', 'created_at']).where('repository_id', '=', repositoryId).where('digest', 'in', digests)).execute();
        const used = new Set(
          (
            await db
              .selectFrom('manifest_blobs as mb')
              .innerJoin('manifests as m', 'm.id', 'mb.manifest_id')
              .select('mb.digest')
              .where('m.repository_id', '=', repositoryId)
              .where('mb.digest', 'in', digests)
              .execute()
          ).map((r) => r.digest),
        );
        const gone = links.filter((l) => Number(l.created_at) <= ctx.now - ctx.graceMs && !used.has(l.digest)).map((l) => l.digest);
        if (gone.length === 0) continue;
        await db.deleteFrom('repository_blobs').where('repository_id', '=', repositoryId).where('digest', 'in', gone).execute();
        out.released.set(repositoryId, gone);
        for (const d of gone) out.removed.push({ repository: names.get(repositoryId) ?? String(repositoryId), digest: d, size: 0 });
      }
      return out;
    });
    deleted += release(ctx, 'link', swept);
    ctx.advance(batch.length);
  }
}

/** Re-checks and deletes due blobs: rows and fence in one transaction, then the bytes. */
export async function sweepBlobs(ctx: GcContext): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await ctx.read((db) => due(db, ctx, 'blob'));
    if (batch.length === 0) return deleted;
    const gone = await ctx.write(async (db) => {
      const out: { digest: Digest; size: number }[] = [];
      const digests = batch.map((c) => c.digest);
      await db.deleteFrom('gc_reviews').where('kind', '=', 'blob').where('repository_id', '=', 0).where('digest', 'in', digests).execute();
      await lockFences(db, ctx, digests);
      // Lock first (PostgreSQL), then re-check: a concurrent link or manifest edge takes a key
      // lock on the blob row, so it either committed before (and is seen) or waits and fails.
      const rows = await ctx.lock(db.selectFrom('blobs').select(['digest', 'size', 'created_at']).where('digest', 'in', digests)).execute();
      const used = new Set([
        ...(await db.selectFrom('repository_blobs').select('digest').where('digest', 'in', digests).execute()).map((r) => r.digest),
        ...(await db.selectFrom('manifest_blobs').select('digest').where('digest', 'in', digests).execute()).map((r) => r.digest),
      ]);
      for (const b of rows) {
        if (Number(b.created_at) > ctx.now - ctx.graceMs || used.has(b.digest)) continue;
        out.push({ digest: b.digest as Digest, size: Number(b.size) });
      }
      if (out.length > 0) await db.deleteFrom('blobs').where('digest', 'in', out.map((b) => b.digest)).execute();
      await raiseFence(db, ctx.now, out.map((b) => b.digest));
      return out;
    });
    for (const b of gone) ctx.removed('blob', { repository: '', digest: b.digest, size: b.size });
    await ctx.deleteBytes(gone.map((b) => b.digest));
    deleted += gone.length;
    ctx.advance(batch.length);
  }
}

/** Re-checks and deletes stored bytes that no blob row accounts for. */
export async function sweepOrphans(ctx: GcContext): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await ctx.read((db) => due(db, ctx, 'orphan'));
    if (batch.length === 0) return deleted;
    const gone = await ctx.write(async (db) => {
      const digests = batch.map((c) => c.digest);
      await db.deleteFrom('gc_reviews').where('kind', '=', 'orphan').where('repository_id', '=', 0).where('digest', 'in', digests).execute();
      // An upload recording one of these blobs right now holds its fence row: wait for it.
      await lockFences(db, ctx, digests);
      const rows = await db.selectFrom('blobs').select('digest').where('digest', 'in', digests).execute();
      const present = new Set(rows.map((r) => r.digest));
      const out = digests.filter((d) => !present.has(d)) as Digest[];
      await raiseFence(db, ctx.now, out);
      return out;
    });
    for (const d of gone) ctx.removed('orphan', { repository: '', digest: d, size: (await ctx.stat(d)) ?? 0 });
    await ctx.deleteBytes(gone);
    deleted += gone.length;
    ctx.advance(batch.length);
  }
}

/**
 * Locks the digests' fence rows (creating absent ones) ahead of a re-check. An upload that is
 * recording one of these blobs holds its row from its fence read to its commit
 * (`lockDeletionState`), so the re-check that follows sees its blob row; an upload that comes
 * later waits for this transaction and then sees the fence raised (see gc.ts).
 */
async function lockFences(db: Kysely<Database>, ctx: GcContext, digests: readonly string[]): Promise<void> {
  // SQLite: the sweep transaction holds the one write lock; no upload is in flight inside it.
  if (digests.length === 0 || ctx.dialect === 'sqlite') return;
  const sorted = [...digests].sort();
  await db
    .insertInto('blob_deletions')
    .values(sorted.map((digest) => ({ digest, version: 0, pending: 0, updated_at: ctx.now })))
    .onConflict((oc) => oc.column('digest').doNothing())
    .execute();
  await db.selectFrom('blob_deletions').select('digest').where('digest', 'in', sorted).orderBy('digest').forUpdate().execute();
}

/** Marks the digests' bytes as being deleted: a racing upload commit sees the new version. */
export async function raiseFence(db: Kysely<Database>, now: number, digests: readonly string[]): Promise<void> {
  if (digests.length === 0) return;
  await db
    .insertInto('blob_deletions')
    .values(digests.map((digest) => ({ digest, version: 1, pending: 1, updated_at: now })))
    .onConflict((oc) => oc.column('digest').doUpdateSet((eb) => ({ version: eb(eb.ref('blob_deletions.version'), '+', 1), pending: 1, updated_at: now })))
    .execute();
}
