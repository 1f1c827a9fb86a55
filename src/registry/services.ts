/** The registry core's services, built by main.ts and handed to the /v2 routes. */
import type { BlobService } from './blobs.js';
import type { HealthService } from './health.js';
import type { ListingService } from './listing.js';
import type { ManifestService } from './manifests.js';
import type { UploadService } from './uploads.js';
import type { RepoName } from '../domain/names.js';

/** The public methods of a service: what a decorator (the pull-through cache) must offer. */
export type Operations<T> = { [K in keyof T]: T[K] };

/** A response's extra headers, when a decorator adds some (the pull-through cache's X-Berth-Proxy). */
export interface ServedHeaders {
  headers?: Record<string, string>;
}

export interface RegistryServices {
  blobs: Operations<BlobService>;
  uploads: Operations<UploadService>;
  manifests: Operations<ManifestService>;
  listing: Operations<ListingService>;
  health: HealthService;
  /**
   * Maps the repository of a pull to the one that serves it (transparent mirroring: `?ns=` and
   * a default mirror); absent when nothing is mirrored, so ordinary reads pay nothing.
   */
  routeRepo?: (repo: RepoName, query: Record<string, string | undefined>) => Promise<RepoName> | RepoName;
  limits: {
    maxManifestBytes: number;
    /** An upload body that sends nothing for this long is ended (0: never). */
    uploadIdleMs: number;
  };
}
