/**
 * The query groups of online garbage collection (the rules and their order are in
 * src/lifecycle/gc.ts; read its design note first). Four groups:
 *
 * - GcQueries: the review queue (`gc_reviews`) and the mark phase that fills it.
 * - GcSweepQueries: the re-checks, each reading under the lock named in its contract, and the
 *   deletes that follow them in the same transaction.
 * - FenceQueries: the per-digest byte-deletion fence (`blob_deletions`). Every write to it
 *   goes through the one module implementing this (the upload commit's locked read included).
 * - GcRunQueries: the record of each run (status, progress, report).
 *
 * Locks are taken on PostgreSQL (`FOR UPDATE`, in sorted order where several rows are
 * locked); on SQLite the transaction's write lock (BEGIN IMMEDIATE) already serializes every
 * writer, so the same methods take no row locks there. Use them inside
 * `transaction(fn, { isolation: 'read-committed' })` for the re-checks to hold.
 */
import type { Digest } from '../domain/names.js';

export type ReviewKind = 'manifest' | 'link' | 'blob' | 'orphan';

/** A queued review: blobs and orphans have repository id 0. */
export interface Review {
  repositoryId: number;
  digest: string;
}

/** One snapshot of the manifest graph, which the mark phase walks in memory. */
export interface ManifestGraph {
  manifests: { id: number; repositoryId: number; digest: string; subject: string | null; project: string }[];
  /** Ids of manifests a tag points at. */
  tagged: number[];
  /** Trash entries whose manifest still exists, by manifest id. */
  trash: { manifestId: number; entry: TrashHold }[];
  /** Index -> child edges. */
  children: { parentId: number; childId: number }[];
}

/** What a trash entry says about its manifest (see `holds` in src/lifecycle/gc-mark.ts). */
export interface TrashHold {
  tag: string | null;
  expiresAt: number;
  restoredAt: number | null;
}

/** A manifest read under lock, with everything the sweep's re-check needs. */
export interface LockedManifest {
  id: number;
  repositoryId: number;
  repository: string;
  project: string;
  digest: string;
  size: number;
  pushedAt: number;
  subject: string | null;
  /** A tag of its repository points at it. */
  tagged: boolean;
  /** An index of its repository lists it as a child. */
  hasParent: boolean;
  /** Its subject is a manifest of its repository (false without a subject). */
  subjectPresent: boolean;
  /** Trash entries for this repository and digest. */
  trash: TrashHold[];
}

export interface GcQueries {
  /** The whole manifest graph (one consistent read inside a transaction). */
  manifestGraph(): Promise<ManifestGraph>;
  /**
   * Queues manifests for review (insert-if-absent: a queued one keeps its first `queuedAt`),
   * due at `now + graceMs`. Returns how many were newly queued.
   */
  queueManifests(manifests: Review[], now: number, graceMs: number): Promise<number>;
  /**
   * Queues links (repository -> blob) that no manifest of the repository references; all of
   * them, or only those of `only`. Returns how many were newly queued.
   */
  markLinks(now: number, graceMs: number, only?: { repositoryId: number; digests: string[] }): Promise<number>;
  /** Queues blobs that no link and no manifest references (all, or only `only`). Returns how many were newly queued. */
  markBlobs(now: number, graceMs: number, only?: string[]): Promise<number>;
  /**
   * Queues, among digests listed in the blob store, those with no blob row and no byte
   * deletion pending (bytes nothing accounts for) as `orphan` reviews.
   */
  queueOrphans(digests: Digest[], now: number, graceMs: number): Promise<void>;
  /** Reviews of `kind` queued at or before `queuedBy`, oldest first, at most `limit`. */
  due(kind: ReviewKind, queuedBy: number, limit: number): Promise<Review[]>;
  /** How many reviews of any kind were queued at or before `queuedBy`. */
  countDue(queuedBy: number): Promise<number>;
  /** Removes the reviews of `kind` for these digests of one repository (0 for blobs and orphans). */
  dropReviews(kind: ReviewKind, repositoryId: number, digests: string[]): Promise<void>;
}

