/**
 * One upstream fetch of one blob, shared by every client that asks for it while it runs
 * (single flight, per process), streamed to them while it is verified and stored.
 *
 * Design (the race is between clients joining, bytes arriving, the store, and the verdict):
 * - Each chunk from the upstream goes at once to every attached ("live") client and is copied
 *   into a block of a small pool owned by the flight. Full blocks are appended to the blob
 *   writer (UploadService.openBlob: hashed in the same pass, stored but not flushed when an
 *   append resolves; the commit makes the blob durable once) in segments, while the upstream
 *   keeps streaming: clients never wait for the disk. The pool bounds what is held: when
 *   every block is in use (the store or a joining client is behind) reading from the upstream
 *   pauses.
 * - Why a pool: what the disk and joining clients still need is held in a fixed amount of
 *   memory that is reused (no allocation per chunk, a known bound per blob), not in the
 *   socket's 64 KiB buffers, which only pass through to the clients. The blocks are shared
 *   memory so that the hashing thread reads them in place (no copy per block); a block is
 *   reused only after the append that wrote it resolved, i.e. after it was hashed.
 * - A client that comes while bytes flow reads along: the stored prefix from the writer,
 *   then the retained blocks (copied out, since blocks are reused), then it turns live. The
 *   blocks it still needs are kept for it (a pin) so it never misses a byte.
 * - Nobody gets the last chunk before the verdict: live clients get every chunk but the last
 *   as they arrive; the last, and for joining clients everything past `released`, only after
 *   the writer verified length and digest and committed (one flush of the whole blob, then
 *   its row). On a mismatch, a short body, an upstream error or a failed commit every
 *   client's stream is destroyed before its last byte: it sees its connection fail, never a
 *   complete 200 with wrong content, and nothing is stored.
 * - Why the last chunk waits for the commit, not only the verdict: released at the verdict
 *   (commit behind it), the cold pull of 512 MiB was ~13 % faster here, but the flush then
 *   landed on the next pull, which read from the staged upload or waited: warm pulls right
 *   after cost 2-4x the CPU and fell below the core's blob pull (bench/results/proxy.md). And
 *   a pull that completed is a hit on every node at once, and counted in the quota.
 * - The pace is the slowest live client's and the pool's; a client that goes away is dropped
 *   and the fetch continues, so the blob is cached for the next one.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { BlobWriter } from '../registry/blob-writer.js';
import { streaming } from '../ops/young-generation.js';

export type BlobSink = PassThrough;

const BLOCK_BYTES = 1024 * 1024;
/**
 * Blocks per flight: the most the store (and joining clients) may lag behind the upstream, and
 * the memory one cold blob holds. More than SEGMENT_BLOCKS, or a segment could wait forever.
 */
const POOL_BLOCKS = 16;
/** Blocks appended to the writer at a time (a block returns to the pool once its append resolved). */
const SEGMENT_BLOCKS = 8;

interface Block {
  buf: Buffer;
  /** Offset in the blob of buf[0]. */
  start: number;
  /** Bytes filled. */
  length: number;
}

export class BlobFlight {
  private readonly live = new Set<BlobSink>();
  private started = false;
  private finished = false;
  private failure: Error | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private begin!: () => void;
  /** Blocks in blob order from the oldest kept one; the last may be filling. */
  private readonly blocks: Block[] = [];
  private readonly free: Buffer[] = [];
  private allocated = 0;
  /** Offsets joining clients still need from memory (one entry per client). */
  private readonly pins = new Set<{ at: number }>();
  /** Clients reading along (not live yet). */
  private readonly followers = new Set<BlobSink>();
  /** Bytes the writer has stored (readable from it; durable once committed). */
  private storedBytes = 0;
  /** Every byte before this went to live clients (the held last chunk is not counted). */
  private released = 0;
  /** The writer committed the blob: its staged bytes may be gone, the stored blob is there. */
  private committed = false;
  private wake: (() => void) | undefined;
  /** Resolves when the blob is stored (committed); rejects with why it is not. */
  readonly done: Promise<void>;
  /** Bytes received from the upstream so far. */
  received = 0;

