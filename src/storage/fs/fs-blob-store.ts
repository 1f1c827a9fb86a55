/**
 * Filesystem BlobStore: blobs at `<root>/blobs/<algorithm>/<first two hex>/<hex>`, uploads at
 * `<root>/uploads/<id>`. Durability: every upload write ends with fdatasync, a commit renames
 * the upload file into place and fsyncs both folders, so a blob path exists only with all its
 * bytes on disk. The handle is unused (the upload id names the file).
 */
import { mkdir, open, opendir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { NotFoundError } from '../../errors/store.js';
import type { Digest } from '../../registry/names.js';
import type { BlobCopy, BlobStore, ByteRange } from '../blob-store.js';
import { copyFileRange } from './copy.js';

/** Bytes written between background fdatasyncs while an upload streams in. */
const EARLY_SYNC_BYTES = 16 * 1024 * 1024;

export class FsBlobStore implements BlobStore {
  readonly capabilities = { redirect: false };
  private readonly blobsDir: string;
  private readonly uploadsDir: string;

  private constructor(root: string) {
    this.blobsDir = join(root, 'blobs');
    this.uploadsDir = join(root, 'uploads');
  }

  static async open(root: string): Promise<FsBlobStore> {
    const store = new FsBlobStore(root);
    await mkdir(store.blobsDir, { recursive: true });
    await mkdir(store.uploadsDir, { recursive: true });
    return store;
  }

  private blobPath(digest: Digest): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return join(this.blobsDir, algorithm, hex.slice(0, 2), hex);
  }

  private uploadPath(id: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new NotFoundError(`invalid upload id ${id}`);
    return join(this.uploadsDir, id);
  }

  async stat(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async read(digest: Digest, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const path = this.blobPath(digest);
    const fh = await open(path, 'r').catch((e: unknown) => {
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
    const fh = await open(this.blobPath(digest), 'r').catch((e: unknown) => {
      throw isNotFound(e) ? new NotFoundError(`blob ${digest}`) : e;
    });
    let closed: Promise<void> | undefined;
    const close = () => (closed ??= fh.close());
    return {
      async writeTo(out: Writable) {
        try {
          const end = range ? range.end : (await fh.stat()).size - 1;
          await copyFileRange(fh, range?.start ?? 0, end, out);
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
    const fh = await open(this.uploadPath(id), 'wx');
    await fh.close();
    return '';
  }

  async writeUpload(id: string, handle: string, offset: number, source: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<{ handle: string; written: number }> {
    const fh = await open(this.uploadPath(id), 'r+').catch((e: unknown) => {
      throw isNotFound(e) ? new NotFoundError(`upload ${id}`) : e;
    });
    let written = 0;
    // Write-back runs beside the receive: every EARLY_SYNC_BYTES an fdatasync starts in the
    // background (one at a time), so the disk writes while the socket still delivers and the
    // final fdatasync only has the tail left. Durability is unchanged: that final fdatasync
    // still completes before this method returns.
    let early: Promise<void> | undefined;
    let earlyError: unknown;
    let unsynced = 0;
    try {
      // Chunks from the socket are small; gathering about 1 MiB per writev keeps syscalls few.
      let batch: Buffer[] = [];
      let batchBytes = 0;
      const flush = async () => {
        let pos = offset + written - batchBytes;
        for (let i = 0; i < batch.length; ) {
          const r = await fh.writev(batch.slice(i, i + 512), pos);
          pos += r.bytesWritten;
          i += 512;
        }
        unsynced += batchBytes;
        batch = [];
        batchBytes = 0;
        if (unsynced >= EARLY_SYNC_BYTES && !early) {
          unsynced = 0;
          early = fh.datasync().then(
            () => void (early = undefined),
            (e: unknown) => void ((earlyError = e), (early = undefined)),
          );
        }
      };
      for await (const chunk of source) {
        signal?.throwIfAborted();
        batch.push(chunk);
        batchBytes += chunk.length;
        written += chunk.length;
        if (batchBytes >= 1024 * 1024) await flush();
      }
      await flush();
      await early;
      if (earlyError) throw earlyError;
      await fh.truncate(offset + written);
      await fh.datasync();
    } finally {
      await early;
      await fh.close();
    }
    return { handle, written };
  }

  async readUpload(id: string, _handle: string, length: number, signal?: AbortSignal): Promise<Readable> {
    if (length === 0) {
      const { Readable } = await import('node:stream');
      return Readable.from([]);
    }
    // Opened here, not lazily by the stream, so that missing bytes (an upload whose commit
    // renamed them away before a crash) are the contract's NotFoundError, not a stream error.
    const fh = await open(this.uploadPath(id), 'r').catch((e: unknown) => {
      throw isNotFound(e) ? new NotFoundError(`upload ${id}`) : e;
    });
    return fh.createReadStream({ start: 0, end: length - 1, highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) } as Parameters<typeof fh.createReadStream>[0]);
  }

  async commitUpload(id: string, _handle: string, size: number, digest: Digest): Promise<void> {
    const from = this.uploadPath(id);
    const to = this.blobPath(digest);
    const fh = await open(from, 'r+').catch((e: unknown) => {
      throw isNotFound(e) ? new NotFoundError(`upload ${id}`) : e;
    });
    try {
      // writeUpload made every byte durable before it resolved; only a shortened file needs
      // another flush (of its new size).
      if ((await fh.stat()).size !== size) {
        await fh.truncate(size);
        await fh.datasync();
      }
    } finally {
      await fh.close();
    }
    if ((await this.stat(digest)) !== undefined) {
      await rm(from, { force: true });
      return;
    }
    const dir = join(to, '..');
    // A folder created here must itself be durable in its parent, or a crash could lose it
    // and the blob inside it.
    const created = await mkdir(dir, { recursive: true });
    await rename(from, to);
    const parents = created ? createdFolders(this.blobsDir, created, dir) : [];
    await Promise.all([fsyncDir(dir), fsyncDir(this.uploadsDir), ...parents.map(fsyncDir)]);
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

  async close(): Promise<void> {}
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

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
