/**
 * The BlobStore interface: content-addressed bytes and the upload area where bytes wait
 * until their digest is known. Stores hold no rules: they never hash, never decide whether a
 * digest is right, and never touch metadata. The registry service verifies the digest of the
 * bytes it streams in and only then asks the store to commit them.
 *
 * Every implementation passes the one contract suite in test/suites/blob-store.case.ts.
 */
import type { Readable, Writable } from 'node:stream';
import type { Digest } from '../domain/names.js';

/** An inclusive byte range, as in HTTP. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStoreCapabilities {
  /** `redirectUrl` can hand out a URL the client may download from directly. */
  readonly redirect: boolean;
  /** `openCopy` is offered (stores over local files); without it `read` serves every blob. */
  readonly copy: boolean;
}

/** An opened blob (or range of one), ready to be copied into a Writable: see `BlobStore.openCopy`. */
export interface BlobCopy {
  /**
   * Writes every byte, in order, into `out` and then releases the blob. It never ends `out`.
   * Rejects on a read error, and with an error whose `code` is ERR_STREAM_PREMATURE_CLOSE when
   * `out` closes before the last byte (a client that went away). Call at most once.
   * `observe` sees every chunk before it is written (`last` on the final one); what it throws
   * stops the copy before that chunk and rejects.
   */
  writeTo(out: Writable, observe?: (chunk: Buffer, last: boolean) => void): Promise<void>;
  /** Releases the blob without copying (after `writeTo` it does nothing). */
  close(): Promise<void>;
}

export interface UploadWriteOptions {
  /**
   * false: the write resolves once the bytes are stored (readable with `readUpload` on this
   * host) without waiting for them to be durable; `commitUpload` told `unflushed` makes them durable. For a
   * writer that commits once at the end and whose partial upload nobody resumes after a crash
   * (the pull-through cache's fill: a lost upload is only a miss the next time). Default true.
   */
  flush?: boolean;
}

export interface BlobStore {
  readonly capabilities: BlobStoreCapabilities;

  /** Size in bytes of a committed blob, or undefined when it is absent. */
  stat(digest: Digest): Promise<number | undefined>;

  /**
   * Streams a committed blob, or the inclusive `range` of it (the caller checked the range
   * against the size). Throws NotFoundError when the blob is absent.
   */
  read(digest: Digest, range?: ByteRange, signal?: AbortSignal): Promise<Readable>;

  /**
   * Optional fast path for serving a blob, offered by stores that read local files: opens the
   * committed blob, or its inclusive `range`, for copying into a Writable through a few reused
   * buffers (a read stream allocates a buffer per chunk). Throws NotFoundError, like `read`,
   * before anything is written. The bytes are exactly those `read` streams. Every opened copy
   * must end in `writeTo` or `close`. Present exactly when `capabilities.copy` is set.
   */
  openCopy?(digest: Digest, range?: ByteRange): Promise<BlobCopy>;

  /**
   * A time-limited URL to download the blob from, when `capabilities.redirect` is set. Without
   * `expiresInSeconds` the store's configured lifetime applies.
   */
  redirectUrl(digest: Digest, expiresInSeconds?: number): Promise<string | undefined>;

  /** Removes a committed blob. Absent is not an error. */
  delete(digest: Digest): Promise<void>;

  /** Every committed blob, in no particular order (for garbage collection and checks). */
  list(signal?: AbortSignal): AsyncIterable<{ digest: Digest; size: number }>;

  /**
   * Starts an empty upload and returns the storage handle to persist with the upload session
   * (passed back on every later call; any node may make the next call). A store may store
   * nothing until the first write: committing an upload that was never written makes the
   * empty blob.
   */
  createUpload(id: string): Promise<string>;

  /**
   * Writes `source` at byte `offset` of the upload, replacing anything stored past `offset`.
   * When it resolves every byte is durable (unless `options.flush` is false); it returns the
   * new handle and the bytes written. It writes all the bytes or rejects; after a rejection the
   * first `offset` bytes of the upload under the old `handle` are unchanged (a later write may
   * continue from there). Throws NotFoundError when the upload is absent, StorageFullError
   * when storage is full.
   */
  writeUpload(id: string, handle: string, offset: number, source: AsyncIterable<Buffer>, signal?: AbortSignal, options?: UploadWriteOptions): Promise<{ handle: string; written: number }>;

  /**
   * Streams the first `length` bytes of an upload (to rebuild a digest state).
   * Throws NotFoundError when the upload is absent (before the stream is returned).
   */
  readUpload(id: string, handle: string, length: number, signal?: AbortSignal): Promise<Readable>;

  /**
   * Makes the first `size` bytes of the upload the committed blob `digest`, atomically and
   * durably, and removes the upload. Durably means whatever the writes left: with `unflushed`
   * (the upload was written with `flush: false`) the bytes are made durable here before the
   * blob exists, so a blob (and the metadata row the caller writes after this resolves) never
   * stands for bytes a crash could lose. If an intact copy of the blob (`size` bytes) exists the
   * upload is just removed; a stored copy of another size (truncated, or missing) is replaced.
   * Never pads: an upload holding fewer than `size` bytes is refused (NotFoundError) and no
   * blob is created. Checks the placed blob's size before resolving. Resolves true when this
   * call placed the bytes, false when an intact copy was already there.
   */
  commitUpload(id: string, handle: string, size: number, digest: Digest, options?: { unflushed?: boolean }): Promise<boolean>;

  /** Removes an upload and its bytes. Absent is not an error. */
  deleteUpload(id: string, handle: string): Promise<void>;

  /**
   * Every upload present in storage with its last write time (for expiry sweeps); one that
   * was started but never written may be missing.
   */
  listUploads(signal?: AbortSignal): AsyncIterable<{ id: string; modifiedAt: Date }>;

  /** Releases connections and timers. */
  close(): Promise<void>;
}
