/**
 * The MetadataStore interface: repositories, blobs a repository may serve, manifests and the
 * graph they form, tags and upload sessions, plus the query groups of the lifecycle features
 * (garbage collection in gc-store.ts; leases, project settings, retention, trash and usage in
 * lifecycle-store.ts). It holds no registry rules; services run their checks inside
 * `transaction` so that check and write commit together. Every query of Berth lives behind
 * these interfaces (and the AuthStore's); nothing above src/metadata sees SQL.
 *
 * Every implementation passes the contract suites in test/suites/metadata-store.case.ts,
 * gc-store.case.ts and lifecycle-store.case.ts.
 */
import type { ScrubQueries } from './ops-store.js';
import type { Digest, RepoName, Reference, Tag } from '../domain/names.js';
import type { FenceQueries, GcQueries, GcRunQueries, GcSweepQueries } from './gc-store.js';
import type { EventQueries, ReplicationQueries, WebhookQueries } from './event-store.js';
import type { LeaseQueries, LifecycleSettingsQueries, RetentionQueries, TrashQueries, UsageQueries } from './lifecycle-store.js';
import type { SigningQueries } from './signing-store.js';
import type { ScanQueries } from './scan-store.js';

export interface BlobRecord {
  digest: Digest;
  size: number;
  mediaType: string | null;
}

export interface UploadRecord {
  id: string;
  repository: RepoName;
  offset: number;
  handle: string;
  startedAt: number;
  updatedAt: number;
}

export interface ManifestRecord {
  digest: Digest;
  mediaType: string;
  artifactType: string | null;
  subject: Digest | null;
  size: number;
  content: Buffer;
  pushedAt: number;
}

export interface NewManifest {
  digest: Digest;
  mediaType: string;
  artifactType: string | null;
  subject: Digest | null;
  content: Buffer;
  annotations: Record<string, string> | null;
  /** Blobs the manifest references (config, layers). */
  blobs: Digest[];
  /** Manifests of the same repository the manifest references (children of an index). */
  children: Digest[];
}

export interface ReferrerRecord {
  digest: Digest;
  mediaType: string;
  artifactType: string | null;
  size: number;
  annotations: Record<string, string> | null;
}

export interface RepositoryQueries {
  /** Repository names in byte order, strictly after `after`, at most `limit`. */
  list(after: string | undefined, limit: number): Promise<string[]>;
  exists(name: RepoName): Promise<boolean>;
  /** Deletes a repository with its tags, manifests, references and blob links; false if absent. */
  delete(name: RepoName): Promise<boolean>;
}

export interface BlobQueries {
  get(digest: Digest): Promise<BlobRecord | undefined>;
  /**
   * Size of a blob the repository may serve: linked to it (pushed or mounted) or referenced
   * by one of its manifests. Undefined otherwise.
   */
  sizeInRepository(repo: RepoName, digest: Digest): Promise<number | undefined>;
  /** Records a blob whose bytes are durable and verified. Idempotent. */
  insert(blob: { digest: Digest; size: number; mediaType?: string | null }, now: number): Promise<void>;
  /** Lets `repo` serve `digest` (creating the repository if needed). Idempotent. */
  link(repo: RepoName, digest: Digest, source: 'pushed' | 'mounted', now: number): Promise<void>;
  /** Removes the repository's link to a blob; false when there was none. */
  unlink(repo: RepoName, digest: Digest): Promise<boolean>;
  /**
   * Removes a blob row; false when absent. Throws ConflictError while a repository link or a
   * manifest still references it (the caller deletes the bytes only after this succeeded).
   */
  delete(digest: Digest): Promise<boolean>;
  /**
   * The byte-deletion fence of a digest: garbage collection bumps `version` and sets `pending`
   * in the transaction that gives up the blob's bytes, and clears `pending` once they are gone.
   */
  deletionState(digest: Digest): Promise<{ version: number; pending: boolean }>;
  /**
   * The fence, read under a lock held to the end of the transaction (on PostgreSQL a share
   * lock on the fence row, created if there is none; on SQLite the transaction's write lock): a collector raising this digest's fence waits for the transaction, and
   * on PostgreSQL a fence raised after the transaction's snapshot aborts it with a
   * serialization failure (run again, it sees the new version). Use it in the transaction
   * that records the blob.
   */
  lockDeletionState(digest: Digest, now: number): Promise<{ version: number; pending: boolean }>;
}