  constructor(
    readonly size: number,
    private readonly source: AsyncIterable<Buffer>,
    private readonly writer: BlobWriter,
    /** How long to wait for a first client before fetching for the cache alone (a HEAD). */
    startAloneMs: number,
    /** Bytes start..end (inclusive) of the stored blob, once it is committed. */
    private readonly readStored: (start: number, end: number) => Promise<Readable>,
    private readonly onReceived: (bytes: number) => void = () => {},
  ) {
    const go = new Promise<void>((resolve) => (this.begin = resolve));
    this.startTimer = setTimeout(() => this.begin(), startAloneMs);
    this.startTimer.unref();
    this.done = go.then(() => this.run());
    // Observed by whoever awaits it; never an unhandled rejection.
    this.done.catch(() => {});
  }

  /**
   * A stream of the whole blob for one client: live before the first byte went out, reading
   * along after that; undefined once the flight ended (read the stored blob then).
   */
  attach(): BlobSink | undefined {
    if (this.finished) return undefined;
    const sink = new PassThrough({ highWaterMark: BLOCK_BYTES });
    clearTimeout(this.startTimer);
    this.begin();
    if (!this.started || this.released === 0) {
      this.live.add(sink);
      sink.once('close', () => this.live.delete(sink));
    } else {
      void this.follow(sink);
    }
    return sink;
  }

  private async run(): Promise<void> {
    const ended = streaming();
    try {
      await this.fetch();
    } finally {
      ended();
    }
  }

  private async fetch(): Promise<void> {
    this.started = true;
    // A store failure (a full disk) ends the fetch at once: nothing would free the pool again.
    const stored = this.store().catch((e: unknown) => {
      this.fail(e as Error);
      throw e;
    });
    // Awaited below; observed now so that a failure meanwhile is never an unhandled rejection.
    stored.catch(() => {});
    let held: Buffer | undefined;
    try {
      for await (const chunk of this.source) {
        if (this.failure) throw this.failure;
        this.received += chunk.length;
        this.onReceived(chunk.length);
        if (this.received > this.size) throw new Error(`the upstream sent more than the ${this.size} bytes it announced`);
        await this.retain(chunk);
        if (held) await this.emit(held);
        held = chunk;
        this.signal();
      }
      if (this.received !== this.size) throw new Error(`the upstream sent ${this.received} of ${this.size} bytes`);
      this.finished = true;
      this.signal();
      await stored;
      await this.writer.commit();
      this.committed = true;
    } catch (e) {
      this.fail(e as Error);
      await stored.catch(() => {});
      await this.writer.abort();
      // The first failure is the reason (a stopped upstream read only follows from it).
      throw this.failure;
    }
    if (held) await this.emit(held);
    this.released = this.size;
    this.signal();
    for (const sink of this.live) sink.end();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.finished = true;
    for (const sink of [...this.live, ...this.followers]) sink.destroy(e);
    // Stop reading the upstream too (a stream that can be destroyed: the response body).
    (this.source as { destroy?: (e?: Error) => void }).destroy?.();
    this.signal();
  }

