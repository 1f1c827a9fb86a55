/**
 * A blob of a known digest and length written in parts by a caller that lets others read the
 * bytes already stored while the rest arrives (the pull-through cache: a client joining a
 * fetch under way reads what is stored, then follows). The bytes are hashed as they are
 * written (a large blob on a thread of its own, beside the bytes streaming to clients);
 * `commit` refuses, and removes them, unless every byte arrived and the digest matches, so
 * nothing unverified becomes a blob. Not an upload session: no metadata row, no lease.
 * UploadService.openBlob checks the quota room first and commits through the upload commit.
 *
 * Durability: parts are written without a flush (BlobStore `flush: false`); the store's commit
 * makes the bytes durable once, before the blob exists and before its row is written. Nobody
 * resumes these bytes after a crash (no session points at them): a crash before the commit
 * leaves an orphan upload that the stale-upload sweep removes, and the next pull is a miss.
 */
import { randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../storage/blob-store.js';
import { BodyTooLargeError, newHash, tapHash, ThreadHash } from './digester.js';
import { digestAlgorithm, type Digest } from '../domain/names.js';
import { digestMismatch, sizeMismatch } from './upload-errors.js';

export interface BlobWriter {
  /** Bytes stored so far (not yet durable: the commit flushes them): `read` may ask for up to this many. */
  written(): number;
  /**
   * Appends `part`; resolves once its bytes are stored and hashed (the buffers it yielded may
   * be reused then, not before). A failure removes everything written.
   */
  append(part: AsyncIterable<Buffer>): Promise<void>;
  /** The first `length` bytes (at most `written()`). */
  read(length: number): Promise<Readable>;
  /** Checks length and digest and commits the blob: durable, then recorded (quota checked in the transaction); on any failure the bytes are removed. */
  commit(): Promise<void>;
  /** Removes the bytes written. */
  abort(): Promise<void>;
}

/** Blobs from this size on are hashed on a thread of their own. */
const THREAD_HASH_BYTES = 32 * 1024 * 1024;

export async function openBlobWriter(
  blobs: BlobStore,
  digest: Digest,
  length: number,
  hooks: {
    /** Told the size of every part written (the pushed-bytes metric). */
    stored: (bytes: number) => void;
    /**
     * Makes the verified bytes the blob (the upload commit: durable, then recorded). The parts
     * were written without a flush, which `unflushed` passes on to BlobStore.commitUpload.
     */
    commit: (id: string, handle: string, size: number, options: { unflushed: true }) => Promise<void>;
  },
): Promise<BlobWriter> {
  const id = randomUUID();
  let handle = await blobs.createUpload(id);
  const algorithm = digestAlgorithm(digest);
  const threaded = length >= THREAD_HASH_BYTES ? new ThreadHash(algorithm) : undefined;
  const hash = threaded ?? newHash(algorithm);
  let written = 0;
  let finished = false;
  const drop = async () => {
    finished = true;
    threaded?.close();
    await blobs.deleteUpload(id, handle).catch(() => {});
  };
  return {
    written: () => written,
    append: async (part: AsyncIterable<Buffer>) => {
      if (finished) throw new Error('the blob writer is closed');
      try {
        const r = await blobs.writeUpload(id, handle, written, tapHash(part, hash, length - written), undefined, { flush: false });
        handle = r.handle;
        written += r.written;
        hooks.stored(r.written);
        // The thread has hashed this part too: the copies waiting for it stay within one part,
        // and buffers in shared memory it reads in place may be reused once this resolves.
        await threaded?.synced();
      } catch (e) {
        await drop();
        throw e instanceof BodyTooLargeError ? sizeMismatch(length, length + 1) : e;
      }
    },
    read: (n: number): Promise<Readable> => blobs.readUpload(id, handle, n),
    commit: async () => {
      try {
        if (written !== length) throw sizeMismatch(length, written);
        const hex = threaded ? await threaded.digest() : (hash as Hash).digest('hex');
        const actual = `${algorithm}:${hex}` as Digest;
        if (actual !== digest) throw digestMismatch(digest, actual);
        finished = true;
        await hooks.commit(id, handle, written, { unflushed: true });
      } catch (e) {
        await drop();
        throw e;
      }
    },
    abort: drop,
  };
}
