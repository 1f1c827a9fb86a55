/** Repository rows: created on first use, listed for the catalog. */
import type { Kysely } from 'kysely';
import { projectOf, type RepoName } from '../../domain/names.js';
import type { Dialect } from '../migrations/index.js';
import type { RepositoryQueries } from '../store.js';
import type { Database } from '../tables.js';
import { PreparedQuery } from './prepared.js';
import { forgetUnheldResults } from './scan-results.js';

/** A repository's id by name: a push asks four or five times per image (prepared.ts). */
const REPOSITORY_ID = new PreparedQuery((db: Kysely<Database>, name: string) => db.selectFrom('repositories').select('id').where('name', '=', name));

export class SqlRepositories implements RepositoryQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async list(after: string | undefined, limit: number): Promise<string[]> {
    let q = this.db.selectFrom('repositories').select('name').orderBy('name').limit(limit);
    if (after !== undefined) q = q.where('name', '>', after);
    return (await q.execute()).map((r) => r.name);
  }

  async exists(name: RepoName): Promise<boolean> {
    return (await repositoryId(this.db, this.dialect, name)) !== undefined;
  }

  async delete(name: RepoName): Promise<boolean> {
    const id = await repositoryId(this.db, this.dialect, name);
    if (id === undefined) return false;
    // Index -> child edges and tags go first: PostgreSQL checks the plain foreign keys on
    // them (child_id, manifest_id) before its cascades have removed the rows, so the
    // cascade alone fails there. Manifests, their blob edges and blob links then cascade.
    await this.db.deleteFrom('manifest_children').where('parent_id', 'in', this.db.selectFrom('manifests').select('id').where('repository_id', '=', id)).execute();
    await this.db.deleteFrom('tags').where('repository_id', '=', id).execute();
    const digests = (await this.db.selectFrom('manifests').select('digest').where('repository_id', '=', id).execute()).map((m) => m.digest);
    const r = await this.db.deleteFrom('repositories').where('id', '=', id).executeTakeFirst();
    // Scan results of images no other repository holds go with them.
    await forgetUnheldResults(this.db, digests);
    return Number(r.numDeletedRows) > 0;
  }
}

export async function repositoryId(db: Kysely<Database>, dialect: Dialect, name: string): Promise<number | undefined> {
  const row = await REPOSITORY_ID.executeTakeFirst(db, dialect, name);
  return row === undefined ? undefined : Number(row.id);
}

/** The id of a repository, creating its row if needed. */
export async function ensureRepository(db: Kysely<Database>, dialect: Dialect, name: RepoName, now: number): Promise<number> {
  const existing = await repositoryId(db, dialect, name);
  if (existing !== undefined) return existing;
  await db
    .insertInto('repositories')
    .values({ name, project: projectOf(name), created_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  return (await repositoryId(db, dialect, name))!;
}
