/**
 * The storage side of garbage collection: finishing byte deletes a crashed run left pending,
 * expiring abandoned upload sessions (row, then their partial bytes), and finding stored
 * bytes no blob row accounts for (queued as `orphan` reviews, deleted by the sweep through
 * the same byte-deletion fence once they stayed orphaned for the grace period).
 */
import type { Digest } from '../domain/names.js';
import type { GcContext } from './gc.js';
import { chunks, parallel } from './batches.js';

/** Byte deletes whose fence is still raised (a run crashed between commit and delete). */
export async function finishPendingDeletions(ctx: GcContext): Promise<void> {
  const pending = await ctx.read((q) => q.fences.pending());
  for (const batch of chunks(pending, 500)) {
    const present = await ctx.read((q) => q.gcSweep.existingBlobs(batch));
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
  const stale = await ctx.read((q) => q.gcSweep.staleUploads(before));
  const gone = await ctx.write(async (q) => {
    const out: typeof stale = [];
    for (const u of stale) if (await q.gcSweep.expireUpload(u.id, before, ctx.now)) out.push(u);
    return out;
  });
  for (const u of gone) ctx.removed('upload', { repository: '', digest: u.id, size: u.offset });
  if (!ctx.dryRun) await parallel(gone, 8, (u) => ctx.blobs.deleteUpload(u.id, u.handle));
  await removeStrayUploads(ctx, before, new Set(gone.map((g) => g.id)));
}

/**
 * Upload bytes with no session row (a crash between creating the file and the row, or a
 * session removed while its bytes stayed), once older than the max age.
 */
async function removeStrayUploads(ctx: GcContext, before: number, justExpired: Set<string>): Promise<void> {
  const known = await ctx.read((q) => q.gcSweep.uploadIds());
  const strays: string[] = [];
  for await (const u of ctx.blobs.listUploads()) {
    if (!known.has(u.id) && u.modifiedAt.getTime() < before && !justExpired.has(u.id)) strays.push(u.id);
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
    await ctx.write((q) => q.gc.queueOrphans(digests, ctx.now, ctx.graceMs));
  };
  for await (const b of ctx.blobs.list()) {
    batch.push(b.digest);
    if (batch.length >= 500) await flush();
  }
  await flush();
}
