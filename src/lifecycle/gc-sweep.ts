/**
 * The sweep phase of garbage collection: takes due reviews in batches and, in one write
 * transaction per batch, locks each object (the store's `lock*` methods: FOR UPDATE on
 * PostgreSQL; on SQLite the transaction holds the write lock), re-checks that nothing
 * references it, and deletes its rows. A push that started referencing the object makes the
 * re-check fail and wins. Blob bytes are deleted only after the transaction that removed the
 * blob row and raised its byte-deletion fence has committed (see gc.ts for why that ordering
 * is safe). The re-checks themselves are the pure functions `manifestCollectable`,
 * `linkCollectable` and `blobCollectable`.
 */
import type { LockedManifest, Review, ReviewKind } from '../metadata/gc-store.js';
import type { MetadataQueries } from '../metadata/store.js';
import type { Digest } from '../domain/names.js';
import type { GcContext, GcPolicy, RemovedItem } from './gc.js';
import { holds } from './gc-mark.js';

/** The clock and rules a re-check applies. */
export interface SweepRules {
  now: number;
  graceMs: number;
  policy: GcPolicy;
}

/**
 * Whether a manifest read under lock may go: pushed before the grace period, no tag, no
 * parent index, no trash entry holding it, untagged manifests of its project collectable (or
 * released from the trash), and a referrer only once its subject is gone and orphaned
 * referrers are collected.
 */
export function manifestCollectable(m: LockedManifest, r: SweepRules): boolean {
  if (m.pushedAt > r.now - r.graceMs) return false;
  if (m.tagged || m.hasParent) return false;
  if (m.trash.some((t) => holds(t, r.now))) return false;
  const released = m.trash.some((t) => t.restoredAt === null);
  if (!released && !r.policy.deleteUntagged(m.project)) return false;
  if (m.subject !== null && (r.policy.orphanReferrers === 'keep' || m.subjectPresent)) return false;
  return true;
}

/** Whether a link read under lock may go: made before the grace period, unused by the repository's manifests. */
export function linkCollectable(l: { createdAt: number; used: boolean }, r: Pick<SweepRules, 'now' | 'graceMs'>): boolean {
  return l.createdAt <= r.now - r.graceMs && !l.used;
}

/** Whether a blob read under lock may go: stored before the grace period, unreferenced. */
export function blobCollectable(b: { createdAt: number; used: boolean }, r: Pick<SweepRules, 'now' | 'graceMs'>): boolean {
  return b.createdAt <= r.now - r.graceMs && !b.used;
}

/**
 * Due reviews of one kind, oldest first: queued at least one grace period (this run's, which
 * `--grace` may override) ago.
 */
function due(ctx: GcContext, kind: ReviewKind): Promise<Review[]> {
  return ctx.read((q) => q.gc.due(kind, ctx.now - ctx.graceMs, ctx.batchSize));
}

export function countDue(q: MetadataQueries, ctx: GcContext): Promise<number> {
  return q.gc.countDue(ctx.now - ctx.graceMs);
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

/** One transaction over a batch of due manifests: re-check each under lock, delete those that may go. */
async function sweepManifestBatch(q: MetadataQueries, ctx: GcContext, batch: Review[]): Promise<Swept> {
  const out: Swept = { removed: [], released: new Map() };
  for (const c of batch) {
    await q.gc.dropReviews('manifest', c.repositoryId, [c.digest]);
    const m = await q.gcSweep.lockManifest(c.repositoryId, c.digest);
    if (!m || !manifestCollectable(m, ctx)) continue;
    const edges = await q.gcSweep.deleteManifest(m);
    out.released.set(c.repositoryId, [...(out.released.get(c.repositoryId) ?? []), ...edges]);
    out.removed.push({ repository: m.repository, digest: c.digest, size: m.size });
  }
  return out;
}

/** Re-checks and deletes due manifests; returns how many were deleted. */
export async function sweepManifests(ctx: GcContext): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await due(ctx, 'manifest');
    if (batch.length === 0) return deleted;
    const swept = await ctx.write((q) => sweepManifestBatch(q, ctx, batch));
    deleted += release(ctx, 'manifest', swept);
    for (const r of new Set(swept.removed.map((m) => m.repository))) await ctx.changed(r);
    ctx.advance(batch.length);
  }
}

/** One transaction over a batch of due links, set-based per repository. */
async function sweepLinkBatch(q: MetadataQueries, ctx: GcContext, batch: Review[]): Promise<Swept> {
  const out: Swept = { removed: [], released: new Map() };
  const byRepo = new Map<number, string[]>();
  for (const c of batch) {
    const list = byRepo.get(c.repositoryId);
    if (list) list.push(c.digest);
    else byRepo.set(c.repositoryId, [c.digest]);
  }
  const names = await q.gcSweep.repositoryNames([...byRepo.keys()]);
  for (const [repositoryId, digests] of byRepo) {
    await q.gc.dropReviews('link', repositoryId, digests);
    const links = await q.gcSweep.lockLinks(repositoryId, digests);
    const gone = links.filter((l) => linkCollectable(l, ctx)).map((l) => l.digest);
    if (gone.length === 0) continue;
    await q.gcSweep.deleteLinks(repositoryId, gone);
    out.released.set(repositoryId, gone);
    for (const d of gone) out.removed.push({ repository: names.get(repositoryId) ?? String(repositoryId), digest: d, size: 0 });
  }
  return out;
}

/** Re-checks and deletes due repository -> blob links. */
export async function sweepLinks(ctx: GcContext): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await due(ctx, 'link');
    if (batch.length === 0) return deleted;
    const swept = await ctx.write((q) => sweepLinkBatch(q, ctx, batch));
    deleted += release(ctx, 'link', swept);
    ctx.advance(batch.length);
  }
}

/** Re-checks and deletes due blobs: rows and fence in one transaction, then the bytes. */
export async function sweepBlobs(ctx: GcContext): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await due(ctx, 'blob');
    if (batch.length === 0) return deleted;
    const gone = await ctx.write(async (q) => {
      const digests = batch.map((c) => c.digest);
      await q.gc.dropReviews('blob', 0, digests);
      // An upload recording one of these blobs right now holds its fence row: wait for it.
      await q.fences.lock(digests, ctx.now);
      const out = (await q.gcSweep.lockBlobs(digests)).filter((b) => blobCollectable(b, ctx)).map((b) => ({ digest: b.digest, size: b.size }));
      await q.gcSweep.deleteBlobs(out.map((b) => b.digest), ctx.now);
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
    const batch = await due(ctx, 'orphan');
    if (batch.length === 0) return deleted;
    const gone = await ctx.write(async (q) => {
      const digests = batch.map((c) => c.digest);
      await q.gc.dropReviews('orphan', 0, digests);
      // An upload recording one of these blobs right now holds its fence row: wait for it.
      await q.fences.lock(digests, ctx.now);
      const present = await q.gcSweep.existingBlobs(digests);
      const out = digests.filter((d) => !present.has(d)) as Digest[];
      await q.fences.raise(out, ctx.now);
      return out;
    });
    for (const d of gone) ctx.removed('orphan', { repository: '', digest: d, size: (await ctx.stat(d)) ?? 0 });
    await ctx.deleteBytes(gone);
    deleted += gone.length;
    ctx.advance(batch.length);
  }
}
