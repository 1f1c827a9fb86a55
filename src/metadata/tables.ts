/**
 * Row types of the metadata schema, as Kysely sees them. Times are integer milliseconds since
 * the epoch in both dialects; sizes are integers (JavaScript numbers, exact to 2^53 bytes).
 */
import type { Generated } from 'kysely';
import type { AuthTables } from './auth-tables.js';

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

export interface Database extends AuthTables {
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
}
