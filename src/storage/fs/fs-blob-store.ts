/**
 * Filesystem BlobStore: blobs at `<root>/blobs/<algorithm>/<first two hex>/<hex>`, uploads at
 * `<root>/uploads/<id>`. Durability: an upload write ends with fdatasync (unless asked not to
 * flush), a commit fdatasyncs the upload file (whatever the writes left unflushed), renames it
 * into place and fsyncs the blob's folder (commits that arrive together share one fsync per
 * folder, sync-group.ts), so a blob path exists only with all its bytes on disk. The handle
 * is unused (the upload id names the file), and an upload's file is made by its first write.
 *
 * Thread-pool round trips: each asynchronous file call is one, and on a busy event loop each
 * costs more than the call itself (a wake-up of a pool thread and of the loop, measured in
 * bench/results/profiles/ab-2026-12-05-small-writes.txt). So the calls that only fill the
 * page cache or read an inode (a small upload's writes, its close, stat) run on the event
 * loop, as the SQLite WAL's writes already do, and so does the commit's rename (cheaper there
 * than a round trip, measured); the calls that may wait go to the pool: creating a file, which
 * can wait for ext4's journal, and the flushes. A small blob pushed in one request costs three
 * round trips (open, fdatasync, its folder's fsync) instead of eight.
 *
 * Integrity on a filling disk: `write` may take part of a buffer and return a short count, and
 * then fail with ENOSPC. Every write loop (file-writes.ts) writes all of its bytes or throws; an upload
 * write that fails for lack of space cuts the file back to the offset it started from (the
 * last durable offset), giving back the space it took, and nothing ever extends a file with
 * `truncate` (which would pad it with zeros). A commit checks that the upload holds at least the bytes it was asked to
 * commit and that the placed blob has exactly that size. ENOSPC and EDQUOT surface as
 * StorageFullError.
 *
 * A commit replaces a stored copy of the digest whose size is wrong (truncated, or a missing
 * file), atomically by rename, so a re-push repairs it; an intact copy is kept.
 */
import { mkdir, open as openFile, opendir, readdir, rm, stat } from 'node:fs/promises';
import { closeSync, fdatasync, fstatSync, ftruncateSync, open as openCallback, openSync, renameSync, statSync, writevSync } from 'node:fs';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { asStorageFull, NotFoundError } from '../../errors/store.js';
import type { Digest } from '../../domain/names.js';
import type { BlobCopy, BlobStore, ByteRange, UploadWriteOptions } from '../blob-store.js';
import { copyFileRange } from './copy.js';
import { sendFileRange } from './sendfile.js';
import { FolderSyncs } from './sync-group.js';
import { Continued, EarlySync, gather, OverlappedWrites, writeAllSync } from './file-writes.js';

/**
 * A first write whose whole body arrives within this many bytes is a small body, written on
 * the event loop (configs, manifests pushed as blobs, signatures, small layers); a larger one
 * streams through a file handle in the thread pool.
 */
const SMALL_BODY_BYTES = 256 * 1024;

/**
 * The file system calls that write upload bytes: node:fs's unless others are passed (the
 * contract suite passes ones that write short and fail with ENOSPC, as a filling disk does).
 */
export interface FsOps {
  /** Opens a file for a large or continued write, or a flush (its calls run in the thread pool). */
  open(path: string, flags: string): Promise<FileHandle>;
  /** Writes a small body's buffers at `position` on the event loop; returns the bytes taken. */
  writevSync(fd: number, buffers: Buffer[], position: number): number;
  /** Flushes a small body's bytes (in the thread pool). */
  fdatasync(fd: number): Promise<void>;
}

export const nodeFs: FsOps = {
  open: (path, flags) => openFile(path, flags),
  writevSync: (fd, buffers, position) => writevSync(fd, buffers, position),
  fdatasync: (fd) => new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve()))),
};

/**
 * Where the committed bytes of `digest` live under a store's `root` (backup and restore copy
 * or hard-link these files; a committed file is never changed in place, only replaced by rename).
 */