export interface UploadQueries {
  /** `project` and `owner` (the principal that started it) are what caps and quotas count by. */
  create(upload: { id: string; repository: RepoName; handle: string; project?: string; owner?: string }, now: number): Promise<void>;
  /** Open sessions of `repository`, and of `owner` (none without one), touched at or after `since`. */
  countOpen(repository: RepoName, owner: string | undefined, since: number): Promise<{ inRepository: number; ofOwner: number }>;
  get(id: string): Promise<UploadRecord | undefined>;
  /** Moves the upload from `fromOffset` to `toOffset`; false if it was not at `fromOffset` (or is gone). */
  advance(id: string, fromOffset: number, toOffset: number, handle: string, now: number): Promise<boolean>;
  /** False when the upload did not exist. */
  delete(id: string): Promise<boolean>;
  /**
   * Takes or renews the write lease of an upload for `owner` until `until`: granted when no
   * one holds it, its holder's lease ended before `now`, or `owner` holds it already. The
   * upload as it stands once held; undefined when someone else holds it or the upload is gone.
   */
  lock(id: string, owner: string, until: number, now: number): Promise<UploadRecord | undefined>;
  /** Gives the lease up if `owner` holds it. */
  unlock(id: string, owner: string): Promise<void>;
  /** Clears every write lease: only safe when no other process serves this store (a SQLite host starting up). */
  releaseAllLocks(): Promise<void>;
  /** Uploads last touched before `before`, oldest first. */
  listStale(before: number, limit: number): Promise<UploadRecord[]>;
}

export interface ManifestQueries {
  /** A manifest by digest, or the manifest a tag points at. */
  get(repo: RepoName, ref: Reference): Promise<ManifestRecord | undefined>;
  /** Stores a manifest and its references (creating the repository if needed); false if it already existed. */
  insert(repo: RepoName, manifest: NewManifest, now: number): Promise<boolean>;
  /** Which of `digests` the repository may not serve as blobs. */
  missingBlobs(repo: RepoName, digests: Digest[]): Promise<Digest[]>;
  /** Which of `digests` are not manifests of the repository. */
  missingManifests(repo: RepoName, digests: Digest[]): Promise<Digest[]>;
  /** Manifests of the repository that list `digest` as a child. */
  parents(repo: RepoName, digest: Digest): Promise<Digest[]>;
  /** Deletes a manifest, its references and the tags pointing at it; false if absent. */
  delete(repo: RepoName, digest: Digest): Promise<boolean>;
  /** Manifests of the repository whose subject is `subject`, in digest order after `after`, at most `limit`. */
  referrers(repo: RepoName, subject: Digest, page: { artifactType?: string | undefined; after?: string | undefined; limit: number }): Promise<ReferrerRecord[]>;
  /** Records pull times (batched by the caller). */
  touchPulled(pulls: { repo: RepoName; digest: Digest; at: number }[]): Promise<void>;
  /**
   * Moves an existing manifest's push time forward to `now` (a re-push), so garbage
   * collection's grace period counts from it. No-op when the manifest is absent.
   */
  touchPushed(repo: RepoName, digest: Digest, now: number): Promise<void>;
}

export interface TagQueries {
  /** Tags in byte order strictly after `after`, at most `limit`; undefined if the repository is unknown. */
  list(repo: RepoName, after: string | undefined, limit: number): Promise<string[] | undefined>;
  /** Points `tag` at the repository's manifest `digest` (which must exist). */
  set(repo: RepoName, tag: Tag, digest: Digest, now: number): Promise<void>;
  /** False when the tag did not exist. */
  delete(repo: RepoName, tag: Tag): Promise<boolean>;
  /** The digest of the manifest `tag` points at; undefined when the tag does not exist. */
  digestOf(repo: RepoName, tag: string): Promise<Digest | undefined>;
  /** Names of the repository's tags that point at the manifest `digest` (any order). */
  pointingAt(repo: RepoName, digest: Digest): Promise<string[]>;
}

