/**
 * Hashing of streamed bytes in the same pass that stores them, and of stored bytes when a
 * digest state has to be rebuilt (another node or process wrote the earlier chunks).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { digestAlgorithm, type Digest, type DigestAlgorithm } from '../domain/names.js';

export function newHash(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

/** Yields the chunks of `source` unchanged while feeding them to `hash` (no copy). */
export async function* tapHash(source: AsyncIterable<Buffer>, hash: { update(chunk: Buffer): unknown } | undefined, limit?: number): AsyncIterable<Buffer> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    if (limit !== undefined && seen > limit) throw new BodyTooLargeError(limit);
    hash?.update(chunk);
    yield chunk;
  }
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
  }
}

export async function hashStream(stream: Readable, algorithm: DigestAlgorithm): Promise<Digest> {
  const hash = createHash(algorithm);
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest('hex')}` as Digest;
}

export function digestOf(bytes: Buffer, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

/** The digest of `bytes` in the algorithm of `expected`. */
export function digestLike(bytes: Buffer, expected: Digest): Digest {
  return digestOf(bytes, digestAlgorithm(expected));
}

/**
 * The hashing thread's program: chunks in order (a copy, or [memory, offset, length] of a
 * SharedArrayBuffer it was sent once before), 'sync' to answer when done so far, then null for
 * the hex digest.
 */
const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const hash = require('node:crypto').createHash(workerData);
const shared = [];
parentPort.on('message', (m) => {
  if (m === null) parentPort.postMessage(hash.digest('hex'));
  else if (m === 'sync') parentPort.postMessage('sync');
  else if (m instanceof SharedArrayBuffer) shared.push(new Uint8Array(m));
  else if (Array.isArray(m)) hash.update(shared[m[0]].subarray(m[1], m[1] + m[2]));
  else hash.update(m);
});
`;

/**
 * A digest computed on a thread of its own, for a large blob streamed through the server
 * (the pull-through cache): hashing is the largest piece of work per byte on the main thread
 * otherwise (bench/results/proxy.md). `update` copies the bytes to the thread (the caller may
 * reuse its buffer at once) unless they are in shared memory (a SharedArrayBuffer, as the
 * pull-through cache's block pool): those the thread reads in place, and they must not change
 * until `synced` resolves. Copying cost the main thread about 0.8 CPU-s per GB (postMessage's
 * serialization) and the thread as much again (allocating and collecting the copies).
 * `synced` resolves once the thread has hashed everything given so far (callers wait on it now
 * and then, so the copies in flight stay bounded); `digest` ends it.
 */
export class ThreadHash {
  private readonly worker: Worker;
  /** Answers awaited from the thread, in the order asked. */
  private readonly waiting: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;
  /** Shared memory already sent to the thread, by the index the thread knows it by. */
  private readonly shared = new Map<ArrayBufferLike, number>();

  constructor(algorithm: DigestAlgorithm) {
    this.worker = new Worker(HASH_WORKER, { eval: true, workerData: algorithm });
    this.worker.unref();
    this.worker.on('message', (m: string) => this.waiting.shift()?.resolve(m));
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => fail(new Error('the hashing thread stopped')));
  }

  update(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (!(chunk.buffer instanceof SharedArrayBuffer)) return this.worker.postMessage(chunk);
    let index = this.shared.get(chunk.buffer);
    if (index === undefined) {
      index = this.shared.size;
      this.shared.set(chunk.buffer, index);
      this.worker.postMessage(chunk.buffer);
    }
    this.worker.postMessage([index, chunk.byteOffset, chunk.length]);
  }

  synced(): Promise<void> {
    return this.ask('sync').then(() => undefined);
  }

  async digest(): Promise<string> {
    try {
      return await this.ask(null);
    } finally {
      this.close();
    }
  }

  /** Stops the thread (without a digest, when it is not done). */
  close(): void {
    void this.worker.terminate();
  }

  private ask(m: null | 'sync'): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(m);
    });
  }
}