export function fsBlobPath(root: string, digest: Digest): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return join(root, 'blobs', algorithm, hex.slice(0, 2), hex);
}

export class FsBlobStore implements BlobStore {
  readonly capabilities = { redirect: false, copy: true };
  private readonly blobsDir: string;
  private readonly uploadsDir: string;
  /** The blob folders' fsyncs, shared by the commits that land in one folder together. */
  private readonly folders = new FolderSyncs();

  private constructor(
    root: string,
    private readonly fs: FsOps,
    /** Whether pulls may go out with sendfile(2) (sendfile.ts) when they can. */
    private readonly sendfile: boolean,
  ) {
    this.blobsDir = join(root, 'blobs');
    this.uploadsDir = join(root, 'uploads');
  }

  static async open(root: string, fs: FsOps = nodeFs, options: { sendfile?: boolean } = {}): Promise<FsBlobStore> {
    const store = new FsBlobStore(root, fs, options.sendfile ?? false);
    await mkdir(store.blobsDir, { recursive: true });
    await mkdir(store.uploadsDir, { recursive: true });
    return store;
  }

  private blobPath(digest: Digest): string {
    return fsBlobPath(join(this.blobsDir, '..'), digest);
  }

  private uploadPath(id: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new NotFoundError(`invalid upload id ${id}`);
    return join(this.uploadsDir, id);
  }

  async stat(digest: Digest): Promise<number | undefined> {
    // Every blob HEAD and GET asks this first. A stat of a local file reads cached inode data:
    // done on the event loop it costs about 2 µs of CPU, where the thread pool's round trip
    // costs about 11 µs and, on a busy machine, waits for a scheduler slot twice (measured here).
    // The upload paths stat their files the same way, for the same reason. An absent file (every
    // new blob's commit asks) is undefined without an exception made and thrown (6.6 µs here).
    return statSync(this.blobPath(digest), { throwIfNoEntry: false })?.size;
  }

  async read(digest: Digest, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const path = this.blobPath(digest);
    const fh = await openFile(path, 'r').catch((e: unknown) => {
      throw isNotFound(e) ? new NotFoundError(`blob ${digest}`) : e;
    });
    return fh.createReadStream({
      start: range?.start,
      end: range?.end,
      highWaterMark: 1024 * 1024,
      ...(signal ? { signal } : {}),
    } as Parameters<typeof fh.createReadStream>[0]);
  }

  async openCopy(digest: Digest, range?: ByteRange): Promise<BlobCopy> {
    const fh = await openFile(this.blobPath(digest), 'r').catch((e: unknown) => {
      throw isNotFound(e) ? new NotFoundError(`blob ${digest}`) : e;
    });
    let closed: Promise<void> | undefined;
    const close = () => (closed ??= fh.close());
    const sendfile = this.sendfile;
    return {
      async writeTo(out: Writable, observe?: (chunk: Buffer, last: boolean) => void) {
        try {
          const end = range ? range.end : (await fh.stat()).size - 1;
          const start = range?.start ?? 0;
          if (!observe && sendfile && end >= start && (await sendFileRange(out, fh, start, end))) return;
          await copyFileRange(fh, start, end, out, undefined, undefined, observe);
        } finally {
          await close();
        }
      },
      close,
    };
  }

