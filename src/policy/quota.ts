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
 *
 * Bytes of open upload sessions count too, as they arrive: a write to a session may add only
 * the room left by the project's content and its other open uploads, and a session's bytes
 * stop counting as upload bytes in the transaction that turns them into a blob. Writes that
 * stream at the same moment each see the room as it was when they started, so together they
 * may overshoot by what they carry; the caps on open sessions bound how many there are, and
 * the next write of any of them is refused.
 */
import { OciError } from '../errors/oci.js';
import type { MetadataQueries } from '../metadata/store.js';
import { projectOf, type Digest, type RepoName } from '../domain/names.js';
import type { LifecycleSettings, Quota } from '../lifecycle/settings.js';
import type { UploadRoom } from './write-policy.js';
import { emitEvent } from '../events/emit.js';

/** Share of a byte quota at which a `quota.warning` event is emitted (once per crossing). */
export const QUOTA_WARNING_RATIO = 0.9;
const warnedKey = (project: string) => `quota.warned:${project}`;

export type { Usage } from '../metadata/lifecycle-store.js';

const UNLIMITED: UploadRoom = { bytes: Number.POSITIVE_INFINITY, refusal: () => new OciError('DENIED') };

export class QuotaPolicy {
  constructor(private readonly settings: LifecycleSettings) {}

  private async quota(q: MetadataQueries, project: string): Promise<Quota | null> {
    return (await this.settings.get(project, q)).quota;
  }

  /**
   * Before bytes are placed: refuses a blob that is new to the project and would not fit.
   * `uploadId`: the session the blob comes from (its bytes become the blob's, not extra).
   */
  async precheckBlob(db: MetadataQueries, repo: RepoName, digest: Digest, size: number, uploadId?: string): Promise<void> {
    const project = projectOf(repo);
    const q = await this.quota(db, project);
    if (!q || q.bytes === null) return;
    if (await db.usage.references(project, digest)) return;
    const u = await db.usage.of({ project });
    const used = u.bytes + (await db.usage.openUploadBytes({ project }, uploadId));
    if (used + size > q.bytes) throw exceeded(project, 'bytes', used + size, q.bytes);
  }

  /**
   * Bytes an upload to `repo` may still add: the project's byte quota less its content and
   * every open upload's bytes (Infinity without a byte quota). Never negative. With the
   * `digest` the bytes must match (a monolithic push, a finishing chunk), a blob the project
   * already holds costs nothing, so its own size is always allowed.
   */
  async uploadRoom(db: MetadataQueries, repo: RepoName, digest?: Digest): Promise<UploadRoom> {
    const project = projectOf(repo);
    const q = await this.quota(db, project);
    if (!q || q.bytes === null) return UNLIMITED;
    const limit = q.bytes;
    const u = await db.usage.of({ project });
    const used = u.bytes + u.uploadBytes;
    let room = Math.max(0, limit - used);
    if (digest !== undefined) {
      const held = await db.usage.heldBlobSize(project, digest);
      if (held !== undefined) room = Math.max(room, held);
    }
    return { bytes: room, refusal: (adding) => exceeded(project, 'bytes', used + adding, limit) };
  }

  /** Inside the transaction, after the change: refuses if the project is now over a limit. */
  async enforce(db: MetadataQueries, repo: RepoName): Promise<void> {
    const project = projectOf(repo);
    const q = await this.quota(db, project);
    if (!q || (q.bytes === null && q.repositories === null && q.tags === null)) return;
    const u = await db.usage.of({ project });
    if (q.bytes !== null && u.bytes + u.uploadBytes > q.bytes) throw exceeded(project, 'bytes', u.bytes + u.uploadBytes, q.bytes);
    if (q.repositories !== null && u.repositories > q.repositories) throw exceeded(project, 'repositories', u.repositories, q.repositories);
    if (q.tags !== null && u.tags > q.tags) throw exceeded(project, 'tags', u.tags, q.tags);
    if (q.bytes !== null && q.bytes > 0) await this.warn(db, project, u.bytes + u.uploadBytes, q.bytes);
  }

  /**
   * Emits `quota.warning` in the change's transaction when the project's bytes cross
   * QUOTA_WARNING_RATIO of its quota, once: a marker in the settings table remembers the
   * crossing (and commits with the change), and is cleared when usage drops below again, so
   * the next crossing warns anew.
   */
  private async warn(db: MetadataQueries, project: string, used: number, limit: number): Promise<void> {
    const over = used >= limit * QUOTA_WARNING_RATIO;
    const warned = (await db.settings.get(warnedKey(project))) !== undefined;
    if (over && !warned) {
      await db.settings.put(warnedKey(project), String(used));
      await emitEvent(db, { type: 'quota.warning', project, data: { project, usedBytes: used, quotaBytes: limit, ratio: Math.round((used / limit) * 1000) / 1000 } });
    } else if (!over && warned) await db.settings.delete(warnedKey(project));
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
