/** Tag rows: one per (repository, name), each pointing at one manifest of that repository. */
import type { Kysely } from 'kysely';
import type { Digest, RepoName, Tag } from '../../domain/names.js';
import type { Dialect } from '../migrations/index.js';
import type { TagQueries } from '../store.js';
import type { Database } from '../tables.js';
import { NotFoundError } from '../../errors/store.js';
import { manifestRow } from './manifests.js';
import { PreparedQuery } from './prepared.js';
import { repositoryId } from './repositories.js';

/** Points a tag at a manifest (every tagged push; prepared.ts). */
const SET = new PreparedQuery((db: Kysely<Database>, repositoryId: number, name: string, manifestId: number, now: number) =>
  db
    .insertInto('tags')
    .values({ repository_id: repositoryId, name, manifest_id: manifestId, updated_at: now })
    .onConflict((oc) => oc.columns(['repository_id', 'name']).doUpdateSet({ manifest_id: manifestId, updated_at: now })),
);

export class SqlTags implements TagQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async list(repo: RepoName, after: string | undefined, limit: number): Promise<string[] | undefined> {
    const id = await repositoryId(this.db, this.dialect, repo);
    if (id === undefined) return undefined;
    let q = this.db.selectFrom('tags').select('name').where('repository_id', '=', id).orderBy('name').limit(limit);
    if (after !== undefined) q = q.where('name', '>', after);
    return (await q.execute()).map((r) => r.name);
  }

  async set(repo: RepoName, tag: Tag, digest: Digest, now: number): Promise<void> {
    const m = await manifestRow(this.db, this.dialect, repo, digest);
    if (!m) throw new NotFoundError(`manifest ${digest} of ${repo}`);
    await SET.run(this.db, this.dialect, m.repositoryId, tag, m.id, now);
  }

  async delete(repo: RepoName, tag: Tag): Promise<boolean> {
    const id = await repositoryId(this.db, this.dialect, repo);
    if (id === undefined) return false;
    const r = await this.db.deleteFrom('tags').where('repository_id', '=', id).where('name', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** The repository's tags joined to their manifests (t, m). */
  private tagsWithManifests(repo: RepoName) {
    return this.db.selectFrom('tags as t').innerJoin('repositories as r', 'r.id', 't.repository_id').innerJoin('manifests as m', 'm.id', 't.manifest_id').where('r.name', '=', repo);
  }

  async digestOf(repo: RepoName, tag: string): Promise<Digest | undefined> {
    const row = await this.tagsWithManifests(repo).select('m.digest').where('t.name', '=', tag).executeTakeFirst();
    return row?.digest as Digest | undefined;
  }

  async pointingAt(repo: RepoName, digest: Digest): Promise<string[]> {
    const rows = await this.tagsWithManifests(repo).select('t.name').where('m.digest', '=', digest).execute();
    return rows.map((r) => r.name);
  }
}