  async redirectUrl(): Promise<string | undefined> {
    return undefined;
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async *list(signal?: AbortSignal): AsyncIterable<{ digest: Digest; size: number }> {
    for (const algorithm of await readdirOrEmpty(this.blobsDir)) {
      for (const prefix of await readdirOrEmpty(join(this.blobsDir, algorithm))) {
        const dir = await opendir(join(this.blobsDir, algorithm, prefix)).catch(() => undefined);
        if (!dir) continue;
        for await (const entry of dir) {
          signal?.throwIfAborted();
          if (!entry.isFile()) continue;
          const size = (await stat(join(dir.path, entry.name)).catch(() => undefined))?.size;
          if (size !== undefined) yield { digest: `${algorithm}:${entry.name}` as Digest, size };
        }
      }
    }
  }

  async createUpload(id: string): Promise<string> {
    // Nothing to make yet: the first write creates the file (a session whose client never
    // sends a byte leaves none), and a commit of no bytes makes an empty one.
    this.uploadPath(id);
    return '';
  }

  async writeUpload(id: string, handle: string, offset: number, source: AsyncIterable<Buffer>, signal?: AbortSignal, options?: UploadWriteOptions): Promise<{ handle: string; written: number }> {
    const durable = options?.flush ?? true;
    // At offset 0 the file is opened truncated: no earlier attempt's bytes can remain, so it
    // needs neither the size check nor the truncate below (two fewer calls for every blob
    // pushed in one request). Past 0 it must hold exactly the session's bytes so far.
    const fresh = offset === 0;
    let started: Continued | undefined;
    if (fresh) {
      const start = await gather(source, SMALL_BODY_BYTES);
      if (!start.rest) return { handle, written: await this.writeSmall(id, start.chunks, start.bytes, durable, signal) };
      source = started = start.rest;
    }
    const fh = await this.fs.open(this.uploadPath(id), fresh ? 'w' : 'r+').catch(async (e: unknown) => {
      // The body was read into: let it go (its socket can then be drained for the answer).
      await started?.close();
      throw isNotFound(e) ? new NotFoundError(`upload ${id}`) : fullAsStorageFull(e);
    });
    let written = 0;
    const writes = new OverlappedWrites(fh, offset, new EarlySync(fh, durable));
    let began = false;
    try {
      // Writing past the end of a shorter file would leave a hole that reads as zeros.
      const before = fresh ? 0 : fstatSync(fh.fd).size;
      began = before >= offset;
      if (before < offset) throw new NotFoundError(`upload ${id} holds ${before} bytes, not the ${offset} its session recorded`);
      for await (const chunk of source) {
        signal?.throwIfAborted();
        written += chunk.length;
        await writes.add(chunk);
      }
      await writes.finish();
      // Only ever shortens the file: every byte up to offset + written was just written.
      if (before > offset + written) await fh.truncate(offset + written);
      if (durable) await fh.datasync();
      const size = fstatSync(fh.fd).size;
      if (size !== offset + written) throw new Error(`upload ${id} holds ${size} bytes after a write to ${offset + written}`);
    } catch (e) {
      await writes.quiet();
      // On a full disk the space this failed write took is given back (its bytes are not part
      // of the upload; the next write at `offset` would replace them anyway). Not after an
      // abort: the write lease may have passed to a writer whose bytes follow `offset` now.
      if (began && asStorageFull(e) && !signal?.aborted) await fh.truncate(offset).catch(() => {});
      fullAsStorageFull(e);
    } finally {
      await writes.quiet();
      await fh.close();
    }
    return { handle, written };
  }

  /**
   * A whole small body as the upload's first write: the file created (or truncated) and
   * flushed in the thread pool, written and closed on the event loop. On failure its bytes
   * are cut off again, giving back the space they took (see writeUpload).
   */
  private async writeSmall(id: string, chunks: Buffer[], bytes: number, durable: boolean, signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    // Opened in the pool: creating a file takes ext4's journal, and while a commit of the
    // journal (any fsync) is locked, that waits; on the event loop it waited 500 µs on average
    // under concurrent pushes. The writes that follow only fill the page cache.
    const fd = await openFd(this.uploadPath(id), 'w').catch(fullAsStorageFull);
    try {
      writeAllSync(this.fs.writevSync, fd, chunks);
      if (durable) await this.fs.fdatasync(fd);
      const size = fstatSync(fd).size;
      if (size !== bytes) throw new Error(`upload ${id} holds ${size} bytes after a write of ${bytes}`);
    } catch (e) {
      if (asStorageFull(e) && !signal?.aborted) {
        try {
          ftruncateSync(fd, 0);
        } catch {
          // The cut is a courtesy to the disk; the session stays at offset 0 either way.
        }
      }
      fullAsStorageFull(e);
    } finally {
      closeSync(fd);
    }
    return bytes;
  }

  async readUpload(id: string, _handle: string, length: number, signal?: AbortSignal): Promise<Readable> {
    if (length === 0) {
      const { Readable } = await import('node:stream');
      return Readable.from([]);
    }
    // Opened here, not lazily by the stream, so that missing bytes (an upload whose commit
    // renamed them away before a crash) are the contract's NotFoundError, not a stream error.
    const fh = await openFile(this.uploadPath(id), 'r').catch((e: unknown) => {
      throw isNotFound(e) ? new NotFoundError(`upload ${id}`) : e;
    });
    return fh.createReadStream({ start: 0, end: length - 1, highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) } as Parameters<typeof fh.createReadStream>[0]);
  }

