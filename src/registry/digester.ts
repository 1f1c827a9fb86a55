/**
 * Hashing of streamed bytes in the same pass that stores them, and of stored bytes when a
 * digest state has to be rebuilt (another node or process wrote the earlier chunks).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { digestAlgorithm, type Digest, type DigestAlgorithm } from '../domain/names.js';

export function newHash(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

/** Yields the chunks of `source` unchanged while feeding them to `hash` (no copy). */
export async function* tapHash(source: AsyncIterable<Buffer>, hash: Hash | undefined, limit?: number): AsyncIterable<Buffer> {
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
