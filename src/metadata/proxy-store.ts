/**
 * The pull-through cache's manifest rows (`proxy_manifests`, migration 0008): what an upstream
 * answered for a reference (a tag or a digest), with when it was fetched, last confirmed
 * against the upstream, and last pulled. One implementation over Kysely for both dialects
 * (sql/proxy-cache.ts); contract suite: test/suites/proxy-store.case.ts.
 */
import type { Digest, RepoName } from '../domain/names.js';

export interface CachedManifest {
  repository: RepoName;
  /** The tag or digest the manifest was asked for. */
  reference: string;
  /** The upstream's name (the proxy project). */
  upstream: string;
  digest: Digest;
  mediaType: string;
  content: Buffer;
  fetchedAt: number;
  /** When the upstream last confirmed the reference still names `digest` (tags are revalidated after a TTL). */
  checkedAt: number;
  pulledAt: number;
}

/** A preheat request and its progress. */
export interface PreheatRecord {
  id: string;
  upstream: string;
  references: string[];
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  /** References finished (fetched or failed). */
  done: number;
  failed: number;
  /** Blobs fetched from the upstream, and their bytes. */
  blobs: number;
  bytes: number;
  errors: string[];
  createdAt: number;
  updatedAt: number;
}

export interface ProxyCacheQueries {
  /** The cached manifest for `reference` of `repo`, or undefined. */
  get(repo: RepoName, reference: string): Promise<CachedManifest | undefined>;
  /** Inserts or replaces the row of (repository, reference). */
  put(m: CachedManifest): Promise<void>;
  /** Records that the upstream confirmed the reference at `at` (a revalidation that found no change). */
  markChecked(repo: RepoName, reference: string, at: number): Promise<void>;
  /** Records a pull of the reference at `at`. */
  markPulled(repo: RepoName, reference: string, at: number): Promise<void>;
  /** Tags (not digests) cached for `repo`, in the order of the registry's tag lists, after `after`, at most `limit` (served when the upstream is down). */
  tags(repo: RepoName, after: string | undefined, limit: number): Promise<string[]>;
  /** Rows of one upstream, least recently pulled first (eviction reads this). */
  list(upstream: string, limit: number): Promise<CachedManifest[]>;
  /** Removes one row; true when it existed. */
  delete(repo: RepoName, reference: string): Promise<boolean>;
  /** How many rows and manifest bytes one upstream holds. */
  count(upstream: string): Promise<{ manifests: number; bytes: number }>;
  /** Records a new preheat request (status queued, nothing done). Throws ConflictError when the id exists. */
  createPreheat(p: { id: string; upstream: string; references: string[] }, now: number): Promise<PreheatRecord>;
  /** Writes a preheat's progress; false when it does not exist. */
  updatePreheat(id: string, progress: Pick<PreheatRecord, 'status' | 'done' | 'failed' | 'blobs' | 'bytes' | 'errors'>, now: number): Promise<boolean>;
  getPreheat(id: string): Promise<PreheatRecord | undefined>;
  /** Removes a preheat record; true when it existed. */
  deletePreheat(id: string): Promise<boolean>;
}

/** An upstream added through the API: its settings (JSON, no password) and its sealed password. */
export interface StoredUpstream {
  name: string;
  settings: Record<string, unknown>;
  /** Sealed by the caller (never the plain password); empty when there is none. */
  passwordSealed: string;
  createdAt: number;
}

export interface ProxyUpstreamQueries {
  /** Every stored upstream, by name. */
  list(): Promise<StoredUpstream[]>;
  /** Throws ConflictError when the name exists. */
  insert(u: StoredUpstream): Promise<void>;
  /** True when it existed. */
  delete(name: string): Promise<boolean>;
}