  /** Copies `chunk` into the pool, waiting for a free block when all are in use. */
  private async retain(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      let last = this.blocks[this.blocks.length - 1];
      if (!last || last.length === BLOCK_BYTES) {
        const buf = await this.block();
        last = { buf, start: this.received - chunk.length + at, length: 0 };
        this.blocks.push(last);
      }
      const n = chunk.copy(last.buf, last.length, at);
      last.length += n;
      at += n;
    }
  }

  private async block(): Promise<Buffer> {
    for (;;) {
      if (this.failure) throw this.failure;
      const buf = this.free.pop();
      if (buf) return buf;
      if (this.allocated < POOL_BLOCKS) {
        this.allocated++;
        return Buffer.from(new SharedArrayBuffer(BLOCK_BYTES));
      }
      await this.waitForChange();
    }
  }

  /** Appends full blocks to the writer in segments until every byte is stored. */
  private async store(): Promise<void> {
    while (this.storedBytes < this.size) {
      const from = this.storedBytes;
      const segment = async function* (this: BlobFlight): AsyncIterable<Buffer> {
        let at = from;
        while (at < this.size && at - from < SEGMENT_BLOCKS * BLOCK_BYTES) {
          if (this.failure) throw this.failure;
          const b = this.blocks.find((x) => x.start <= at && at < x.start + x.length);
          // A block is written once full, or at the end of the blob.
          if (b && (b.length === BLOCK_BYTES || b.start + b.length === this.size)) {
            const slice = b.buf.subarray(at - b.start, b.length);
            at += slice.length;
            yield slice;
          } else {
            await this.waitForChange();
          }
        }
      }.call(this);
      await this.writer.append(segment);
      this.storedBytes = this.writer.written();
      this.trim();
    }
  }

  /** Returns to the pool every block wholly stored and needed by no joining client. */
  private trim(): void {
    let keepFrom = this.storedBytes;
    for (const p of this.pins) keepFrom = Math.min(keepFrom, p.at);
    while (this.blocks.length > 0) {
      const b = this.blocks[0]!;
      if (b.start + b.length > keepFrom || b.length < BLOCK_BYTES) break;
      this.blocks.shift();
      this.free.push(b.buf);
    }
    this.signal();
  }

  /** Writes a chunk to every live client, waiting for those that are behind. */
  private async emit(chunk: Buffer): Promise<void> {
    const waits: Promise<unknown>[] = [];
    for (const sink of this.live) {
      if (sink.destroyed) continue;
      if (!sink.write(chunk)) waits.push(drained(sink));
    }
    this.released += chunk.length;
    if (waits.length > 0) await Promise.all(waits);
  }

  /**
   * A client joining while bytes flow: the stored prefix from the writer, then copies of the
   * retained blocks up to `released`, then live (switching is synchronous with `emit`, so no
   * chunk is missed or doubled).
   */
  private async follow(sink: BlobSink): Promise<void> {
    const pin = { at: this.storedBytes };
    this.pins.add(pin);
    this.followers.add(sink);
    try {
      let pos = 0;
      while (pos < pin.at) {
        // The writer's bytes go away when the blob is committed (object storage removes the
        // staged parts): a prefix cut short by the commit continues from the stored blob.
        const prefix = this.committed ? await this.readStored(pos, pin.at - 1) : pos === 0 ? await this.writer.read(pin.at) : undefined;
        if (!prefix) throw new Error('the blob writer is gone before the blob was committed');
        const stop = () => prefix.destroy();
        sink.once('close', stop);
        try {
          for await (const chunk of prefix) {
            if (this.failure) throw this.failure;
            pos += (chunk as Buffer).length;
            if (!sink.write(chunk)) await drained(sink);
            if (sink.destroyed) return;
          }
        } catch (e) {
          // Only a commit under way (every byte received) is worth waiting for; anything else
          // would hold the blocks this client pins while the fetch needs them.
          if (this.failure || !this.finished || !(await this.done.then(() => true, () => false))) throw e;
        } finally {
          sink.off('close', stop);
        }
        if (pos > pin.at) throw new Error('the stored prefix is longer than asked');
      }
      for (;;) {
        if (this.failure) throw this.failure;
        if (sink.destroyed) return;
        if (pin.at === this.size) return void sink.end();
        if (pin.at < this.released) {
          const b = this.blocks.find((x) => x.start <= pin.at && pin.at < x.start + x.length)!;
          const end = Math.min(b.start + b.length, this.released);
          // A copy: the block goes back to the pool once this client moved past it.
          const copy = Buffer.from(b.buf.subarray(pin.at - b.start, end - b.start));
          pin.at = end;
          this.trim();
          if (!sink.write(copy)) await drained(sink);
          continue;
        }
        if (!this.finished || this.released < this.size) {
          if (this.released === pin.at && this.received > this.released && !this.finished) {
            // Caught up with the live clients: from the next chunk on, it is one of them.
            this.pins.delete(pin);
            this.live.add(sink);
            sink.once('close', () => this.live.delete(sink));
            this.trim();
            return;
          }
        }
        await this.waitForChange();
      }
    } catch (e) {
      sink.destroy(e as Error);
    } finally {
      this.followers.delete(sink);
      if (this.pins.delete(pin)) this.trim();
    }
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Resolves at the next change of state (a chunk, a stored segment, a freed block, the end). */
  private waitForChange(): Promise<void> {
    const previous = this.wake;
    return new Promise<void>((resolve) => {
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
  }
}

/** Resolves when `sink` drains or closes, removing both listeners either way. */
function drained(sink: BlobSink): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}
