/**
 * Usage figures: not counters kept beside the graph but queries over it, so they are exact
 * after every delete, GC pass, retention run, restore or failed push, and cannot drift.
 */
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Digest } from '../../domain/names.js';
import type { Usage, UsageQueries, UsageScope } from '../lifecycle-store.js';
import type { Database } from '../tables.js';

function inScope(scope: UsageScope) {
  return 'project' in scope ? sql<boolean>`r.project = ${scope.project}` : sql<boolean>`r.name = ${scope.repository}`;
}

/** Digests the scope's links and manifests reference. */
function scopeDigests(db: Kysely<Database>, scope: UsageScope) {
  return db
    .selectFrom('repository_blobs as rb')
    .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
    .select('rb.digest')
    .where(inScope(scope))
    .union(
      db
        .selectFrom('manifest_blobs as mb')
        .innerJoin('manifests as m', 'm.id', 'mb.manifest_id')
        .innerJoin('repositories as r', 'r.id', 'm.repository_id')
        .select('mb.digest')
        .where(inScope(scope)),
    );
}

/**
 * The one rule for a repository that counts (in usage and quotas) and is listed: it holds
 * content, a manifest or a blob link. One whose images garbage collection removed is gone.
 * For a query over `repositories as r`.
 */
export function holdsContent(eb: ExpressionBuilder<Database & { r: Database['repositories'] }, 'r'>) {
  return eb.or([
    eb.exists(eb.selectFrom('manifests as m').select('m.id').whereRef('m.repository_id', '=', 'r.id')),
    eb.exists(eb.selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.repository_id', '=', 'r.id')),
  ]);
}

export class SqlUsage implements UsageQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async of(scope: UsageScope): Promise<Usage> {
    const db = this.db;
    const blobs = await db
      .selectFrom('blobs')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.coalesce(eb.fn.sum<number>('size'), sql<number>`0`).as('bytes')])
      .where('digest', 'in', scopeDigests(db, scope))
      .executeTakeFirstOrThrow();
    const manifests = await db
      .selectFrom((eb) =>
        eb.selectFrom('manifests as m').innerJoin('repositories as r', 'r.id', 'm.repository_id').select(['m.digest', 'm.size']).distinct().where(inScope(scope)).as('x'),
      )
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.coalesce(eb.fn.sum<number>('x.size'), sql<number>`0`).as('bytes')])
      .executeTakeFirstOrThrow();
    const repos = await db
      .selectFrom('repositories as r')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(inScope(scope))
      .where(holdsContent)
      .executeTakeFirstOrThrow();
    const tags = await db
      .selectFrom('tags as t')
      .innerJoin('repositories as r', 'r.id', 't.repository_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(inScope(scope))
      .executeTakeFirstOrThrow();
    const uploadBytes = await this.openUploadBytes(scope);
    const blobBytes = Number(blobs.bytes);
    const manifestBytes = Number(manifests.bytes);
    return {
      bytes: blobBytes + manifestBytes,
      blobBytes,
      manifestBytes,
      blobs: Number(blobs.n),
      manifests: Number(manifests.n),
      repositories: Number(repos.n),
      tags: Number(tags.n),
      uploadBytes,
    };
  }

  async byRepository(project: string): Promise<{ repository: string; usage: Usage }[]> {
    const repos = await this.db.selectFrom('repositories').select('name').where('project', '=', project).orderBy('name').execute();
    const out: { repository: string; usage: Usage }[] = [];
    for (const r of repos) {
      const u = await this.of({ repository: r.name });
      if (u.manifests > 0 || u.blobs > 0) out.push({ repository: r.name, usage: u });
    }
    return out;
  }

  async projects(): Promise<string[]> {
    return (await this.db.selectFrom('repositories').select('project').distinct().orderBy('project').execute()).map((r) => r.project);
  }

  async openUploadBytes(scope: UsageScope, except?: string): Promise<number> {
    let q = this.db.selectFrom('uploads').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('byte_offset'), sql<number>`0`).as('bytes'));
    q = 'project' in scope ? q.where('project', '=', scope.project) : q.where('repository', '=', scope.repository);
    if (except !== undefined) q = q.where('id', '!=', except);
    return Number((await q.executeTakeFirstOrThrow()).bytes);
  }

  async heldBlobSize(project: string, digest: Digest): Promise<number | undefined> {
    const held = await this.db.selectFrom('blobs').select('size').where('digest', '=', digest).where('digest', 'in', scopeDigests(this.db, { project })).executeTakeFirst();
    return held ? Number(held.size) : undefined;
  }

  async references(project: string, digest: Digest): Promise<boolean> {
    const known = await this.db.selectFrom(scopeDigests(this.db, { project }).as('d')).select('d.digest').where('d.digest', '=', digest).executeTakeFirst();
    return known !== undefined;
  }
}
