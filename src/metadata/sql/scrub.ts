/** Pages over blobs and manifests for scrub (see ScrubQueries in ../ops-store.ts). */
import type { Kysely } from 'kysely';
import type { Digest, RepoName } from '../../domain/names.js';
import type { ScrubQueries } from '../ops-store.js';
import type { Database } from '../tables.js';

export class SqlScrub implements ScrubQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async blobTotals(repository?: RepoName): Promise<{ blobs: number; bytes: number }> {
    let n = 0;
    let bytes = 0;
    // Paged like `blobs` (the same filter), so the figures match what a run visits.
    for (let after: Digest | undefined; ; ) {
      const page = await this.blobs({ after, limit: 5000, repository });
      for (const b of page) {
        n++;
        bytes += b.size;
      }
      if (page.length < 5000) return { blobs: n, bytes };
      after = page.at(-1)!.digest;
    }
  }

  async blobs(page: { after?: Digest | undefined; limit: number; repository?: RepoName | undefined }): Promise<{ digest: Digest; size: number }[]> {
    let q = this.db.selectFrom('blobs as b').select(['b.digest', 'b.size']);
    if (page.after !== undefined) q = q.where('b.digest', '>', page.after);
    if (page.repository !== undefined) {
      const repo = page.repository;
      q = q.where((eb) =>
        eb.or([
          eb.exists(eb.selectFrom('repository_blobs as rb').innerJoin('repositories as r', 'r.id', 'rb.repository_id').select('rb.digest').whereRef('rb.digest', '=', 'b.digest').where('r.name', '=', repo)),
          eb.exists(
            eb
              .selectFrom('manifest_blobs as mb')
              .innerJoin('manifests as m', 'm.id', 'mb.manifest_id')
              .innerJoin('repositories as r', 'r.id', 'm.repository_id')
              .select('mb.digest')
              .whereRef('mb.digest', '=', 'b.digest')
              .where('r.name', '=', repo),
          ),
        ]),
      );
    }
    const rows = await q.orderBy('b.digest').limit(page.limit).execute();
    return rows.map((r) => ({ digest: r.digest as Digest, size: Number(r.size) }));
  }

  async manifests(page: { after?: { repository: string; digest: Digest } | undefined; limit: number; repository?: RepoName | undefined }) {
    let q = this.db.selectFrom('manifests as m').innerJoin('repositories as r', 'r.id', 'm.repository_id').select(['r.name', 'm.digest', 'm.content']);
    if (page.repository !== undefined) q = q.where('r.name', '=', page.repository);
    const after = page.after;
    if (after !== undefined) q = q.where((eb) => eb.or([eb('r.name', '>', after.repository), eb.and([eb('r.name', '=', after.repository), eb('m.digest', '>', after.digest)])]));
    const rows = await q.orderBy('r.name').orderBy('m.digest').limit(page.limit).execute();
    return rows.map((r) => ({ repository: r.name as RepoName, digest: r.digest as Digest, content: Buffer.from(r.content) }));
  }

  async referencedBy(digest: Digest, limit: number): Promise<{ repository: RepoName; manifest: Digest }[]> {
    const rows = await this.db
      .selectFrom('manifest_blobs as mb')
      .innerJoin('manifests as m', 'm.id', 'mb.manifest_id')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['r.name', 'm.digest'])
      .where('mb.digest', '=', digest)
      .orderBy('r.name')
      .orderBy('m.digest')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ repository: r.name as RepoName, manifest: r.digest as Digest }));
  }
}
