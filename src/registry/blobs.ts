/**
 * Blob reads, deletes and cross-repository mounts. A repository serves a blob only when it
 * was pushed or mounted into it or one of its manifests references it; a manifest of the
 * repository can also be read through the blob endpoint, as with other registries.
 *
 * Reads never serve wrong bytes silently. Before a response starts, the stored size is checked
 * against the recorded one (a `stat`): bytes that are missing or of another size answer
 * BLOB_UNKNOWN, for HEAD as for GET and for a mount, so clients push the blob again and the
 * commit replaces the damaged copy. With `verifyReads`, a whole-blob read is hashed as it
 * streams and the last chunk is held back until the digest matched: on a mismatch the
 * connection is cut before the final byte and the damaged bytes are removed, so the next
 * HEAD/GET says the blob is missing and a re-push repairs it. (Should a re-push land between
 * the read and that removal, its good bytes go too; the blob then reads as missing, never as
 * wrong, and is pushed again.)
 */
import { emitEvent, projectOf } from '../events/emit.js';
import { Transform, type Readable } from 'node:stream';
import { OciError } from '../errors/oci.js';
import { NotFoundError } from '../errors/store.js';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobCopy, BlobStore, ByteRange } from '../storage/blob-store.js';
import { newHash } from './digester.js';
import { digestAlgorithm, type Digest, type RepoName } from '../domain/names.js';
import { allowAllWrites, type WritePolicy } from '../policy/write-policy.js';

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

export interface BlobReadOptions {
  /** Hash whole-blob reads as they stream and cut the connection on a mismatch. */
  verifyReads: boolean;
}

/** Stored bytes that do not hash to their digest. */
export class BlobCorruptError extends Error {
  override readonly name = 'BlobCorruptError';
}

export class BlobService {
  constructor(
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly now: () => number = Date.now,
    private readonly policy: WritePolicy = allowAllWrites,
    private readonly options: BlobReadOptions = { verifyReads: false },
  ) {}

  /** Size and a way to open the bytes, or BLOB_UNKNOWN (also when the stored bytes are missing or damaged). */
  async get(repo: RepoName, digest: Digest): Promise<BlobInfo> {
    const size = await this.meta.blobs.sizeInRepository(repo, digest);
    if (size !== undefined) {
      await this.requireStored(digest, size);
      const whole = (range?: ByteRange) => this.options.verifyReads && (!range || (range.start === 0 && range.end === size - 1));
      return {
        digest,
        size,
        mediaType: 'application/octet-stream',
        body: {
          kind: 'stream',
          open: async (range) => {
            const stream = await missingAsUnknown(digest, this.blobs.read(digest, range));
            return whole(range) ? stream.pipe(this.verifier(digest, size, stream)) : stream;
          },
          openCopy:
            this.blobs.openCopy &&
            (async (range) => {
              const copy = await missingAsUnknown(digest, this.blobs.openCopy!(digest, range));
              if (!whole(range)) return copy;
              const observe = this.observer(digest, size);
              return {
                writeTo: async (out) => {
                  try {
                    await copy.writeTo(out, observe);
                  } catch (e) {
                    // Removed before the caller cuts the connection, so the client's next HEAD sees it.
                    if (e instanceof BlobCorruptError) await this.discard(digest);
                    throw e;
                  }
                },
                close: () => copy.close(),
              };
            }),
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
   * then starts an ordinary upload) when `from` does not serve the blob, or its stored bytes
   * are missing or damaged (the upload that follows repairs them).
   */
  async mount(repo: RepoName, digest: Digest, from: RepoName): Promise<boolean> {
    const size = await this.meta.blobs.sizeInRepository(from, digest);
    if (size === undefined || (await this.blobs.stat(digest)) !== size) return false;
    return this.meta.transaction(async (tx) => {
      if ((await tx.blobs.sizeInRepository(from, digest)) === undefined) return false;
      await tx.blobs.link(repo, digest, 'mounted', this.now());
      await this.policy.blobLinked(tx, repo, digest);
      await emitEvent(tx, { type: 'blob.mounted', project: projectOf(repo), repository: repo, data: { digest, from, size } }, this.now);
      return true;
    }, { isolation: 'serializable' });
  }

  /** BLOB_UNKNOWN unless storage holds exactly `size` bytes for the digest. */
  private async requireStored(digest: Digest, size: number): Promise<void> {
    const stored = await this.blobs.stat(digest);
    if (stored === size) return;
    const reason = stored === undefined ? 'the blob bytes are missing from storage; push the blob again' : `the stored blob is damaged (${stored} of ${size} bytes); push the blob again`;
    throw new OciError('BLOB_UNKNOWN', { digest, reason });
  }

  /** A chunk observer (BlobCopy.writeTo) that throws before the last chunk when the bytes do not hash to `digest`. */
  private observer(digest: Digest, size: number): (chunk: Buffer, last: boolean) => void {
    const hash = newHash(digestAlgorithm(digest));
    let seen = 0;
    return (chunk, last) => {
      hash.update(chunk);
      seen += chunk.length;
      if (!last) return;
      const failure = mismatch(digest, size, seen, `${digestAlgorithm(digest)}:${hash.digest('hex')}` as Digest);
      if (failure) throw failure;
    };
  }

  /** A pass-through that holds back the latest chunk until the digest of everything matched. */
  private verifier(digest: Digest, size: number, source: Readable): Transform {
    const hash = newHash(digestAlgorithm(digest));
    let seen = 0;
    let held: Buffer | undefined;
    const t = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        seen += chunk.length;
        const out = held;
        held = chunk;
        cb(null, out);
      },
      flush: (cb) => {
        const failure = mismatch(digest, size, seen, `${digestAlgorithm(digest)}:${hash.digest('hex')}` as Digest);
        if (!failure) return cb(null, held);
        void this.discard(digest).then(() => cb(failure));
      },
    });
    source.on('error', (e) => t.destroy(e));
    return t;
  }

  /** Removes damaged bytes, so the blob reads as missing and the next push replaces it. */
  private async discard(digest: Digest): Promise<void> {
    await this.blobs.delete(digest).catch(() => {});
  }
}

/** The error for bytes that are not the blob (`seen` bytes hashing to `actual`), or undefined when they are. */
function mismatch(digest: Digest, size: number, seen: number, actual: Digest): BlobCorruptError | undefined {
  if (seen === size && actual === digest) return undefined;
  return new BlobCorruptError(`blob ${digest} failed verification (${seen} bytes hashing to ${actual}); its stored bytes were removed so that a push repairs it`);
}

async function missingAsUnknown<T>(digest: Digest, opening: Promise<T>): Promise<T> {
  try {
    return await opening;
  } catch (e) {
    if (e instanceof NotFoundError) throw new OciError('BLOB_UNKNOWN', { digest, reason: 'blob bytes are missing from storage' });
    throw e;
  }
}
