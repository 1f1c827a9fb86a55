/**
 * One upstream fetch of one blob, shared by every client that asks for it while it runs
 * (single flight, per process), streamed to them while it is verified and stored.
 *
 * Design (the race is between clients joining, bytes arriving, and the verdict):
 * - The flight pulls the upstream body once and hands each chunk to the store (the upload
 *   service's monolithic write, which hashes, checks the size and digest, and commits the
 *   blob row with the project's quota check) and to every attached client.
 * - A client may attach only before the first byte went out; one that comes later waits for
 *   the flight to end and reads the stored blob (or fails with it). So no client ever sees a
 *   stream that started in the middle.
 * - The last chunk is held back from the clients until the store has verified the digest and
 *   committed. On a mismatch, a short body or an upstream error, every attached client's
 *   stream is destroyed before its last byte: the client sees its connection fail, never a
 *   complete 200 with wrong content, and nothing is stored (the upload service removes it).
 * - The pace is the slowest attached client's and the store's (backpressure); a client that
 *   goes away is dropped and the fetch continues, so the blob is cached for the next one.
 * - The store write and the attached streams never hold the whole blob in memory.
 */
import { PassThrough } from 'node:stream';

export type BlobSink = PassThrough;

/** Bytes the store may lag behind the upstream before reading from the upstream pauses. */
const QUEUE_BYTES = 8 * 1024 * 1024;

/** Stores the stream it is given; rejects when the bytes are not the blob (nothing is kept then). */
export type StoreBlob = (body: AsyncIterable<Buffer>) => Promise<void>;

export class BlobFlight {
  private readonly sinks = new Set<BlobSink>();
  private started = false;
  private startTimer: NodeJS.Timeout | undefined;
  private begin!: () => void;
  /** Resolves when the blob is stored; rejects with why it is not. */
  readonly done: Promise<void>;
  /** Bytes received from the upstream so far. */
  received = 0;

  constructor(
    readonly size: number,
    private readonly source: AsyncIterable<Uint8Array>,
    store: StoreBlob,
    /** How long to wait for a first client before fetching for the cache alone (a HEAD). */
    startAloneMs: number,
  ) {
    const go = new Promise<void>((resolve) => (this.begin = resolve));
    this.startTimer = setTimeout(() => this.begin(), startAloneMs);
    this.startTimer.unref();
    this.done = go.then(() => this.run(store));
    // Observed by whoever awaits it; never an unhandled rejection.
    this.done.catch(() => {});
  }

  /** A stream of the whole blob for one client, or undefined once bytes have gone out (read the stored blob then). */
  attach(): BlobSink | undefined {
    if (this.started) return undefined;
    const sink = new PassThrough({ highWaterMark: 1024 * 1024 });
    this.sinks.add(sink);
    sink.once('close', () => this.sinks.delete(sink));
    clearTimeout(this.startTimer);
    this.begin();
    return sink;
  }

  private async run(store: StoreBlob): Promise<void> {
    this.started = true;
    // The store reads through a bounded queue, so upstream reads and client writes overlap
    // with the disk writes instead of waiting for each of them in turn.
    const queue = new ChunkQueue(QUEUE_BYTES);
    const stored = store(queue.drain());
    void stored.then(
      () => queue.close(),
      () => queue.close(),
    );
    let held: Buffer | undefined;
    let sourceError: unknown;
    try {
      for await (const part of this.source) {
        const chunk = Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
        this.received += chunk.length;
        if (held) await this.emit(held);
        held = chunk;
        await queue.push(chunk);
      }
      queue.end();
    } catch (e) {
      sourceError = e;
      queue.fail(e);
    }
    let storeError: unknown;
    try {
      await stored;
    } catch (e) {
      storeError = e;
    }
    const failure = storeError ?? sourceError;
    if (failure !== undefined) {
      for (const sink of this.sinks) sink.destroy(failure as Error);
      throw failure;
    }
    if (held) await this.emit(held);
    for (const sink of this.sinks) sink.end();
  }

  /** Writes a chunk to every attached client, waiting for those that are behind. */
  private async emit(chunk: Buffer): Promise<void> {
    const waits: Promise<unknown>[] = [];
    for (const sink of this.sinks) {
      if (sink.destroyed) continue;
      if (!sink.write(chunk)) waits.push(drained(sink));
    }
    if (waits.length > 0) await Promise.all(waits);
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

/**
 * A bounded queue from the upstream reader to the store: `push` waits while more than `limit`
 * bytes are queued and throws once the store stopped reading; `drain` yields the chunks in
 * order, throws what `fail` was given, and ends after `end`.
 */
class ChunkQueue {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private done = false;
  private error: unknown;
  private failed = false;
  private closed = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(private readonly limit: number) {}

  async push(chunk: Buffer): Promise<void> {
    if (this.closed) throw new Error('the store stopped reading the blob');
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.wakeConsumer?.();
    while (this.bytes > this.limit && !this.closed) await new Promise<void>((r) => (this.wakeProducer = r));
    if (this.closed && this.bytes > 0) throw new Error('the store stopped reading the blob');
  }

  end(): void {
    this.done = true;
    this.wakeConsumer?.();
  }

  fail(e: unknown): void {
    this.error = e;
    this.failed = true;
    this.done = true;
    this.wakeConsumer?.();
  }

  /** The store finished (or gave up): a waiting producer is released. */
  close(): void {
    this.closed = true;
    this.wakeProducer?.();
  }

  async *drain(): AsyncIterable<Buffer> {
    try {
      for (;;) {
        const chunk = this.chunks.shift();
        if (chunk) {
          this.bytes -= chunk.length;
          if (this.bytes <= this.limit) this.wakeProducer?.();
          yield chunk;
          continue;
        }
        if (this.failed) throw this.error;
        if (this.done) return;
        await new Promise<void>((r) => (this.wakeConsumer = r));
      }
    } finally {
      this.close();
    }
  }
}
