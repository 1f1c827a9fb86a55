/**
 * Read-only queries for the management API's repository views: repositories with tag and
 * manifest counts, sizes and push/pull times; tags with their manifest and total size. Kept
 * apart from the registry's MetadataStore because only the API needs these shapes.
 */
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';
import { manifestRow } from './manifests.js';
import { holdsContent, SqlUsage } from './usage.js';

export interface RepositoryRow {
  name: string;
  project: string;
  tagCount: number;
  manifestCount: number;
  sizeBytes: number;
  pushedAt: number | null;
  pulledAt: number | null;
}

export interface TagRow {
  name: string;
  digest: string;
  mediaType: string;
  content: Buffer;
  /** Manifest bytes + its blobs + (for indexes) its children and their blobs. */
  size: number;
  pushedAt: number;
  pulledAt: number | null;
}

function num(v: unknown): number {
  return Number(v ?? 0);
}

export class BrowseQueries {
  private readonly usage: SqlUsage;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {
    this.usage = new SqlUsage(db);
  }

  async repositories(f: { project?: string | undefined; q?: string | undefined; after?: string | undefined; limit: number }): Promise<RepositoryRow[]> {
    // Listed while it holds content, as usage counts it: one whose last tag was deleted and
    // whose images garbage collection removed is gone for its users.
    let q = this.db
      .selectFrom('repositories as r')
      .select(['r.id', 'r.name', 'r.project'])
      .where(holdsContent)
      .orderBy('r.name')
      .limit(f.limit);
    if (f.project !== undefined) q = q.where('r.project', '=', f.project);
    if (f.q) q = q.where('r.name', 'like', `%${f.q}%`); // `_` matches any character: broader, never narrower
    if (f.after !== undefined) q = q.where('r.name', '>', f.after);
    const rows = await q.execute();
    const out: RepositoryRow[] = [];
    for (const r of rows) out.push(await this.stats(Number(r.id), r.name, r.project));
    return out;
  }

  async repository(name: string): Promise<RepositoryRow | undefined> {
    const r = await this.db.selectFrom('repositories').select(['id', 'name', 'project']).where('name', '=', name).executeTakeFirst();
    return r && this.stats(Number(r.id), r.name, r.project);
  }

  /** Counts and size from the one usage query (UsageQueries.of), push and pull times beside it. */
  private async stats(id: number, name: string, project: string): Promise<RepositoryRow> {
    const usage = await this.usage.of({ repository: name });
    const times = await this.db
      .selectFrom('manifests')
      .select((eb) => [eb.fn.max('pushed_at').as('pushed_at'), eb.fn.max('last_pulled_at').as('pulled_at')])
      .where('repository_id', '=', id)
      .executeTakeFirst();
    return {
      name,
      project,
      tagCount: usage.tags,
      manifestCount: usage.manifests,
      sizeBytes: usage.bytes,
      pushedAt: times?.pushed_at == null ? null : num(times.pushed_at),
      pulledAt: times?.pulled_at == null ? null : num(times.pulled_at),
    };
  }

  async tags(repo: string, f: { q?: string | undefined; after?: string | undefined; limit: number }): Promise<TagRow[] | undefined> {
    const r = await this.db.selectFrom('repositories').select('id').where('name', '=', repo).executeTakeFirst();
    if (!r) return undefined;
    let q = this.db
      .selectFrom('tags as t')
      .innerJoin('manifests as m', 'm.id', 't.manifest_id')
      .select(['t.name', 't.updated_at', 'm.id', 'm.digest', 'm.media_type', 'm.content', 'm.pushed_at', 'm.last_pulled_at'])
      .where('t.repository_id', '=', Number(r.id))
      .orderBy('t.name')
      .limit(f.limit);
    if (f.q) q = q.where('t.name', 'like', `%${f.q}%`);
    if (f.after !== undefined) q = q.where('t.name', '>', f.after);
    const out: TagRow[] = [];
    for (const t of await q.execute()) {
      out.push({
        name: t.name,
        digest: t.digest,
        mediaType: t.media_type,
        content: Buffer.from(t.content),
        size: await this.totalSize(Number(t.id)),
        pushedAt: num(t.updated_at),
        pulledAt: t.last_pulled_at == null ? null : num(t.last_pulled_at),
      });
    }
    return out;
  }

  /** A manifest's bytes plus its distinct blobs, children included. */
  async totalSize(manifestId: number): Promise<number> {
    const r = await sql<{ total: unknown }>`
      select
        coalesce((select sum(size) from manifests where id = ${manifestId} or id in (select child_id from manifest_children where parent_id = ${manifestId})), 0)
        + coalesce((select sum(b.size) from blobs b where b.digest in (
            select digest from manifest_blobs where manifest_id = ${manifestId}
               or manifest_id in (select child_id from manifest_children where parent_id = ${manifestId}))), 0) as total`.execute(this.db);
    return num(r.rows[0]?.total);
  }

  async manifestInfo(repo: string, digest: string): Promise<{ id: number; tags: string[]; size: number } | undefined> {
    const m = await manifestRow(this.db, this.dialect, repo, digest);
    if (!m) return undefined;
    const tags = await this.db.selectFrom('tags').select('name').where('manifest_id', '=', m.id).orderBy('name').execute();
    return { id: m.id, tags: tags.map((t) => t.name), size: await this.totalSize(m.id) };
  }

  async blobSizes(digests: string[]): Promise<Map<string, number>> {
    if (digests.length === 0) return new Map();
    const rows = await this.db.selectFrom('blobs').select(['digest', 'size']).where('digest', 'in', digests).execute();
    return new Map(rows.map((r) => [r.digest, num(r.size)]));
  }
}
