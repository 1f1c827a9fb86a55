/**
 * Queries of the operations tools (scrub): pages over every stored blob and manifest, in a
 * stable order so a long run can stop and resume from the last item it finished. They hold no
 * rules: what counts as damage and what to do about it is src/ops/scrub.ts.
 */
import type { Digest, RepoName } from '../domain/names.js';

export interface ScrubQueries {
  /**
   * Blob rows in digest order after `after` (exclusive), at most `limit`. With `repository`,
   * only the blobs that repository may serve: linked to it (pushed, mounted) or referenced by
   * one of its manifests. Empty when there are no more.
   */
  blobs(page: { after?: Digest | undefined; limit: number; repository?: RepoName | undefined }): Promise<{ digest: Digest; size: number }[]>;
  /**
   * Manifests in (repository name, digest) order after `after` (exclusive), at most `limit`,
   * with their stored bytes; with `repository`, only that repository's.
   */
  manifests(page: { after?: { repository: string; digest: Digest } | undefined; limit: number; repository?: RepoName | undefined }): Promise<{ repository: RepoName; digest: Digest; content: Buffer }[]>;
  /** How many blob rows `blobs` pages over, and their total size (progress bars). */
  blobTotals(repository?: RepoName): Promise<{ blobs: number; bytes: number }>;
  /** The repository-and-manifest pairs whose manifests reference `digest` as a blob (config or layer), at most `limit`. */
  referencedBy(digest: Digest, limit: number): Promise<{ repository: RepoName; manifest: Digest }[]>;
}
