/** Manifest rows and the graph they form: manifest -> blob and index -> child manifest edges. */
import type { Kysely } from 'kysely';
import type { Digest, RepoName, Reference } from '../../domain/names.js';
import type { ManifestQueries, ManifestRecord, NewManifest, ReferrerRecord } from '../store.js';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';
import { PreparedQuery } from './prepared.js';
import { ensureRepository, repositoryId } from './repositories.js';
import { forgetUnheldResults } from './scan-results.js';

/**
 * Lists bound into one statement are cut into parts of this many values: SQLite refuses more
 * than 32,766 variables in a statement and PostgreSQL more than 65,535 parameters, whatever
 * size of manifest the registry lets through.
 */
const CHUNK = 1000;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** A manifest of a repository with what a read needs of it (every manifest read not served from the cache, and a push's checks). */
const manifestOf = (db: Kysely<Database>, repo: string) =>
  db
    .selectFrom('manifests as m')
    .innerJoin('repositories as r', 'r.id', 'm.repository_id')
    .select(['m.digest', 'm.media_type', 'm.artifact_type', 'm.subject_digest', 'm.size', 'm.content', 'm.pushed_at'])
    .where('r.name', '=', repo);
const MANIFEST_BY_DIGEST = new PreparedQuery((db: Kysely<Database>, repo: string, digest: string) => manifestOf(db, repo).where('m.digest', '=', digest));
const MANIFEST_BY_TAG = new PreparedQuery((db: Kysely<Database>, repo: string, tag: string) =>
  manifestOf(db, repo)
    .innerJoin('tags as t', (j) => j.onRef('t.manifest_id', '=', 'm.id').onRef('t.repository_id', '=', 'm.repository_id'))
    .where('t.name', '=', tag),
);

// What every manifest push writes and checks (prepared.ts).
const INSERT = new PreparedQuery(
  (db: Kysely<Database>, repositoryId: number, digest: string, mediaType: string, artifactType: string | null, subject: string | null, size: number, content: Buffer, annotations: string | null, now: number) =>
    db
      .insertInto('manifests')
      .values({ repository_id: repositoryId, digest, media_type: mediaType, artifact_type: artifactType, subject_digest: subject, size, content, annotations, pushed_at: now, last_pulled_at: null })
      .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
      .returning('id'),
);
const MANIFEST_ROW = new PreparedQuery((db: Kysely<Database>, repo: string, digest: string) =>
  db
    .selectFrom('manifests as m')
    .innerJoin('repositories as r', 'r.id', 'm.repository_id')
    .select(['m.id', 'm.repository_id', 'm.pushed_at'])
    .where('r.name', '=', repo)
    .where('m.digest', '=', digest),
);
const LINK_BLOBS = new PreparedQuery((db: Kysely<Database>, manifestId: number, digests: string[]) =>
  db.insertInto('manifest_blobs').values(digests.map((digest) => ({ manifest_id: manifestId, digest }))),
);
/** Which of `digests` the repository serves (linked, or referenced by one of its manifests). */
const SERVED_BLOBS = new PreparedQuery((db: Kysely<Database>, repositoryId: number, digests: string[]) =>
  db
    .selectFrom('repository_blobs')
    .select('digest')
    .where('repository_id', '=', repositoryId)
    .where('digest', 'in', digests)
    .union(
      db
        .selectFrom('manifest_blobs as mb')
        .innerJoin('manifests as m', 'm.id', 'mb.manifest_id')
        .select('mb.digest')
        .where('m.repository_id', '=', repositoryId)
        .where('mb.digest', 'in', digests),
    ),
);
const MANIFESTS_AMONG = new PreparedQuery((db: Kysely<Database>, repo: string, digests: string[]) =>
  db.selectFrom('manifests as m').innerJoin('repositories as r', 'r.id', 'm.repository_id').select('m.digest').where('r.name', '=', repo).where('m.digest', 'in', digests),
);
const TOUCH_PUSHED = new PreparedQuery((db: Kysely<Database>, id: number, now: number) => db.updateTable('manifests').set({ pushed_at: now }).where('id', '=', id));

export class SqlManifests implements ManifestQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async get(repo: RepoName, ref: Reference): Promise<ManifestRecord | undefined> {
    const row =
      ref.kind === 'digest'
        ? await MANIFEST_BY_DIGEST.executeTakeFirst(this.db, this.dialect, repo, ref.digest)
        : await MANIFEST_BY_TAG.executeTakeFirst(this.db, this.dialect, repo, ref.tag);
    return (
      row && {
        digest: row.digest as Digest,
        mediaType: row.media_type,
        artifactType: row.artifact_type,
        subject: row.subject_digest as Digest | null,
        size: Number(row.size),
        content: Buffer.from(row.content),
        pushedAt: Number(row.pushed_at),
      }
    );
  }

  async insert(repo: RepoName, m: NewManifest, now: number): Promise<boolean> {
    const repositoryId = await ensureRepository(this.db, this.dialect, repo, now);
    const annotations = m.annotations ? JSON.stringify(m.annotations) : null;
    const inserted = await INSERT.executeTakeFirst(this.db, this.dialect, repositoryId, m.digest, m.mediaType, m.artifactType, m.subject, m.content.length, m.content, annotations, now);
    if (!inserted) return false;
    const id = Number(inserted.id);
    for (const blobs of chunks([...new Set(m.blobs)])) await LINK_BLOBS.run(this.db, this.dialect, id, blobs);
    for (const children of chunks([...new Set(m.children)])) {
      const rows = await this.db.selectFrom('manifests').select('id').where('repository_id', '=', repositoryId).where('digest', 'in', children).execute();
      if (rows.length > 0) await this.db.insertInto('manifest_children').values(rows.map((r) => ({ parent_id: id, child_id: Number(r.id) }))).execute();
    }
    return true;
  }

  async missingBlobs(repo: RepoName, digests: Digest[]): Promise<Digest[]> {
    const wanted = [...new Set(digests)];
    if (wanted.length === 0) return [];
    const id = await repositoryId(this.db, this.dialect, repo);
    if (id === undefined) return wanted;
    const found = new Set<string>();
    for (const part of chunks(wanted)) for (const r of await SERVED_BLOBS.execute(this.db, this.dialect, id, part)) found.add(r.digest);
    return wanted.filter((d) => !found.has(d));
  }

  async missingManifests(repo: RepoName, digests: Digest[]): Promise<Digest[]> {
    const wanted = [...new Set(digests)];
    if (wanted.length === 0) return [];
    const found = new Set<string>();
    for (const part of chunks(wanted)) for (const r of await MANIFESTS_AMONG.execute(this.db, this.dialect, repo, part)) found.add(r.digest);
    return wanted.filter((d) => !found.has(d));
  }

  async parents(repo: RepoName, digest: Digest): Promise<Digest[]> {
    const rows = await this.db
      .selectFrom('manifest_children as mc')
      .innerJoin('manifests as child', 'child.id', 'mc.child_id')
      .innerJoin('manifests as parent', 'parent.id', 'mc.parent_id')
      .innerJoin('repositories as r', 'r.id', 'child.repository_id')
      .select('parent.digest')
      .where('r.name', '=', repo)
      .where('child.digest', '=', digest)
      .execute();
    return rows.map((r) => r.digest as Digest);
  }

  async delete(repo: RepoName, digest: Digest): Promise<boolean> {
    const row = await manifestRow(this.db, this.dialect, repo, digest);
    if (!row) return false;
    await deleteManifestRows(this.db, row.id);
    return true;
  }

  async referrers(repo: RepoName, subject: Digest, page: { artifactType?: string | undefined; after?: string | undefined; limit: number }): Promise<ReferrerRecord[]> {
    let q = this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['m.digest', 'm.media_type', 'm.artifact_type', 'm.size', 'm.annotations'])
      .where('r.name', '=', repo)
      .where('m.subject_digest', '=', subject)
      .orderBy('m.digest')
      .limit(page.limit);
    if (page.artifactType !== undefined) q = q.where('m.artifact_type', '=', page.artifactType);
    if (page.after !== undefined) q = q.where('m.digest', '>', page.after);
    const rows = await q.execute();
    return rows.map((r) => ({
      digest: r.digest as Digest,
      mediaType: r.media_type,
      artifactType: r.artifact_type,
      size: Number(r.size),
      annotations: r.annotations ? (JSON.parse(r.annotations) as Record<string, string>) : null,
    }));
  }

  async touchPushed(repo: RepoName, digest: Digest, now: number): Promise<void> {
    const row = await manifestRow(this.db, this.dialect, repo, digest);
    if (row && row.pushedAt < now) await TOUCH_PUSHED.run(this.db, this.dialect, row.id, now);
  }

  async touchPulled(pulls: { repo: RepoName; digest: Digest; at: number }[]): Promise<void> {
    for (const p of pulls) {
      const id = await repositoryId(this.db, this.dialect, p.repo);
      if (id === undefined) continue;
      await this.db.updateTable('manifests').set({ last_pulled_at: p.at }).where('repository_id', '=', id).where('digest', '=', p.digest).execute();
    }
  }
}

