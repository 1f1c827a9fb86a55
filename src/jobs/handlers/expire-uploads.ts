/**
 * Job kind `uploads.expire`: removes upload sessions nobody touched for the configured age,
 * with their bytes. The sweep takes an upload's write lease first, so an upload whose chunk
 * is still streaming (on any node) is left alone; storage goes after the session row, so a
 * client racing the sweep gets BLOB_UPLOAD_UNKNOWN rather than a session without bytes.
 */
import type { MetadataStore } from '../../metadata/store.js';
import type { BlobStore } from '../../storage/blob-store.js';
import type { JobHandler } from '../worker.js';

export const EXPIRE_UPLOADS = 'uploads.expire';

export function expireUploads(meta: MetadataStore, blobs: BlobStore, maxAgeMs: number, now: () => number = Date.now): JobHandler {
  return async (_payload, { signal }) => {
    for (;;) {
      signal.throwIfAborted();
      const stale = await meta.uploads.listStale(now() - maxAgeMs, 100);
      if (stale.length === 0) return;
      let removed = 0;
      for (const u of stale) {
        if (!(await meta.uploads.lock(u.id, 'uploads.expire', now() + 60_000, now()))) continue;
        if (await meta.uploads.delete(u.id)) {
          await blobs.deleteUpload(u.id, u.handle);
          removed++;
        }
      }
      if (removed === 0) return; // the rest is being written right now
    }
  };
}
