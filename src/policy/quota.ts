/**
 * Quotas. Usage is not a counter kept beside the graph but a query over it (UsageQueries in
 * src/metadata/lifecycle-store.ts): the bytes of the distinct blobs a project's (or
 * repository's) links and manifests reference, plus its distinct manifests, so a blob shared
 * by several repositories of a project counts once. Being a recount, it is exact after every
 * delete, GC pass, retention run, restore or failed push, and cannot drift. Each check reads
 * through the store or transaction it is given. Enforcement runs that query inside the push's
 * transaction, after the change, and refuses (rolling the whole change back) when a limit is
 * exceeded; projects without a quota pay nothing. A cheap pre-check before a blob's bytes
 * are placed keeps a refused blob push from leaving bytes behind.
 */
import { OciError } from '../errors/oci.js';
import type { MetadataQueries } from '../metadata/store.js';
import { projectOf, type Digest, type RepoName } from '../registry/names.js';
import type { LifecycleSettings, Quota } from '../lifecycle/settings.js';

export type { Usage } from '../metadata/lifecycle-store.js';

export class QuotaPolicy {
  constructor(private readonly settings: LifecycleSettings) {}

  private async quota(q: MetadataQueries, project: string): Promise<Quota | null> {
    return (await this.settings.get(project, q)).quota;
  }

  /** Before bytes are placed: refuses a blob that is new to the project and would not fit. */
  async precheckBlob(db: MetadataQueries, repo: RepoName, digest: Digest, size: number): Promise<void> {
    const project = projectOf(repo);
    const q = await this.quota(db, project);
    if (!q || q.bytes === null) return;
    if (await db.usage.references(project, digest)) return;
    const u = await db.usage.of({ project });
    if (u.bytes + size > q.bytes) throw exceeded(project, 'bytes', u.bytes + size, q.bytes);
  }

  /** Inside the transaction, after the change: refuses if the project is now over a limit. */
  async enforce(db: MetadataQueries, repo: RepoName): Promise<void> {
    const project = projectOf(repo);
    const q = await this.quota(db, project);
    if (!q || (q.bytes === null && q.repositories === null && q.tags === null)) return;
    const u = await db.usage.of({ project });
    if (q.bytes !== null && u.bytes > q.bytes) throw exceeded(project, 'bytes', u.bytes, q.bytes);
    if (q.repositories !== null && u.repositories > q.repositories) throw exceeded(project, 'repositories', u.repositories, q.repositories);
    if (q.tags !== null && u.tags > q.tags) throw exceeded(project, 'tags', u.tags, q.tags);
  }
}

function exceeded(project: string, what: 'bytes' | 'repositories' | 'tags', would: number, limit: number): OciError {
  const unit = what === 'bytes' ? ' bytes' : ` ${what}`;
  return new OciError('DENIED', {
    project,
    quota: what,
    limit,
    wouldUse: would,
    reason: `quota exceeded: project ${project} would use ${would}${unit} of its ${limit}${unit} quota`,
  });
}