/**
 * The manifest delete cascade, the one place it is written: the tags pointing at the
 * manifest, its blob and child edges, then its row. (The edges to it as a child, and a
 * repository's deletion, are the callers' business: a manifest still listed by an index is
 * not deleted by the registry or by garbage collection.)
 */
export async function deleteManifestRows(db: Kysely<Database>, id: number): Promise<void> {
  const row = await db.selectFrom('manifests').select('digest').where('id', '=', id).executeTakeFirst();
  await db.deleteFrom('tags').where('manifest_id', '=', id).execute();
  await db.deleteFrom('manifest_blobs').where('manifest_id', '=', id).execute();
  await db.deleteFrom('manifest_children').where('parent_id', '=', id).execute();
  await db.deleteFrom('manifests').where('id', '=', id).execute();
  // Scan results are per digest: they go with the last repository's copy of the manifest.
  if (row) await forgetUnheldResults(db, [row.digest]);
}

/** The row of a repository's manifest: its id, its repository's id and its push time. */
export async function manifestRow(db: Kysely<Database>, dialect: Dialect, repo: string, digest: string): Promise<{ id: number; repositoryId: number; pushedAt: number } | undefined> {
  const row = await MANIFEST_ROW.executeTakeFirst(db, dialect, repo, digest);
  return row && { id: Number(row.id), repositoryId: Number(row.repository_id), pushedAt: Number(row.pushed_at) };
}
