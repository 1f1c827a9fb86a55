/**
 * The storage side of garbage collection: finishing byte deletes a crashed run left pending,
 * expiring abandoned upload sessions (row, then their partial bytes), and finding stored
 * bytes no blob row accounts for (queued as `orphan` reviews, deleted by the sweep through
 * the same byte-deletion fence once they stayed orphaned for the grace period).
 */
import type { Digest } from '../registry/names.js';
import type { GcContext } from './gc.js';
import { chunks, parallel } from './tx.js';

/** Byte deletes whose fence is still raised (a run crashed between commit and delete). */
export async function finishPendingDeletions(ctx: GcContext): Promise<void> {
  const pending = await ctx.read((db) => db.selectFrom('blob_deletions').select('digest').where('pending', '=', 1).execute());
  for (const batch of chunks(pending.map((p) => p.digest as Digest), 500)) {
    const present = new Set((await ctx.read((db) => db.selectFrom('blobs').select('digest').where('digest', 'in', batch).execute())).map((r) => r.digest));
    // A blob row cannot appear while the fence is raised (upload commits refuse), but be strict.
    await ctx.deleteBytes(batch.filter((d) => !present.has(d)));
  }
}

/**
 * Removes upload sessions untouched for longer than the upload max age, and their bytes (the
 * one place uploads expire). A session with a held write lease is being written and stays.
 */
export async function expireUploads(ctx: GcContext): Promise<void> {
  const before = ctx.now - ctx.uploadMaxAgeMs;
  const stale = await ctx.read((db) => db.selectFrom('uploads').select(['id', 'handle', 'byte_offset']).where('updated_at', '<', before).execute());
  const gone = await ctx.write(async (db) => {
    const out: typeof stale = [];
    for (const u of stale) {
      // A session whose write lease is held has a chunk streaming right now (on any node).
      const r = await db
        .deleteFrom('uploads')
        .where('id', '=', u.id)
        .where('updated_at', '<', before)
        .where((eb) => eb.or([eb('writer', 'is', null), eb('writer_until', '<', ctx.now)]))
        .executeTakeFirst();
      if (Number(r.numDeletedRows) > 0) out.push(u);
    }
    return out;
  });
  for (const u of gone) ctx.removed('upload', { repository: '', digest: u.id, size: Number(u.byte_offset) });
  if (!ctx.dryRun) await parallel(gone, 8, (u) => ctx.blobs.deleteUpload(u.id, u.handle));

  // Upload bytes with no session row (a crash between creating the file and the row, or a
  // session removed while its bytes stayed), once older than the max age.
  const known = new Set((await ctx.read((db) => db.selectFrom('uploads').select('id').execute())).map((r) => r.id));
  const strays: string[] = [];
  for await (const u of ctx.blobs.listUploads()) {
    if (!known.has(u.id) && u.modifiedAt.getTime() < before && !gone.some((g) => g.id === u.id)) strays.push(u.id);
  }
  for (const id of strays) ctx.removed('upload', { repository: '', digest: id, size: 0 });
  if (!ctx.dryRun) await parallel(strays, 8, (id) => ctx.blobs.deleteUpload(id, ''));
}

/** Lists the blob store and queues bytes without a blob row for review. */
export async function scanStorage(ctx: GcContext): Promise<void> {
  let batch: Digest[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const digests = batch;
    batch = [];
    await ctx.write(async (db) => {
      const present = new Set((await db.selectFrom('blobs').select('digest').where('digest', 'in', digests).execute()).map((r) => r.digest));
      // Bytes already being deleted (fence raised) are not orphans.
      for (const r of await db.selectFrom('blob_deletions').select('digest').where('digest', 'in', digests).where('pending', '=', 1).execute()) present.add(r.digest);
      const orphans = digests.filter((d) => !present.has(d));
      if (orphans.length === 0) return;
      await db
        .insertInto('gc_reviews')
        .values(orphans.map((digest) => ({ kind: 'orphan' as const, repository_id: 0, digest, queued_at: ctx.now, not_before: ctx.now + ctx.graceMs })))
        .onConflict((oc) => oc.columns(['kind', 'repository_id', 'digest']).doNothing())
        .execute();
    });
  };
  for await (const b of ctx.blobs.list()) {
    batch.push(b.digest);
    if (batch.length >= 500) await flush();
  }
  await flush();
}
