/** The registry core's services, built by main.ts and handed to the /v2 routes. */
import type { BlobService } from './blobs.js';
import type { HealthService } from './health.js';
import type { ListingService } from './listing.js';
import type { ManifestService } from './manifests.js';
import type { UploadService } from './uploads.js';

export interface RegistryServices {
  blobs: BlobService;
  uploads: UploadService;
  manifests: ManifestService;
  listing: ListingService;
  health: HealthService;
  limits: {
    maxManifestBytes: number;
    /** An upload body that sends nothing for this long is ended (0: never). */
    uploadIdleMs: number;
  };
}
