/**
 * Row types of the metadata schema, as Kysely sees them. Times are integer milliseconds since
 * the epoch in both dialects; sizes are integers (JavaScript numbers, exact to 2^53 bytes).
 */
import type { Generated } from 'kysely';
import type { AuthTables } from './auth-tables.js';
import type { ScanTables } from './scan-tables.js';
import type { SigningTables } from './signing-tables.js';
import type { EventTables } from './event-tables.js';

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  project: string;
  created_at: number;
}

export interface BlobsTable {
  digest: string;
  size: number;
  media_type: string | null;
  created_at: number;
}

export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  /** How the repository got the blob: `pushed` or `mounted`. */
  source: string;
  created_at: number;
}

export interface ManifestsTable {
  id: Generated<number>;
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  subject_digest: string | null;
  size: number;
  content: Buffer;
  /** JSON text of the manifest's annotations, kept for listing referrers without parsing. */
  annotations: string | null;
  pushed_at: number;
  last_pulled_at: number | null;
}

export interface ManifestBlobsTable {
  manifest_id: number;
  digest: string;
}

export interface ManifestChildrenTable {
  parent_id: number;
  child_id: number;
}

export interface TagsTable {
  repository_id: number;
  name: string;
  manifest_id: number;
  updated_at: number;
}

export interface UploadsTable {
  id: string;
  repository: string;
  byte_offset: number;
  handle: string;
  started_at: number;
  updated_at: number;
  /** Holder of the write lease (a request somewhere), until `writer_until`. */
  writer: Generated<string | null>;
  writer_until: Generated<number | null>;
  /** The repository's project, and who started the session (caps and quotas count by them). */
  project: Generated<string | null>;
  owner: Generated<string | null>;
}

export interface SettingsTable {
  key: string;
  value: string;
  created_at: number;
}

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  /** JSON text. */
  payload: string;
  /** queued | running | succeeded | failed */
  status: string;
  attempts: number;
  max_attempts: number;
  run_at: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  /** At most one queued or running job holds a given key. */
  dedupe_key: string | null;
  created_at: number;
  updated_at: number;
}

export interface ChangesTable {
  id: Generated<number>;
  repository: string;
  created_at: number;
}

/** Lifecycle tables (migration 0002-lifecycle); owned by src/lifecycle and src/policy. */
export interface GcReviewsTable {
  kind: 'manifest' | 'link' | 'blob' | 'orphan';
  repository_id: number;
  digest: string;
  queued_at: number;
  not_before: number;
}

export interface BlobDeletionsTable {
  digest: string;
  version: number;
  /** 1 while the bytes may still be being deleted. */
  pending: number;
  updated_at: number;
}

export interface GcRunsTable {
  id: Generated<number>;
  trigger: string;
  dry_run: number;
  status: string;
  started_at: number;
  finished_at: number | null;
  progress: string | null;
  result: string | null;
  error: string | null;
}

export interface LifecycleLeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface ProjectLifecycleTable {
  project: string;
  retention: string | null;
  immutability: string | null;
  quota: string | null;
  updated_at: number;
}

export interface RetentionRunsTable {
  id: Generated<number>;
  project: string;
  trigger: string;
  dry_run: number;
  status: string;
  started_at: number;
  finished_at: number | null;
  result: string | null;
  error: string | null;
}

export interface TrashTable {
  id: Generated<number>;
  run_id: number;
  project: string;
  repository: string;
  tag: string | null;
  digest: string;
  removed_at: number;
  expires_at: number;
  restored_at: number | null;
}

export interface ProxyManifestsTable {
  repository: string;
  reference: string;
  upstream: string;
  digest: string;
  media_type: string;
  content: Buffer;
  fetched_at: number;
  checked_at: number;
  pulled_at: number;
}

export interface ProxyPreheatsTable {
  id: string;
  upstream: string;
  /** JSON array of the references asked for. */
  refs: string;
  status: string;
  done: number;
  failed: number;
  blobs: number;
  bytes: number;
  /** JSON array of error lines (reference: why). */
  errors: string;
  created_at: number;
  updated_at: number;
}

export interface ProxyUpstreamsTable {
  name: string;
  /** JSON of the upstream's settings without its password. */
  settings: string;
  /** The password, sealed (empty when there is none). */
  password_sealed: string;
  created_at: number;
}

export interface Database extends AuthTables, SigningTables, EventTables, ScanTables {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_blobs: ManifestBlobsTable;
  manifest_children: ManifestChildrenTable;
  tags: TagsTable;
  uploads: UploadsTable;
  settings: SettingsTable;
  jobs: JobsTable;
  changes: ChangesTable;
  gc_reviews: GcReviewsTable;
  blob_deletions: BlobDeletionsTable;
  gc_runs: GcRunsTable;
  lifecycle_leases: LifecycleLeasesTable;
  project_lifecycle: ProjectLifecycleTable;
  retention_runs: RetentionRunsTable;
  trash: TrashTable;
  proxy_manifests: ProxyManifestsTable;
  proxy_preheats: ProxyPreheatsTable;
  proxy_upstreams: ProxyUpstreamsTable;
}
