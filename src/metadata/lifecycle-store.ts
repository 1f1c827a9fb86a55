/**
 * The query groups of the lifecycle and policy features other than garbage collection:
 * leases that serialize runs across nodes, per-project settings (stored as JSON; the
 * lifecycle validates them), retention runs and the snapshot a plan is computed from, the
 * trash, and usage figures. They hold no rules: which tags go, which entries a restore
 * skips and what a quota allows are decided in src/lifecycle and src/policy.
 *
 * Methods that several steps of one decision use (retention's snapshot and move, a restore's
 * reads and writes) are meant to run inside `transaction(fn, { isolation: 'read-committed' })`.
 */
import type { Digest } from '../domain/names.js';

export interface LeaseQueries {
  /**
   * Gives `holder` the lease `name` until `expiresAt` when it is free, expired at `now`, or
   * already held by `holder`; true when `holder` holds it afterwards. Atomic across nodes.
   */
  acquire(name: string, holder: string, expiresAt: number, now: number): Promise<boolean>;
  /** Frees the lease if `holder` holds it. */
  release(name: string, holder: string): Promise<void>;
  /** The lease's row (expired or not); undefined when no one took it. */
  get(name: string): Promise<{ holder: string; expiresAt: number } | undefined>;
}

export type LifecycleSettingName = 'retention' | 'immutability' | 'quota';

export interface LifecycleSettingsQueries {
  /** A project's settings as stored (JSON values), null where unset. */
  get(project: string): Promise<Record<LifecycleSettingName, unknown>>;
  /** Stores one setting of a project (JSON-serialisable), or clears it with null. */
  set(project: string, name: LifecycleSettingName, value: unknown, now: number): Promise<void>;
  /** Every project with a retention setting, by project name. */
  retentionSettings(): Promise<{ project: string; retention: unknown }[]>;
  /** Forgets every setting of a project (no-op when it has none). */
  delete(project: string): Promise<void>;
}

/** A tag as retention plans over it. */
export interface TagSnapshot {
  repository: string;
  tag: string;
  digest: string;
  pushedAt: number;
  pulledAt: number | null;
}

export type RunStatus = 'running' | 'succeeded' | 'failed';

export interface RetentionRunRecord {
  id: number;
  project: string;
  trigger: string;
  dryRun: boolean;
  status: RunStatus;
  startedAt: number;
  finishedAt: number | null;
  /** The report as stored (JSON). */
  result: unknown;
  error: string | null;
}

export interface RetentionQueries {
  /**
   * The project's tags, and its untagged top-level manifests: no subject, no tag, no parent
   * index, and no trash entry holding them at `now` (unexpired, or restored), in repository
   * then digest order.
   */
  snapshot(project: string, now: number): Promise<{ tags: TagSnapshot[]; untagged: { repository: string; digest: string }[] }>;
  /**
   * Deletes the tags and records trash entries of run `runId` for them and for the untagged
   * manifests, restorable until `expiresAt`. Throws NotFoundError when a tag's repository
   * is gone.
   */
  moveToTrash(run: { runId: number; project: string; now: number; expiresAt: number }, tags: { repository: string; tag: string; digest: string }[], untagged: { repository: string; digest: string }[]): Promise<void>;
  /** Records a run that started; returns its id. */
  insertRun(run: { project: string; trigger: string; dryRun: boolean; startedAt: number }): Promise<number>;
  /** Records how a run ended. */
  finishRun(id: number, end: { status: Exclude<RunStatus, 'running'>; finishedAt: number; result?: unknown; error?: string }): Promise<void>;
  /** Newest first; of one project when given; ids below `before` when given. */
  listRuns(filter: { project?: string | undefined; before?: number | undefined; limit: number }): Promise<RetentionRunRecord[]>;
}

export interface TrashRecord {
  id: number;
  runId: number;
  project: string;
  repository: string;
  tag: string | null;
  digest: string;
  removedAt: number;
  expiresAt: number;
  restoredAt: number | null;
}

export interface TrashQueries {
  /**
   * Entries restorable at `now` (not restored, not expired), newest first, ids below `before`;
   * ids ascending instead with `order: 'oldest'`. `ids` (when given) restricts the set.
   */
  restorable(filter: { project?: string | undefined; runId?: number | undefined; ids?: number[] | undefined; before?: number | undefined; limit?: number | undefined; order?: 'newest' | 'oldest' }, now: number): Promise<TrashRecord[]>;
  /** Marks an entry restored. */
  markRestored(id: number, now: number): Promise<void>;
}

/** Usage of a project or a repository, recounted from the reference graph. */
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

export type UsageScope = { project: string } | { repository: string };

export interface UsageQueries {
  /**
   * The bytes of the distinct blobs the scope's links and manifests reference plus its
   * distinct manifests (a blob shared by repositories of a project counts once), and counts.
   */
  of(scope: UsageScope): Promise<Usage>;
  /** Usage of each repository of a project that holds content, by name. */
  byRepository(project: string): Promise<{ repository: string; usage: Usage }[]>;
  /** Projects that hold any repository, by name. */
  projects(): Promise<string[]>;
  /** Whether a link or manifest of the project references `digest`. */
  references(project: string, digest: Digest): Promise<boolean>;
  /** Bytes held by the scope's open upload sessions, leaving out session `except`. */
  openUploadBytes(scope: UsageScope, except?: string): Promise<number>;
  /** The size of `digest` when a link or manifest of the project references it, else undefined. */
  heldBlobSize(project: string, digest: Digest): Promise<number | undefined>;
}
