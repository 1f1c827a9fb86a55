/**
 * Benchmark payloads: large blobs generated on the fly, never held whole in memory. A blob is
 * a run of 1 MiB units; each unit is a 32-byte header (seed, unit index) followed by a slice
 * of one random pool, so every blob of a run is distinct, deterministic for its seed, and
 * costs the client no generation work while it is being timed (buffers are sent as they are).
 */
import { createHash, randomBytes } from 'node:crypto';
import { imageManifest, sha256 } from '../test/helpers/oci.js';

export const MiB = 1024 * 1024;
const UNIT = MiB;
const HEADER = 32;
const POOL = randomBytes(16 * MiB);

export interface BlobSpec {
  seed: number;
  size: number;
  digest: string;
}

function header(seed: number, unit: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt32BE(seed, 0);
  h.writeUInt32BE(unit, 4);
  h.write('berth-bench-unit', 8);
  return h;
}

/** The bytes of blob `seed` in [start, end), as a sequence of buffers (no copies of the pool). */
export function* blobBytes(seed: number, start: number, end: number): Generator<Buffer> {
  let pos = start;
  while (pos < end) {
    const unit = Math.floor(pos / UNIT);
    const unitStart = unit * UNIT;
    const h = header(seed, unit);
    const poolOffset = (unit * 7919 * 64) % (POOL.length - UNIT);
    const body = POOL.subarray(poolOffset, poolOffset + UNIT - HEADER);
    for (const [partStart, part] of [[unitStart, h], [unitStart + HEADER, body]] as const) {
      const from = Math.max(pos, partStart) - partStart;
      const to = Math.min(end, partStart + part.length) - partStart;
      if (to > from) {
        yield part.subarray(from, to);
        pos = partStart + to;
      }
    }
  }
}

/** Describes blob `seed` of `size` bytes, hashing it once (before any timing starts). */
export function blobSpec(seed: number, size: number): BlobSpec {
  const hash = createHash('sha256');
  for (const b of blobBytes(seed, 0, size)) hash.update(b);
  return { seed, size, digest: `sha256:${hash.digest('hex')}` };
}


/** A small image: config, one or two small layers, and its OCI manifest. */
export interface SmallImage {
  blobs: Buffer[];
  manifest: Buffer;
}

export function smallImage(i: number, run: string): SmallImage {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, bench: run, image: i }));
  const layers = Array.from({ length: 1 + (i % 2) }, (_, k) => {
    const b = randomBytes(1024 + ((i * 7 + k * 13) % 16) * 1024);
    return b;
  });
  return { blobs: [config, ...layers], manifest: imageManifest(config, layers) };
}

