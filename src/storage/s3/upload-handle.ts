/**
 * The storage handle of an S3 upload: everything another node needs to continue it, kept by
 * the caller with the upload session. Bytes [0, parts * partSize) live in staged part objects,
 * the rest (fewer than partSize bytes) in one tail object.
 *
 * Objects are never overwritten: each write names its objects with a fresh generation, so a
 * handle stays valid even when a later write fails or loses a race, and a write that rewinds
 * into a part re-stages that part under a new name. Objects a handle no longer uses are listed
 * in it (`drop`) and deleted by the next write, once this handle is the persisted one.
 */
import { randomBytes } from 'node:crypto';

export interface UploadHandle {
  v: 1;
  /** Part size in bytes, fixed for the life of the upload. */
  p: number;
  /** Bytes stored. */
  s: number;
  /** Runs of staged parts: [generation, first part index, last part index] (0-based, inclusive). */
  r: [string, number, number][];
  /** Generation of the tail object ('' when s is a whole number of parts). */
  t: string;
  /** Object names (relative to the upload folder) the previous handle had and this one dropped. */
  drop: string[];
}

export interface StagedObject {
  /** Name relative to the upload folder. */
  name: string;
  /** Offset of its first byte in the upload. */
  start: number;
  size: number;
}

export const MAX_PARTS = 10_000;

export function newGeneration(): string {
  return randomBytes(6).toString('hex');
}

export function emptyHandle(partSize: number): UploadHandle {
  return { v: 1, p: partSize, s: 0, r: [], t: '', drop: [] };
}

export function encodeHandle(h: UploadHandle): string {
  return JSON.stringify(h);
}

export function decodeHandle(s: string): UploadHandle {
  const h = JSON.parse(s) as UploadHandle;
  if (h?.v !== 1 || !Number.isSafeInteger(h.p) || !Number.isSafeInteger(h.s) || !Array.isArray(h.r)) throw new Error('not an S3 upload handle');
  return h;
}

export function partName(generation: string, index: number): string {
  return `${generation}.${index}`;
}

export function tailName(generation: string): string {
  return `${generation}.tail`;
}

export function wholeParts(h: UploadHandle): number {
  return Math.floor(h.s / h.p);
}

/** The staged objects in byte order. */
export function stagedObjects(h: UploadHandle): StagedObject[] {
  const out: StagedObject[] = [];
  for (const [generation, first, last] of h.r) {
    for (let i = first; i <= last; i++) out.push({ name: partName(generation, i), start: i * h.p, size: h.p });
  }
  const tail = h.s - wholeParts(h) * h.p;
  if (tail > 0) out.push({ name: tailName(h.t), start: wholeParts(h) * h.p, size: tail });
  return out;
}

/** The runs of `h` cut to the parts below `count`. */
export function runsBelow(h: UploadHandle, count: number): [string, number, number][] {
  const out: [string, number, number][] = [];
  for (const [generation, first, last] of h.r) {
    if (first >= count) break;
    out.push([generation, first, Math.min(last, count - 1)]);
  }
  return out;
}
