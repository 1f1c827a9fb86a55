/**
 * Blob reads, deletes and cross-repository mounts. A repository serves a blob only when it
 * was pushed or mounted into it or one of its manifests references it; a manifest of the
 * repository can also be read through the blob endpoint, as with other registries.
 */
import type { Readable } from 'node:stream';
import { OciError } from '../errors/oci.js';
import { NotFoundError } from '../errors/store.js';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobCopy, BlobStore, ByteRange } from '../storage/blob-store.js';
import type { Digest, RepoName } from './names.js';
import { allowAllWrites, type WritePolicy } from './write-policy.js';

export type BlobBody =
  | {
      kind: 'stream';
      open: (range?: ByteRange) => Promise<Readable>;
      /** The store's copy fast path (BlobStore.openCopy), when it has one. */
      openCopy?: ((range?: ByteRange) => Promise<BlobCopy>) | undefined;
    }
  | { kind: 'bytes'; bytes: Buffer };

export interface BlobInfo {
  digest: Digest;
  size: number;
  mediaType: string;
  body: BlobBody;
}

export class BlobService {
  constructor(
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly now: () => number = Date.now,
    private readonly policy: WritePolicy = allowAllWrites,
  ) {}

  /** Size and a way to open the bytes, or BLOB_UNKNOWN. */
  async get(repo: RepoName, digest: Digest): Promise<BlobInfo> {
    const size = await this.meta.blobs.sizeInRepository(repo, digest);
    if (size !== undefined) {
      return {
        digest,
        size,
        mediaType: 'application/octet-stream',
        body: {
          kind: 'stream',
          open: (range) => missingAsUnknown(digest, this.blobs.read(digest, range)),
          openCopy: this.blobs.openCopy && ((range) => missingAsUnknown(digest, this.blobs.openCopy!(digest, range))),
        },
      };
    }
    const manifest = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    if (manifest) return { digest, size: manifest.size, mediaType: manifest.mediaType, body: { kind: 'bytes', bytes: manifest.content } };
    throw new OciError('BLOB_UNKNOWN', { digest });
  }

  /** A presigned URL for the blob when the store offers one. */
  async redirectUrl(digest: Digest, expiresInSeconds?: number): Promise<string | undefined> {
    return this.blobs.capabilities.redirect ? this.blobs.redirectUrl(digest, expiresInSeconds) : undefined;
  }

  /** Removes the repository's link to the blob; the bytes go when garbage collection finds them unreferenced. */
  async delete(repo: RepoName, digest: Digest): Promise<void> {
    if (!(await this.meta.blobs.unlink(repo, digest))) throw new OciError('BLOB_UNKNOWN', { digest });
  }

  /**
   * Mounts a blob from another repository the caller may read. Returns false (the caller
   * then starts an ordinary upload) when `from` does not serve the blob.
   */
  async mount(repo: RepoName, digest: Digest, from: RepoName): Promise<boolean> {
    return this.meta.transaction(async (tx) => {
      if ((await tx.blobs.sizeInRepository(from, digest)) === undefined) return false;
      await tx.blobs.link(repo, digest, 'mounted', this.now());
      await this.policy.blobLinked(tx, repo, digest);
      return true;
    }, { isolation: 'serializable' });
  }
}

async function missingAsUnknown<T>(digest: Digest, opening: Promise<T>): Promise<T> {
  try {
    return await opening;
  } catch (e) {
    if (e instanceof NotFoundError) throw new OciError('BLOB_UNKNOWN', { digest, reason: 'blob bytes are missing from storage' });
    throw e;
  }
}