export interface GcSweepQueries {
  /**
   * Locks a repository's manifest row (PostgreSQL FOR UPDATE: a tag, an index or a push that
   * references it waits for this transaction, or committed before and is seen) and reads
   * what the re-check needs. Undefined when the manifest is gone.
   */
  lockManifest(repositoryId: number, digest: string): Promise<LockedManifest | undefined>;
  /**
   * Deletes a manifest the re-check found unreferenced: its trash entries, then the one
   * manifest delete cascade (tags, blob and child edges, the row). Returns the digests of
   * the blobs it referenced (released for the next mark).
   */
  deleteManifest(m: { id: number; repository: string; digest: string }): Promise<string[]>;
  /** Names of repositories by id (absent ids are left out). */
  repositoryNames(ids: number[]): Promise<Map<number, string>>;
  /**
   * Locks a repository's links to `digests` (PostgreSQL FOR UPDATE) and tells, for each
   * existing one, when it was made and whether a manifest of the repository references it.
   */
  lockLinks(repositoryId: number, digests: string[]): Promise<{ digest: string; createdAt: number; used: boolean }[]>;
  deleteLinks(repositoryId: number, digests: string[]): Promise<void>;
  /**
   * Locks the blob rows of `digests` (PostgreSQL FOR UPDATE; lock their fences first, see
   * FenceQueries.lock) and tells, for each existing one, its size, age and whether any link
   * or manifest references it.
   */
  lockBlobs(digests: string[]): Promise<{ digest: Digest; size: number; createdAt: number; used: boolean }[]>;
  /**
   * Deletes blob rows the re-check found unreferenced and, in the same transaction, raises
   * their byte-deletion fences (their bytes may be deleted once this commits).
   */
  deleteBlobs(digests: Digest[], now: number): Promise<void>;
  /** Which of `digests` have a blob row. */
  existingBlobs(digests: string[]): Promise<Set<string>>;
  /** Upload sessions last touched before `before`. */
  staleUploads(before: number): Promise<{ id: string; handle: string; offset: number }[]>;
  /**
   * Deletes an upload session if it is still untouched since `before` and no writer holds
   * its lease at `now` (a chunk streaming on any node keeps it). False when it stayed.
   */
  expireUpload(id: string, before: number, now: number): Promise<boolean>;
  /** Ids of every upload session. */
  uploadIds(): Promise<Set<string>>;
}

export interface FenceQueries {
  /**
   * Locks the digests' fence rows (creating absent ones at version 0), in digest order, to
   * the end of the transaction, ahead of a re-check. An upload recording one of these blobs
   * holds its row from its fence read to its commit (BlobQueries.lockDeletionState), so the
   * re-check that follows sees its blob row; an upload that comes later waits and then sees
   * the fence raised. PostgreSQL only; a no-op on SQLite (the write lock serializes).
   */
  lock(digests: string[], now: number): Promise<void>;
  /** Raises the fences (version + 1, pending): a racing upload commit sees the new version. */
  raise(digests: string[], now: number): Promise<void>;
  /**
   * Raises the digest's fence unless a blob row records it, under the fence row's lock; false
   * when a row exists (the bytes are in use). For bytes a failed commit placed: call it in a
   * transaction, delete the bytes after it committed, then `lower` the fence.
   */
  raiseUnrecorded(digest: Digest, now: number): Promise<boolean>;
  /** Digests whose fence is still pending (bytes maybe not yet deleted). */
  pending(): Promise<Digest[]>;
  /** Clears `pending` once the bytes are gone. */
  lower(digests: string[], now: number): Promise<void>;
  /** Forgets lowered fences last changed before `before`. */
  prune(before: number): Promise<void>;
}

export type GcRunStatus = 'running' | 'succeeded' | 'failed';

export interface GcRunRecord {
  id: number;
  trigger: string;
  dryRun: boolean;
  status: GcRunStatus;
  startedAt: number;
  finishedAt: number | null;
  /** JSON values as stored. */
  progress: unknown;
  result: unknown;
  error: string | null;
}

export interface GcRunQueries {
  /** Records a run that started; returns its id. */
  insert(run: { trigger: string; dryRun: boolean; startedAt: number }): Promise<number>;
  /** Stores a running run's progress (JSON-serialisable). */
  progress(id: number, progress: unknown): Promise<void>;
  /** Records how a run ended; fields left undefined stay as they are. */
  finish(id: number, end: { status: Exclude<GcRunStatus, 'running'>; finishedAt: number; progress?: unknown; result?: unknown; error?: string }): Promise<void>;
  get(id: number): Promise<GcRunRecord | undefined>;
  /** Newest first, ids below `before` when given. */
  list(before: number | undefined, limit: number): Promise<GcRunRecord[]>;
}
