/**
 * Copies a byte range of an open file into a Writable (an HTTP response) through a few reused
 * buffers: the filesystem store's fast path for blob pulls. A read stream allocates a fresh
 * buffer per chunk and reads only after the socket drained the previous one, so reads and
 * socket writes take turns; here the next read runs while the previous chunk is still being
 * written, and the same few buffers go round.
 *
 * A buffer is reused only after the write callback of the chunk it carried fired, that is once
 * the socket handed those bytes to the kernel; until then the socket may still hold it. This
 * also bounds the memory per pull to `depth * chunk` bytes, which is the backpressure: a slow
 * client delays the callbacks, and with them the next read.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/**
 * Bytes per read and write, and buffers in rotation (one being read into while the others are
 * written): 2 MiB per pull. Measured with bench/pull-ab.ts (256 MiB blob, medians of runs
 * alternating with the reference registry, one process): 64 KiB chunks were about level with
 * the reference, 256 KiB x 3 about 1.0x on one stream, 512 KiB x 4 and 1 MiB x 2 or 3 about
 * 1.1-1.25x on one stream and 1.15x on eight; fewer, larger syscalls help a single stream most.
 */
export const COPY_CHUNK_BYTES = 512 * 1024;
export const COPY_DEPTH = 4;

/** `out` closed (the client went away) before every byte was written. */
export class PrematureCloseError extends Error {
  override readonly name = 'PrematureCloseError';
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
  constructor() {
    super('the destination closed before the whole blob was written');
  }
}

/**
 * Sees each chunk, in order, before it is written; `last` marks the final one. Throwing stops
 * the copy before that chunk is written (a caller verifying a digest holds back the last bytes).
 */
export type ChunkObserver = (chunk: Buffer, last: boolean) => void;

/**
 * Writes bytes `start`..`end` (inclusive) of `fh` to `out`, in order. Resolves once the last
 * write was issued (it does not end `out`); rejects on a read error, on a file shorter than
 * `end`, with what `observe` threw, and with PrematureCloseError when `out` closes first. It
 * never closes `fh`.
 */
export async function copyFileRange(fh: FileHandle, start: number, end: number, out: Writable, chunk = COPY_CHUNK_BYTES, depth = COPY_DEPTH, observe?: ChunkObserver): Promise<void> {
  const length = end - start + 1;
  if (length <= 0) return;
  const size = Math.min(chunk, length);
  const free: Buffer[] = [];
  // Fewer buffers when the range fits in fewer chunks; allocUnsafeSlow: each is its own
  // memory (not a slice of the shared pool), and every byte is overwritten by a read.
  for (let i = 0; i < Math.min(depth, Math.ceil(length / size)); i++) free.push(Buffer.allocUnsafeSlow(size));
  let closed = out.destroyed || out.writableFinished;
  let wake: (() => void) | undefined;
  const onClose = () => {
    closed = true;
    wake?.();
  };
  out.once('close', onClose);
  try {
    for (let pos = start; pos <= end; ) {
      while (free.length === 0 && !closed) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (closed) throw new PrematureCloseError();
      const buf = free.pop()!;
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error(`file ended at byte ${pos}, before byte ${end}`);
      if (closed) throw new PrematureCloseError();
      observe?.(buf.subarray(0, bytesRead), pos + bytesRead > end);
      pos += bytesRead;
      out.write(buf.subarray(0, bytesRead), (err) => {
        // After an error the socket is gone: the buffer is never needed again.
        if (!err) free.push(buf);
        wake?.();
      });
    }
  } finally {
    out.off('close', onClose);
  }
}
