/**
 * Helpers for lifecycle tests: an independent recount of usage from the raw tables (plain
 * JavaScript over full table dumps, sharing no code with src/metadata/sql/usage.ts), a full
 * pullability check of every tag over HTTP, and the "no garbage left" check.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/metadata/tables.js';
import type { BlobStore } from '../../src/storage/blob-store.js';

export interface Recount {
  bytes: number;
  blobs: number;
  manifests: number;
  repositories: number;
  tags: number;
}

/** Usage per project (or per repository with `by: 'repository'`), recomputed from scratch. */
export async function recount(db: Kysely<Database>, by: 'project' | 'repository' = 'project'): Promise<Map<string, Recount>> {
  const repos = await db.selectFrom('repositories').selectAll().execute();
  const blobs = new Map((await db.selectFrom('blobs').selectAll().execute()).map((b) => [b.digest, Number(b.size)]));
  const links = await db.selectFrom('repository_blobs').selectAll().execute();
  const manifests = await db.selectFrom('manifests').select(['id', 'repository_id', 'digest', 'size']).execute();
  const mblobs = await db.selectFrom('manifest_blobs').selectAll().execute();
  const tags = await db.selectFrom('tags').selectAll().execute();
  const projectOfRepo = new Map(repos.map((r) => [Number(r.id), by === 'project' ? r.project : r.name]));
  const manifestRepo = new Map(manifests.map((m) => [Number(m.id), Number(m.repository_id)]));
  const out = new Map<string, { blobs: Set<string>; manifests: Map<string, number>; repos: Set<number>; tags: number }>();
  const get = (p: string) => {
    let e = out.get(p);
    if (!e) out.set(p, (e = { blobs: new Set(), manifests: new Map(), repos: new Set(), tags: 0 }));
    return e;
  };
  for (const l of links) {
    const e = get(projectOfRepo.get(Number(l.repository_id))!);
    e.blobs.add(l.digest);
    e.repos.add(Number(l.repository_id));
  }
  for (const m of manifests) {
    const e = get(projectOfRepo.get(Number(m.repository_id))!);
    e.manifests.set(m.digest, Number(m.size));
    e.repos.add(Number(m.repository_id));
  }
  for (const mb of mblobs) get(projectOfRepo.get(manifestRepo.get(Number(mb.manifest_id))!)!).blobs.add(mb.digest);
  for (const t of tags) get(projectOfRepo.get(Number(t.repository_id))!).tags++;
  const result = new Map<string, Recount>();
  for (const [p, e] of out) {
    let bytes = 0;
    for (const d of e.blobs) bytes += blobs.get(d)!;
    for (const s of e.manifests.values()) bytes += s;
    result.set(p, { bytes, blobs: e.blobs.size, manifests: e.manifests.size, repositories: e.repos.size, tags: e.tags });
  }
  return result;
}

function sha256(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** GETs the manifest and, recursively, every blob and child it references; checks digests. */
export async function assertPullable(url: string, repo: string, ref: string, seen = new Set<string>()): Promise<void> {
  const r = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(r.status, 200, `manifest ${repo}:${ref} must be pullable, got ${r.status}`);
  const body = Buffer.from(await r.arrayBuffer());
  const digest = sha256(body);
  if (ref.includes(':')) assert.equal(digest, ref);
  if (seen.has(digest)) return;
  seen.add(digest);
  const doc = JSON.parse(body.toString()) as { config?: { digest: string }; layers?: { digest: string }[]; manifests?: { digest: string }[] };
  for (const d of [...(doc.config ? [doc.config.digest] : []), ...(doc.layers ?? []).map((l) => l.digest)]) {
    const b = await fetch(`${url}/v2/${repo}/blobs/${d}`);
    assert.equal(b.status, 200, `blob ${d} of ${repo}:${ref} must be pullable, got ${b.status}`);
    assert.equal(sha256(Buffer.from(await b.arrayBuffer())), d, `blob ${d} bytes must match its digest`);
  }
  for (const c of doc.manifests ?? []) await assertPullable(url, repo, c.digest, seen);
}

/** Every tag of every repository is fully pullable. Returns how many tags were checked. */
export async function assertAllTagsPullable(url: string, db: Kysely<Database>): Promise<number> {
  const rows = await db.selectFrom('tags as t').innerJoin('repositories as r', 'r.id', 't.repository_id').select(['r.name', 't.name as tag']).execute();
  for (const t of rows) await assertPullable(url, t.name, t.tag);
  return rows.length;
}

/** No blob row without a reference, no stored bytes without a row, every row's bytes present. */
export async function assertNoGarbage(db: Kysely<Database>, store: BlobStore): Promise<void> {
  const rows = await db.selectFrom('blobs').select(['digest', 'size']).execute();
  const referenced = new Set([
    ...(await db.selectFrom('repository_blobs').select('digest').execute()).map((r) => r.digest),
    ...(await db.selectFrom('manifest_blobs').select('digest').execute()).map((r) => r.digest),
  ]);
  for (const r of rows) assert.ok(referenced.has(r.digest), `blob ${r.digest} is unreferenced but was not collected`);
  const stored = new Map<string, number>();
  for await (const b of store.list()) stored.set(b.digest, b.size);
  for (const r of rows) assert.equal(stored.get(r.digest), Number(r.size), `blob ${r.digest} has a row but its bytes are missing`);
  const rowSet = new Set(rows.map((r) => r.digest));
  for (const d of stored.keys()) assert.ok(rowSet.has(d), `bytes of ${d} are stored without a blob row`);
}

/** Invariant 2 only: every blob row's bytes exist (safe to check while traffic runs). */
export async function assertRowsHaveBytes(db: Kysely<Database>, store: BlobStore): Promise<void> {
  for (const r of await db.selectFrom('blobs').select(['digest', 'size']).execute()) {
    const size = await store.stat(r.digest as never);
    assert.equal(size, Number(r.size), `blob ${r.digest} has a row but its bytes are missing`);
  }
}
