/**
 * The mark phase of garbage collection: finds objects nothing references right now and queues
 * them for review (insert-if-absent, so an object keeps its first "queued at" time while it
 * stays queued). Nothing is deleted here; the sweep re-checks every row before deleting.
 *
 * Manifests are marked in memory from one snapshot of the graph (100,000 manifests are a few
 * MB): the live set is the closure of the roots (tagged, held by an unexpired or restored trash
 * entry, untagged ones a project keeps) over index -> child edges and subject -> referrer
 * edges (`liveManifests`, a pure function). Links and blobs are marked by set-based queries
 * of the store (GcQueries.markLinks / markBlobs).
 */
import type { ManifestGraph, Review, TrashHold } from '../metadata/gc-store.js';
import type { MetadataQueries } from '../metadata/store.js';
import type { GcPolicy } from './gc.js';
import { chunks } from './batches.js';

/** Queues unreferenced manifests; returns how many rows were newly queued. */
export async function markManifests(q: MetadataQueries, policy: GcPolicy, now: number, graceMs: number): Promise<number> {
  const graph = await q.gc.manifestGraph();
  if (graph.manifests.length === 0) return 0;
  const live = liveManifests(graph, policy, now);
  const garbage: Review[] = graph.manifests.filter((n) => !live.has(n.id)).map((n) => ({ repositoryId: n.repositoryId, digest: n.digest }));
  return q.gc.queueManifests(garbage, now, graceMs);
}

/** The roots of the manifest graph: what keeps a manifest alive by itself. */
function roots(graph: ManifestGraph, policy: GcPolicy, now: number): number[] {
  const out: number[] = [...graph.tagged];
  // A trash entry holds its manifest until it expires; an expired one releases the manifest
  // to collection even where the project otherwise keeps untagged manifests.
  const released = new Set<number>();
  for (const h of graph.trash) {
    if (holds(h.entry, now)) out.push(h.manifestId);
    else if (h.entry.restoredAt === null) released.add(h.manifestId);
  }
  // Recently pushed manifests are queued too: the sweep's re-check keeps one pushed (or
  // re-pushed) within the grace period, and the row is only due a grace period from now.
  for (const n of graph.manifests) if (!policy.deleteUntagged(n.project) && !released.has(n.id)) out.push(n.id);
  if (policy.orphanReferrers === 'keep') for (const n of graph.manifests) if (n.subject) out.push(n.id);
  return out;
}

/** Ids of the manifests reachable from the roots over child and referrer edges. */
export function liveManifests(graph: ManifestGraph, policy: GcPolicy, now: number): Set<number> {
  const nodes = new Map(graph.manifests.map((n) => [n.id, n]));
  const referrersOf = new Map<string, number[]>();
  for (const n of graph.manifests) {
    if (!n.subject) continue;
    const key = `${n.repositoryId}@${n.subject}`;
    const list = referrersOf.get(key);
    if (list) list.push(n.id);
    else referrersOf.set(key, [n.id]);
  }
  const children = new Map<number, number[]>();
  for (const e of graph.children) {
    const list = children.get(e.parentId);
    if (list) list.push(e.childId);
    else children.set(e.parentId, [e.childId]);
  }
  const live = new Set<number>();
  const stack = roots(graph, policy, now).filter((id) => nodes.has(id));
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    const n = nodes.get(id)!;
    for (const c of children.get(id) ?? []) if (!live.has(c)) stack.push(c);
    for (const r of referrersOf.get(`${n.repositoryId}@${n.digest}`) ?? []) if (!live.has(r)) stack.push(r);
  }
  return live;
}

/**
 * Whether a trash entry keeps its manifest: until it expires; once restored, a tag entry no
 * longer does (the restored tag holds the manifest itself) while an untagged manifest
 * restored from the trash is kept for good.
 */
export function holds(t: TrashHold, now: number): boolean {
  return t.restoredAt === null ? t.expiresAt > now : t.tag === null;
}

/**
 * Later rounds of one run mark only what the previous round's sweep released (links and blobs
 * of deleted manifests, blobs of deleted links) instead of scanning everything again.
 */
export async function markReleased(q: MetadataQueries, now: number, graceMs: number, released: Released): Promise<void> {
  for (const [repositoryId, digests] of released.links) {
    for (const batch of chunks([...digests], 500)) await q.gc.markLinks(now, graceMs, { repositoryId, digests: batch });
  }
  for (const batch of chunks([...released.blobs], 500)) await q.gc.markBlobs(now, graceMs, batch);
}

/** What a sweep round released: links per repository id, and blob digests. */
export interface Released {
  links: Map<number, Set<string>>;
  blobs: Set<string>;
}

export function newReleased(): Released {
  return { links: new Map(), blobs: new Set() };
}
