/**
 * The filesystem store's writes (fs-blob-store.ts): writes that take every byte or throw (a
 * filling disk writes short, then fails with ENOSPC), a streamed upload's batches written while
 * the next is received, the background syncs of a long upload, and the start of a body read
 * before the store chooses how to write it.
 */
import type { FileHandle } from 'node:fs/promises';

/**
 * Bytes written between background fdatasyncs while an upload streams in. Below the 5-8 MiB
 * PATCHes of chunked clients, so that each PATCH's final fdatasync has only its tail left.
 * 256 MiB in 8 MiB PATCHes against 16 MiB, alternating pairs: with 3 MiB all 8 pairs faster
 * (1-18%); with 4 MiB 6 of 8 faster (5-20%), the first round's two slower (27-31%). A
 * monolithic push showed no difference with 3 MiB (medians 314 against 328 MB/s).
 */
const EARLY_SYNC_BYTES = 4 * 1024 * 1024;

/**
 * Writes every byte of `buffers` at `position`, or throws. `writev` may write fewer bytes than
 * asked (a filling disk), so the loop continues from the first unwritten byte.
 */
export async function writeAll(fh: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  const pending = buffers.filter((b) => b.length > 0);
  for (let pos = position; pending.length > 0; ) pos += took(pending, (await fh.writev(pending.slice(0, 512), pos)).bytesWritten, pos);
}

/** Bytes gathered from the socket per writev of a streamed upload. */
const BATCH_BYTES = 1024 * 1024;

/**
 * A streamed upload's writes at `position` onwards: chunks gathered into batches of about
 * BATCH_BYTES, each written in the thread pool while the next is gathered (one write in
 * flight), so the receive and hash on the event loop overlap the copy into the page cache on
 * another core. Waiting for each write before reading on cost a 256 MiB push a third of its
 * rate where the copy is slow (fresh page-cache pages on a VM whose host maps guest memory
 * lazily). A failed write is thrown by the next `add` or by `finish`; nothing is reported
 * written before its write completed.
 */
export class OverlappedWrites {
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly fh: FileHandle,
    private position: number,
    private readonly writeBack: EarlySync,
  ) {}

  /** Takes a chunk; waits only when a full batch must wait for the write before it. */
  async add(chunk: Buffer): Promise<void> {
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= BATCH_BYTES) await this.send();
  }

  /** Writes what is gathered and waits for every write and background sync; throws what any failed with. */
  async finish(): Promise<void> {
    await this.send();
    await this.inFlight;
    await this.writeBack.settle();
  }

  /** Waits for the write and the background sync in flight, whatever their outcome (before the file is cut or closed). */
  async quiet(): Promise<void> {
    await this.inFlight?.catch(() => {});
    await this.writeBack.quiet();
  }

  private async send(): Promise<void> {
    await this.inFlight;
    if (this.batchBytes === 0) return;
    const [buffers, bytes, at] = [this.batch, this.batchBytes, this.position];
    this.batch = [];
    this.batchBytes = 0;
    this.position += bytes;
    this.inFlight = writeAll(this.fh, buffers, at).then(() => this.writeBack.wrote(bytes));
    // Seen by the next send or finish; until then it must not count as unhandled.
    this.inFlight.catch(() => {});
  }
}

/** `writeAll` on the event loop through `writevSync` (which returns the bytes taken), for a small body at the start of a file. */
export function writeAllSync(writevSync: (fd: number, buffers: Buffer[], position: number) => number, fd: number, buffers: Buffer[]): void {
  const pending = buffers.filter((b) => b.length > 0);
  for (let pos = 0; pending.length > 0; ) pos += took(pending, writevSync(fd, pending.slice(0, 512), pos), pos);
}

/** Drops the `bytesWritten` a write at `pos` took from the front of `pending`; returns it. None taken is a full disk. */
function took(pending: Buffer[], bytesWritten: number, pos: number): number {
  if (bytesWritten <= 0) throw Object.assign(new Error(`the file system took no bytes at offset ${pos}`), { code: 'ENOSPC' });
  let skip = bytesWritten;
  while (skip > 0) {
    const first = pending[0]!;
    if (first.length <= skip) {
      skip -= first.length;
      pending.shift();
    } else {
      pending[0] = first.subarray(skip);
      skip = 0;
    }
  }
  return bytesWritten;
}

/**
 * Reads `source` until it ends or brings more than `limit` bytes. A source that ended is
 * whole in `chunks`; otherwise `rest` yields those chunks and then the rest of the source.
 */
export async function gather(source: AsyncIterable<Buffer>, limit: number): Promise<{ chunks: Buffer[]; bytes: number; rest?: Continued }> {
  const it = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let bytes = 0;
  for (let r = await it.next(); !r.done; r = await it.next()) {
    chunks.push(r.value);
    bytes += r.value.length;
    if (bytes > limit) return { chunks, bytes, rest: new Continued(chunks, it) };
  }
  return { chunks, bytes };
}

/** A source read into: its first chunks, then the rest of it. */
export class Continued implements AsyncIterable<Buffer> {
  constructor(
    private readonly first: Buffer[],
    private readonly it: AsyncIterator<Buffer>,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    try {
      yield* this.first;
      for (let r = await this.it.next(); !r.done; r = await this.it.next()) yield r.value;
    } finally {
      // As for-await does when its loop ends early: the source releases what it holds.
      await this.close();
    }
  }

  /** Ends the source (also when it is never iterated further). */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/**
 * Write-back beside the receive: every EARLY_SYNC_BYTES written, an fdatasync starts in the
 * background (one at a time), so the disk writes while the socket still delivers and the
 * final fdatasync only has the tail left. Durability is unchanged: the writer's final
 * fdatasync still completes before it reports the bytes written.
 */
export class EarlySync {
  private early: Promise<void> | undefined;
  private error: unknown;
  private unsynced = 0;

  constructor(
    private readonly fh: Pick<FileHandle, 'datasync'>,
    /** Off for a write that is not flushed (the commit flushes it once). */
    private readonly enabled: boolean,
  ) {}

  /** `bytes` more were written; starts a background sync when enough are unsynced. */
  wrote(bytes: number): void {
    this.unsynced += bytes;
    if (!this.enabled || this.unsynced < EARLY_SYNC_BYTES || this.early) return;
    this.unsynced = 0;
    this.early = this.fh.datasync().then(
      () => void (this.early = undefined),
      (e: unknown) => void ((this.error = e), (this.early = undefined)),
    );
  }

  /** Waits for the background sync; throws what any background sync failed with. */
  async settle(): Promise<void> {
    await this.early;
    if (this.error) throw this.error;
  }

  /** Waits for the background sync, whatever its outcome (before closing the file). */
  async quiet(): Promise<void> {
    await this.early?.catch(() => {});
  }
}