  async commitUpload(id: string, _handle: string, size: number, digest: Digest, options: { unflushed?: boolean } = {}): Promise<boolean> {
    const from = this.uploadPath(id);
    const to = this.blobPath(digest);
    // Bytes written with `flush: false` are still in the page cache, and a shortened file needs
    // its new size on disk: one flush before the blob exists. An upload whose writes each
    // flushed needs none (the push path: one fewer open, sync and close per blob).
    // A file shorter than `size` lost bytes: never pad it.
    let held: number;
    try {
      held = statSync(from).size;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      if (size > 0) throw new NotFoundError(`upload ${id}`);
      // No write ever made the file: the blob is empty.
      closeSync(openSync(from, 'w'));
      held = 0;
    }
    if (held < size) throw new NotFoundError(`upload ${id} holds ${held} bytes, ${size} expected`);
    if (held > size || options.unflushed) {
      const fh = await this.fs.open(from, 'r+');
      try {
        if (held > size) await fh.truncate(size);
        await fh.datasync();
      } catch (e) {
        fullAsStorageFull(e);
      } finally {
        await fh.close();
      }
    }
    // An intact copy stays; a missing or wrong-sized one is replaced (a re-push repairs it).
    if ((await this.stat(digest)) === size) {
      await rm(from, { force: true });
      return false;
    }
    const dir = dirname(to);
    try {
      // A folder created here must itself be durable in its parent, or a crash could lose it
      // and the blob inside it. The uploads folder is not synced: a crash that forgets the
      // rename's removal there leaves an orphan upload file (removed with stale uploads), never
      // loses the blob, whose folder is synced. A folder this store has synced exists (it
      // never removes one), so it needs no mkdir; one removed from outside is made again.
      let created: string | undefined;
      if (this.folders.has(dir)) {
        try {
          renameSync(from, to);
        } catch (e) {
          if (!isNotFound(e)) throw e;
          await this.folders.forget(dir);
          created = await mkdir(dir, { recursive: true });
          renameSync(from, to);
        }
      } else {
        created = await mkdir(dir, { recursive: true });
        renameSync(from, to);
      }
      const parents = created ? createdFolders(this.blobsDir, created, dir) : [];
      await Promise.all([dir, ...parents].map((d) => this.folders.sync(d)));
    } catch (e) {
      fullAsStorageFull(e);
    }
    return true;
  }

  async deleteUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
  }

  async *listUploads(signal?: AbortSignal): AsyncIterable<{ id: string; modifiedAt: Date }> {
    for (const name of await readdirOrEmpty(this.uploadsDir)) {
      signal?.throwIfAborted();
      const s = await stat(join(this.uploadsDir, name)).catch(() => undefined);
      if (s) yield { id: name, modifiedAt: s.mtime };
    }
  }

  async close(): Promise<void> {
    await this.folders.close();
  }
}

/** Opens a file descriptor (one thread-pool round trip, like a FileHandle's open, but closable synchronously). */
const openFd = promisify(openCallback) as (path: string, flags: string) => Promise<number>;

/** Rethrows `e`, as StorageFullError when it says the disk or quota is full. */
function fullAsStorageFull(e: unknown): never {
  throw asStorageFull(e) ?? e;
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

/** The parents whose entries changed when `mkdir -p` created `first` .. `last` (under `root`). */
function createdFolders(root: string, first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = last; d.length >= first.length && d.startsWith(root); d = dirname(d)) out.push(dirname(d));
  return out;
}
