/** ProxyCacheQueries over Kysely (both dialects): the pull-through cache's manifest rows. */
import type { Kysely, Selectable } from 'kysely';
import type { Digest, RepoName } from '../../domain/names.js';
import type { CachedManifest, ProxyCacheQueries } from '../proxy-store.js';
import type { Database, ProxyManifestsTable } from '../tables.js';

function toRecord(r: Selectable<ProxyManifestsTable>): CachedManifest {
  return {
    repository: r.repository as RepoName,
    reference: r.reference,
    upstream: r.upstream,
    digest: r.digest as Digest,
    mediaType: r.media_type,
    content: Buffer.from(r.content),
    fetchedAt: Number(r.fetched_at),
    checkedAt: Number(r.checked_at),
    pulledAt: Number(r.pulled_at),
  };
}

export class SqlProxyCache implements ProxyCacheQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async get(repo: RepoName, reference: string): Promise<CachedManifest | undefined> {
    const r = await this.db.selectFrom('proxy_manifests').selectAll().where('repository', '=', repo).where('reference', '=', reference).executeTakeFirst();
    return r && toRecord(r);
  }

  async put(m: CachedManifest): Promise<void> {
    const row = {
      repository: m.repository,
      reference: m.reference,
      upstream: m.upstream,
      digest: m.digest,
      media_type: m.mediaType,
      content: m.content,
      fetched_at: m.fetchedAt,
      checked_at: m.checkedAt,
      pulled_at: m.pulledAt,
    };
    await this.db
      .insertInto('proxy_manifests')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['repository', 'reference']).doUpdateSet({ upstream: row.upstream, digest: row.digest, media_type: row.media_type, content: row.content, fetched_at: row.fetched_at, checked_at: row.checked_at, pulled_at: row.pulled_at }),
      )
      .execute();
  }

  async markChecked(repo: RepoName, reference: string, at: number): Promise<void> {
    await this.db.updateTable('proxy_manifests').set({ checked_at: at }).where('repository', '=', repo).where('reference', '=', reference).execute();
  }

  async markPulled(repo: RepoName, reference: string, at: number): Promise<void> {
    await this.db.updateTable('proxy_manifests').set({ pulled_at: at }).where('repository', '=', repo).where('reference', '=', reference).execute();
  }

  async list(upstream: string, limit: number): Promise<CachedManifest[]> {
    const rows = await this.db.selectFrom('proxy_manifests').selectAll().where('upstream', '=', upstream).orderBy('pulled_at').orderBy('repository').orderBy('reference').limit(limit).execute();
    return rows.map(toRecord);
  }

  async delete(repo: RepoName, reference: string): Promise<boolean> {
    const r = await this.db.deleteFrom('proxy_manifests').where('repository', '=', repo).where('reference', '=', reference).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async count(upstream: string): Promise<{ manifests: number; bytes: number }> {
    const r = await this.db
      .selectFrom('proxy_manifests')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.coalesce(eb.fn.sum<number>(eb.fn('length', ['content'])), eb.lit(0)).as('bytes')])
      .where('upstream', '=', upstream)
      .executeTakeFirstOrThrow();
    return { manifests: Number(r.n), bytes: Number(r.bytes) };
  }
}
