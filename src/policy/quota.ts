/**
 * Quotas and usage. Usage is not a counter kept beside the graph but a query over it: the
 * bytes of the distinct blobs a project's (or repository's) links and manifests reference,
 * plus its distinct manifests, so a blob shared by several repositories of a project counts
 * once. Being a recount, it is exact after every delete, GC pass, retention run, restore or
 * failed push, and cannot drift. Enforcement runs that query inside the push's transaction,
 * after the change, and refuses (rolling the whole change back) when a limit is exceeded;
 * projects without a quota pay nothing. A cheap pre-check before a blob's bytes are placed
 * keeps a refused blob push from leaving bytes behind.
 *
 * Bytes of open upload sessions count too, as they arrive: a write to a session may add only
 * the room left by the project's content and its other open uploads, and a session's bytes
 * stop counting as upload bytes in the transaction that turns them into a blob. Writes that
 * stream at the same moment each see the room as it was when they started, so together they
 * may overshoot by what they carry; the caps on open sessions bound how many there are, and
 * the next write of any of them is refused.
 */
import { sql, type Kysely } from 'kysely';
import { OciError } from '../errors/oci.js';
import type { Database } from '../metadata/tables.js';
import { projectOf, type Digest, type RepoName } from '../registry/names.js';
import type { LifecycleSettings, Quota } from '../lifecycle/settings.js';
import type { UploadRoom } from '../registry/write-policy.js';

export interface Usage {
  /** Distinct blob bytes + distinct manifest bytes. */
  bytes: number;
  blobBytes: number;
  manifestBytes: number;
  blobs: number;
  manifests: number;
  /** Repositories holding content (a manifest or a blob link). */
  repositories: number;
  tags: number;
  /** Bytes received by open upload sessions (not yet blobs); they count against a byte quota. */
  uploadBytes: number;
}

type Scope = { project: string } | { repository: string };

function inScope(scope: Scope) {
  return 'project' in scope ? sql<boolean>`r.project = ${scope.project}` : sql<boolean>`r.name = ${scope.repository}`;
}

function scopeDigests(db: Kysely<Database>, scope: Scope) {
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

export async function usage(db: Kysely<Database>, scope: Scope): Promise<Usage> {
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
    .where(({ or, exists, selectFrom }) =>
      or([
        exists(selectFrom('manifests as m').select('m.id').whereRef('m.repository_id', '=', 'r.id')),
        exists(selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.repository_id', '=', 'r.id')),
      ]),
    )
    .executeTakeFirstOrThrow();
  const tags = await db
    .selectFrom('tags as t')
    .innerJoin('repositories as r', 'r.id', 't.repository_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(inScope(scope))
    .executeTakeFirstOrThrow();
  const uploadBytes = await openUploadBytes(db, scope);
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

/** Bytes held by open upload sessions of a project or repository, except session `except`. */
async function openUploadBytes(db: Kysely<Database>, scope: Scope, except?: string): Promise<number> {
  let q = db.selectFrom('uploads').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('byte_offset'), sql<number>`0`).as('bytes'));
  q = 'project' in scope ? q.where('project', '=', scope.project) : q.where('repository', '=', scope.repository);
  if (except !== undefined) q = q.where('id', '!=', except);
  return Number((await q.executeTakeFirstOrThrow()).bytes);
}

/** Per-repository usage of a project, by name. */
export async function repositoryUsages(db: Kysely<Database>, project: string): Promise<{ repository: string; usage: Usage }[]> {
  const repos = await db.selectFrom('repositories').select('name').where('project', '=', project).orderBy('name').execute();
  const out: { repository: string; usage: Usage }[] = [];
  for (const r of repos) {
    const u = await usage(db, { repository: r.name });
    if (u.manifests > 0 || u.blobs > 0) out.push({ repository: r.name, usage: u });
  }
  return out;
}

/** Projects that hold any repository. */
export async function projects(db: Kysely<Database>): Promise<string[]> {
  return (await db.selectFrom('repositories').select('project').distinct().orderBy('project').execute()).map((r) => r.project);
}

const UNLIMITED: UploadRoom = { bytes: Number.POSITIVE_INFINITY, refusal: () => new OciError('DENIED') };

export class QuotaPolicy {
  constructor(private readonly settings: LifecycleSettings) {}

  private async quota(db: Kysely<Database>, project: string): Promise<Quota | null> {
    return (await this.settings.get(db, project)).quota;
  }

  /**
   * Before bytes are placed: refuses a blob that is new to the project and would not fit.
   * `uploadId`: the session the blob comes from (its bytes become the blob's, not extra).
   */
  async precheckBlob(db: Kysely<Database>, repo: RepoName, digest: Digest, size: number, uploadId?: string): Promise<void> {
    const project = projectOf(repo);
    const q = await this.quota(db, project);
    if (!q || q.bytes === null) return;
    const known = await db.selectFrom(scopeDigests(db, { project }).as('d')).select('d.digest').where('d.digest', '=', digest).executeTakeFirst();
    if (known) return;
    const u = await usage(db, { project });
    const used = u.bytes + (await openUploadBytes(db, { project }, uploadId));
    if (used + size > q.bytes) throw exceeded(project, 'bytes', used + size, q.bytes);
  }

  /**
   * Bytes an upload to `repo` may still add: the project's byte quota less its content and
   * every open upload's bytes (Infinity without a byte quota). Never negative. With the
   * `digest` the bytes must match (a monolithic push, a finishing chunk), a blob the project
   * already holds costs nothing, so its own size is always allowed.
   */
  async uploadRoom(db: Kysely<Database>, repo: RepoName, digest?: Digest): Promise<UploadRoom> {
    const project = projectOf(repo);
    const q = await this.quota(db, project);
    if (!q || q.bytes === null) return UNLIMITED;
    const limit = q.bytes;
    const u = await usage(db, { project });
    const used = u.bytes + u.uploadBytes;
    let room = Math.max(0, limit - used);
    if (digest !== undefined) {
      const held = await db
        .selectFrom('blobs')
        .select('size')
        .where('digest', '=', digest)
        .where('digest', 'in', scopeDigests(db, { project }))
        .executeTakeFirst();
      if (held) room = Math.max(room, Number(held.size));
    }
    return { bytes: room, refusal: (adding) => exceeded(project, 'bytes', used + adding, limit) };
  }

  /** Inside the transaction, after the change: refuses if the project is now over a limit. */
  async enforce(db: Kysely<Database>, repo: RepoName): Promise<void> {
    const project = projectOf(repo);
    const q = await this.quota(db, project);
    if (!q || (q.bytes === null && q.repositories === null && q.tags === null)) return;
    const u = await usage(db, { project });
    if (q.bytes !== null && u.bytes + u.uploadBytes > q.bytes) throw exceeded(project, 'bytes', u.bytes + u.uploadBytes, q.bytes);
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
