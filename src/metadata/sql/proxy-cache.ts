/** ProxyCacheQueries over Kysely (both dialects): the pull-through cache's manifest rows. */
import type { Kysely, Selectable } from 'kysely';
import type { Digest, RepoName } from '../../domain/names.js';
import { ConflictError } from '../../errors/store.js';
import type { CachedManifest, PreheatRecord, ProxyCacheQueries, ProxyUpstreamQueries, StoredUpstream } from '../proxy-store.js';
import type { Database, ProxyManifestsTable, ProxyPreheatsTable } from '../tables.js';

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

function toPreheat(r: Selectable<ProxyPreheatsTable>): PreheatRecord {
  return {
    id: r.id,
    upstream: r.upstream,
    references: JSON.parse(r.refs) as string[],
    status: r.status as PreheatRecord['status'],
    done: Number(r.done),
    failed: Number(r.failed),
    blobs: Number(r.blobs),
    bytes: Number(r.bytes),
    errors: JSON.parse(r.errors) as string[],
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
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

  async tags(repo: RepoName, after: string | undefined, limit: number): Promise<string[]> {
    // A digest reference holds ':' and a tag never does.
    let q = this.db.selectFrom('proxy_manifests').select('reference').where('repository', '=', repo).where('reference', 'not like', '%:%').orderBy('reference').limit(limit);
    if (after !== undefined) q = q.where('reference', '>', after);
    return (await q.execute()).map((r) => r.reference);
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

  async createPreheat(p: { id: string; upstream: string; references: string[] }, now: number): Promise<PreheatRecord> {
    try {
      await this.db
        .insertInto('proxy_preheats')
        .values({ id: p.id, upstream: p.upstream, refs: JSON.stringify(p.references), status: 'queued', done: 0, failed: 0, blobs: 0, bytes: 0, errors: '[]', created_at: now, updated_at: now })
        .execute();
    } catch (e) {
      if (await this.getPreheat(p.id)) throw new ConflictError(`preheat ${p.id} exists`);
      throw e;
    }
    return (await this.getPreheat(p.id))!;
  }

  async updatePreheat(id: string, p: Pick<PreheatRecord, 'status' | 'done' | 'failed' | 'blobs' | 'bytes' | 'errors'>, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('proxy_preheats')
      .set({ status: p.status, done: p.done, failed: p.failed, blobs: p.blobs, bytes: p.bytes, errors: JSON.stringify(p.errors), updated_at: now })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async getPreheat(id: string): Promise<PreheatRecord | undefined> {
    const r = await this.db.selectFrom('proxy_preheats').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toPreheat(r);
  }

  async deletePreheat(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('proxy_preheats').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

export class SqlProxyUpstreams implements ProxyUpstreamQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<StoredUpstream[]> {
    const rows = await this.db.selectFrom('proxy_upstreams').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, settings: JSON.parse(r.settings) as Record<string, unknown>, passwordSealed: r.password_sealed, createdAt: Number(r.created_at) }));
  }

  async insert(u: StoredUpstream): Promise<void> {
    const r = await this.db
      .insertInto('proxy_upstreams')
      .values({ name: u.name, settings: JSON.stringify(u.settings), password_sealed: u.passwordSealed, created_at: u.createdAt })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) throw new ConflictError(`upstream ${u.name} exists`);
  }

  async delete(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('proxy_upstreams').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