export interface SettingQueries {
  get(key: string): Promise<string | undefined>;
  /**
   * The value stored under `key`, storing `value` first if there is none. Atomic across
   * processes and nodes: concurrent callers all get the value of the first one to commit.
   */
  getOrCreate(key: string, value: string): Promise<string>;
  /** Stores `value` under `key`, replacing any value (last writer wins). */
  put(key: string, value: string): Promise<void>;
  /** False when the key did not exist. */
  delete(key: string): Promise<boolean>;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobRecord {
  id: number;
  kind: string;
  payload: unknown;
  status: JobStatus;
  /** Times the job was claimed (including the run in progress). */
  attempts: number;
  maxAttempts: number;
  /** Not claimed before this time (ms). */
  runAt: number;
  lockedBy: string | null;
  /** A running job whose lease ended before now may be claimed by another worker. */
  lockedUntil: number | null;
  lastError: string | null;
  dedupeKey: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface JobQueries {
  /**
   * Queues a job; returns its id. `payload` must be JSON-serialisable. With `dedupeKey`, does
   * nothing and returns undefined while another queued or running job holds the same key.
   */
  enqueue(job: { kind: string; payload: unknown; maxAttempts: number; runAt: number; dedupeKey?: string | undefined }, now: number): Promise<number | undefined>;
  /**
   * Claims up to `limit` jobs of `kinds` for `worker` until `lockedUntil`: queued jobs that are
   * due, and running jobs whose lease expired (their worker died). Each claim counts an
   * attempt. A job is claimed by one worker at a time, also when several nodes race. Running
   * jobs whose lease expired after their last allowed attempt are marked failed instead.
   */
  claim(worker: string, kinds: string[], limit: number, lockedUntil: number, now: number): Promise<JobRecord[]>;
  /*
   * The calls below act on a job only while `worker` still holds the claim numbered `attempt`
   * (the job's `attempts` when it was claimed): a fencing token, so a late worker whose
   * lease passed to another claim, even its own, changes nothing. They return false then.
   */
  /** Extends the lease. */
  extend(id: number, worker: string, attempt: number, lockedUntil: number, now: number): Promise<boolean>;
  /** Marks the job succeeded. */
  complete(id: number, worker: string, attempt: number, now: number): Promise<boolean>;
  /** Records a failed attempt: queued again at `retryAt`, or failed for good when null. */
  fail(id: number, worker: string, attempt: number, error: string, retryAt: number | null, now: number): Promise<boolean>;
  get(id: number): Promise<JobRecord | undefined>;
  /** Jobs by id order after `after`, optionally of one status and kind. */
  list(filter: { status?: JobStatus | undefined; kind?: string | undefined; after?: number | undefined; limit: number }): Promise<JobRecord[]>;
  /** False when the job did not exist. */
  delete(id: number): Promise<boolean>;
  /**
   * Queued and running jobs per kind, with the creation time of the oldest queued one
   * (undefined when none is queued), for metrics. Kinds with neither are left out.
   */
  depth(): Promise<{ kind: string; queued: number; running: number; oldestQueuedAt: number | undefined }[]>;
}

export interface MetadataQueries {
  readonly repositories: RepositoryQueries;
  readonly blobs: BlobQueries;
  readonly uploads: UploadQueries;
  readonly manifests: ManifestQueries;
  readonly tags: TagQueries;
  readonly settings: SettingQueries;
  readonly jobs: JobQueries;
  /** Garbage collection's review queue and mark phase. */
  readonly gc: GcQueries;
  /** Garbage collection's re-checks under lock and deletes. */
  readonly gcSweep: GcSweepQueries;
  /** The byte-deletion fence (`blob_deletions`): its one writer. */
  readonly fences: FenceQueries;
  /** Garbage-collection run records. */
  readonly gcRuns: GcRunQueries;
  /** Named leases that serialize lifecycle runs across nodes. */
  readonly leases: LeaseQueries;
  /** Per-project retention, immutability and quota settings. */
  readonly lifecycleSettings: LifecycleSettingsQueries;
  /** Retention runs, the snapshot they plan from, and moving tags to the trash. */
  readonly retention: RetentionQueries;
  /** Trash entries and restoring them. */
  readonly trash: TrashQueries;
  /** Usage figures recounted from the reference graph. */
  readonly usage: UsageQueries;
  /** Projects' signing policies and signing keys. */
  readonly signing: SigningQueries;
  /** The outbox: events written in the transaction of the change that caused them. */
  readonly events: EventQueries;
  /** Webhook subscriptions and their delivery log. */
  readonly webhooks: WebhookQueries;
  /** Replication targets, policies and runs. */
  readonly replication: ReplicationQueries;
  /** Pages over blobs and manifests for scrub (ops-store.ts). */
  readonly scrub: ScrubQueries;
  /** Scan results and scanning state (scan-store.ts): a push records its scan as pending. */
  readonly scans: ScanQueries;
}

/**
 * How a transaction isolates itself, named at each call:
 *
 * - `serializable` (the default): the checks a service makes inside the transaction stay true
 *   at commit. PostgreSQL SERIALIZABLE (a transaction the server aborts to keep that promise
 *   is run again); SQLite BEGIN IMMEDIATE (one writer at a time).
 * - `read-committed`: for long re-check-and-delete work beside live pushes (garbage
 *   collection, retention, restores). PostgreSQL READ COMMITTED: each statement reads the
 *   latest committed state, and the methods used lock what they re-check (each documents
 *   its locks), so a re-check made under those locks stays true at commit; a deadlock victim
 *   is run again. SQLite BEGIN IMMEDIATE on a connection of its own, taken before the first
 *   read (so a re-check reads the latest state even beside another process writing the same
 *   file), tried again a few times when another process held the write lock past the busy
 *   timeout. (SERIALIZABLE was tried for garbage collection: its long sweep transactions were
 *   aborted over and over by concurrent pushes.)
 */
export type Isolation = 'serializable' | 'read-committed';

export interface TransactionOptions {
  isolation: Isolation;
}

export interface MetadataStore extends MetadataQueries {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one transaction of the given isolation (default `serializable`); a throw
   * rolls everything back. `fn` may run more than once (a transaction PostgreSQL aborted is
   * run again), so it must do nothing outside `tx` and return what the caller reports.
   */
  transaction<T>(fn: (tx: MetadataQueries) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Applies pending migrations (safe to call from several nodes at once). */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query; throws its connection error otherwise (health checks). */
  ping(): Promise<void>;
  /** Names of the migrations this version knows that the database has not applied (readiness). */
  pendingMigrations(): Promise<string[]>;
  close(): Promise<void>;
}
