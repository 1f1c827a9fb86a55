/**
 * The mark phase of garbage collection: finds objects nothing references right now and queues
 * them in `gc_reviews` (insert-if-absent, so an object keeps its first "queued at" time while
 * it stays queued). Nothing is deleted here; the sweep re-checks every row before deleting.
 *
 * Manifests are marked in memory from one snapshot of the graph (100,000 manifests are a few
 * MB): the live set is the closure of the roots (tagged, held by an unexpired or restored trash
 * entry, untagged ones a project keeps) over index -> child
 * edges and subject -> referrer edges. Links and blobs are marked with set-based SQL.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../metadata/tables.js';
import type { GcPolicy } from './gc.js';
import { chunks } from './tx.js';

interface ManifestNode {
  id: number;
  repositoryId: number;
  digest: string;
  subject: string | null;
  project: string;
}

/** Queues unreferenced manifests; returns how many rows were newly queued. */
export async function markManifests(db: Kysely<Database>, policy: GcPolicy, now: number, graceMs: number): Promise<number> {
  const rows = await db
    .selectFrom('manifests as m')
    .innerJoin('repositories as r', 'r.id', 'm.repository_id')
    .select(['m.id', 'm.repository_id', 'm.digest', 'm.subject_digest', 'm.pushed_at', 'r.project', 'r.name'])
    .execute();
  if (rows.length === 0) return 0;
  const nodes = new Map<number, ManifestNode>();
  const byRepoDigest = new Map<string, number>();
  const referrersOf = new Map<string, number[]>();
  const roots: number[] = [];
  const keptUntagged: number[] = [];
  for (const r of rows) {
    const id = Number(r.id);
    const n: ManifestNode = { id, repositoryId: Number(r.repository_id), digest: r.digest, subject: r.subject_digest, project: r.project };
    nodes.set(id, n);
    byRepoDigest.set(`${n.repositoryId}@${n.digest}`, id);
    if (n.subject) {
      const key = `${n.repositoryId}@${n.subject}`;
      const list = referrersOf.get(key);
      if (list) list.push(id);
      else referrersOf.set(key, [id]);
    }
    // Recently pushed manifests are queued too: the sweep's re-check keeps one pushed (or
    // re-pushed) within the grace period, and the row is only due a grace period from now.
    if (!policy.deleteUntagged(r.project)) keptUntagged.push(id);
  }
  for (const t of await db.selectFrom('tags').select('manifest_id').distinct().execute()) roots.push(Number(t.manifest_id));
  const held = await db
    .selectFrom('trash as t')
    .innerJoin('repositories as r', 'r.name', 't.repository')
    .innerJoin('manifests as m', (j) => j.onRef('m.repository_id', '=', 'r.id').onRef('m.digest', '=', 't.digest'))
    .select(['m.id', 't.tag', 't.expires_at', 't.restored_at'])
    .execute();
  // A trash entry holds its manifest until it expires; an expired one releases the manifest
  // to collection even where the project otherwise keeps untagged manifests.
  const released = new Set<number>();
  for (const h of held) {
    if (holds(h, now)) roots.push(Number(h.id));
    else if (h.restored_at === null) released.add(Number(h.id));
  }
  for (const id of keptUntagged) if (!released.has(id)) roots.push(id);
  if (policy.orphanReferrers === 'keep') for (const n of nodes.values()) if (n.subject) roots.push(n.id);

  const children = new Map<number, number[]>();
  for (const e of await db.selectFrom('manifest_children').select(['parent_id', 'child_id']).execute()) {
    const p = Number(e.parent_id);
    const list = children.get(p);
    if (list) list.push(Number(e.child_id));
    else children.set(p, [Number(e.child_id)]);
  }

  const live = new Set<number>();
  const stack = roots.filter((id) => nodes.has(id));
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    const n = nodes.get(id)!;
    for (const c of children.get(id) ?? []) if (!live.has(c)) stack.push(c);
    for (const r of referrersOf.get(`${n.repositoryId}@${n.digest}`) ?? []) if (!live.has(r)) stack.push(r);
  }

  const garbage = [...nodes.values()].filter((n) => !live.has(n.id));
  let queued = 0;
  for (const batch of chunks(garbage, 500)) {
    const r = await db
      .insertInto('gc_reviews')
      .values(batch.map((n) => ({ kind: 'manifest' as const, repository_id: n.repositoryId, digest: n.digest, queued_at: now, not_before: now + graceMs })))
      .onConflict((oc) => oc.columns(['kind', 'repository_id', 'digest']).doNothing())
      .executeTakeFirst();
    queued += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  return queued;
}

/**
 * Queues links (repository -> blob) that no manifest of the repository references; all of
 * them, or only those of `only` (repository id and digests released by a sweep).
 */
export async function markLinks(db: Kysely<Database>, now: number, graceMs: number, only?: { repositoryId: number; digests: string[] }): Promise<number> {
  const r = await db
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

/** Queues blobs that no link and no manifest references (all, or only those in `only`). */
export async function markBlobs(db: Kysely<Database>, now: number, graceMs: number, only?: string[]): Promise<number> {
  const r = await db
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

/** A typed numeric parameter (PostgreSQL would read a bare parameter in a SELECT list as text). */
function bigint(n: number) {
  return sql<number>`cast(${n} as bigint)`;
}

/**
 * Whether a trash entry keeps its manifest: until it expires; once restored, a tag entry no
 * longer does (the restored tag holds the manifest itself) while an untagged manifest
 * restored from the trash is kept for good.
 */
export function holds(t: { tag: string | null; expires_at: number; restored_at: number | null }, now: number): boolean {
  return t.restored_at === null ? Number(t.expires_at) > now : t.tag === null;
}

/**
 * Later rounds of one run mark only what the previous round's sweep released (links and blobs
 * of deleted manifests, blobs of deleted links) instead of scanning everything again.
 */
export async function markReleased(db: Kysely<Database>, now: number, graceMs: number, released: Released): Promise<void> {
  for (const [repositoryId, digests] of released.links) {
    for (const batch of chunks([...digests], 500)) await markLinks(db, now, graceMs, { repositoryId, digests: batch });
  }
  for (const batch of chunks([...released.blobs], 500)) await markBlobs(db, now, graceMs, batch);
}

/** What a sweep round released: links per repository id, and blob digests. */
export interface Released {
  links: Map<number, Set<string>>;
  blobs: Set<string>;
}

export function newReleased(): Released {
  return { links: new Map(), blobs: new Set() };
}
