/**
 * Paged lists: tags of a repository, the catalog of repositories, and the referrers of a
 * manifest. Pages are in byte order, `last` is exclusive, and a page that may have a
 * successor says so (the route turns `next` into a `Link` header).
 */
import { OciError } from '../errors/oci.js';
import type { MetadataStore } from '../metadata/store.js';
import { MediaType } from './manifest/media-types.js';
import type { Digest, RepoName } from '../domain/names.js';

export interface Page<T> {
  items: T[];
  /** The `last` to ask for the next page with, when there may be one. */
  next?: string;
}

export interface PageRequest {
  n?: string | undefined;
  last?: string | undefined;
}

export interface ReferrersIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: {
    mediaType: string;
    digest: Digest;
    size: number;
    artifactType?: string;
    annotations?: Record<string, string>;
  }[];
}

export class ListingService {
  constructor(
    private readonly meta: MetadataStore,
    private readonly pageSizes: { defaultPageSize: number; maxPageSize: number },
  ) {}

  async tags(repo: RepoName, page: PageRequest): Promise<Page<string>> {
    const n = this.pageSize(page.n);
    if (n === 0) {
      if (!(await this.meta.repositories.exists(repo))) throw new OciError('NAME_UNKNOWN', { name: repo });
      return { items: [] };
    }
    const rows = await this.meta.tags.list(repo, page.last, n + 1);
    if (!rows) throw new OciError('NAME_UNKNOWN', { name: repo });
    return paged(rows, n);
  }

  /** Repository names; `visible` filters out those the caller may not see (pages stay full). */
  async catalog(page: PageRequest, visible?: (name: string) => Promise<boolean>): Promise<Page<string>> {
    const n = this.pageSize(page.n);
    if (n === 0) return { items: [] };
    if (!visible) return paged(await this.meta.repositories.list(page.last, n + 1), n);
    const out: string[] = [];
    let after = page.last;
    for (;;) {
      const batch = await this.meta.repositories.list(after, Math.max(n + 1, 100));
      for (const name of batch) {
        if (await visible(name)) out.push(name);
        if (out.length > n) return paged(out, n);
      }
      if (batch.length < Math.max(n + 1, 100)) return paged(out, n);
      after = batch[batch.length - 1];
    }
  }

  async referrers(repo: RepoName, subject: Digest, artifactType: string | undefined, page: PageRequest): Promise<Page<ReferrersIndex['manifests'][number]>> {
    const n = Math.max(1, this.pageSize(page.n));
    const rows = await this.meta.manifests.referrers(repo, subject, { artifactType, after: page.last, limit: n + 1 });
    const items = rows.slice(0, n).map((r) => ({
      mediaType: r.mediaType,
      digest: r.digest,
      size: r.size,
      ...(r.artifactType ? { artifactType: r.artifactType } : {}),
      ...(r.annotations ? { annotations: r.annotations } : {}),
    }));
    return rows.length > n ? { items, next: items[items.length - 1]!.digest } : { items };
  }

  static referrersIndex(manifests: ReferrersIndex['manifests']): ReferrersIndex {
    return {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests,
    };
  }

  /** The page size `n` asks for (the default when absent, capped); PAGINATION_NUMBER_INVALID when it is not a number. */
  pageSize(n: string | undefined): number {
    if (n === undefined || n === '') return this.pageSizes.defaultPageSize;
    if (!/^\d{1,9}$/.test(n)) throw new OciError('PAGINATION_NUMBER_INVALID', { n, reason: '`n` must be a non-negative integer' });
    return Math.min(Number(n), this.pageSizes.maxPageSize);
  }
}

function paged(rows: string[], n: number): Page<string> {
  if (rows.length <= n) return { items: rows };
  const items = rows.slice(0, n);
  return { items, next: items[items.length - 1]! };
}
