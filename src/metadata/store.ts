/**
 * The MetadataStore interface: repositories, blobs a repository may serve, manifests and the
 * graph they form, tags and upload sessions. It holds no registry rules; the registry service
 * runs its checks inside `transaction` so that check and write commit together.
 *
 * Every implementation passes the one contract suite in test/suites/metadata-store.case.ts.
 */
import type { Kysely } from 'kysely';
import type { Digest, RepoName, Reference, Tag } from '../registry/names.js';
import type { Database } from './tables.js';

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
   * The byte-deletion fence of a digest: garbage collection bumps `version` and sets `pending`
   * in the transaction that gives up the blob's bytes, and clears `pending` once they are gone.
   */
  deletionState(digest: Digest): Promise<{ version: number; pending: boolean }>;
}

export interface UploadQueries {
  create(upload: { id: string; repository: RepoName; handle: string }, now: number): Promise<void>;
  get(id: string): Promise<UploadRecord | undefined>;
  /** Moves the upload from `fromOffset` to `toOffset`; false if it was not at `fromOffset` (or is gone). */
  advance(id: string, fromOffset: number, toOffset: number, handle: string, now: number): Promise<boolean>;
  /** False when the upload did not exist. */
  delete(id: string): Promise<boolean>;
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
}

export interface TagQueries {
  /** Tags in byte order strictly after `after`, at most `limit`; undefined if the repository is unknown. */
  list(repo: RepoName, after: string | undefined, limit: number): Promise<string[] | undefined>;
  /** Points `tag` at the repository's manifest `digest` (which must exist). */
  set(repo: RepoName, tag: Tag, digest: Digest, now: number): Promise<void>;
  /** False when the tag did not exist. */
  delete(repo: RepoName, tag: Tag): Promise<boolean>;
}

export interface MetadataQueries {
  readonly repositories: RepositoryQueries;
  readonly blobs: BlobQueries;
  readonly uploads: UploadQueries;
  readonly manifests: ManifestQueries;
  readonly tags: TagQueries;
  /**
   * The query builder of this store (or of the transaction), for feature modules that keep
   * their own tables (lifecycle, policy) and must run in the same transaction as the core.
   */
  readonly executor: Kysely<Database>;
}

export interface MetadataStore extends MetadataQueries {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `fn` in one serializable transaction; a throw rolls everything back. */
  transaction<T>(fn: (tx: MetadataQueries) => Promise<T>): Promise<T>;
  /** Applies pending migrations (safe to call from several nodes at once). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}
