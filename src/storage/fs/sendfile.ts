/**
 * Blob pulls with sendfile(2) (native/sendfile.c): the kernel sends the file's pages to the
 * socket and no byte passes through JavaScript buffers. A single-stream pull through the
 * buffered copy (copy.ts) reads every byte into user space and writes it back, with a thread
 * pool hop per chunk; here the server used 0.11-0.13 CPU-seconds per pulled GB against
 * 0.61-0.62 for the copy (a 256 MiB file between two processes on loopback). It is opt-in
 * (`storage.filesystem.sendfile`): with curl pulling on the same 2-core host, single-stream
 * throughput was level with the copy's (medians 1,649 against 1,621 and 1,766 against 1,820
 * MB/s, bench/pull-ab.ts) and now and then slower (1,165-1,364 MB/s). With the benchmark's
 * earlier Node client, which could not take more than 300-2,000 MB/s, it was bimodal
 * (350-2,200 against 1,000-1,460): strace showed the socket refilled ~1.5 MB at a time and
 * that receiver taking 2-8 ms to drain it.
 *
 * Used when the native module was built (scripts/build.mjs; it is optional), the response goes
 * over a plain TCP socket (TLS must encrypt in user space), and nobody needs to see the bytes (a
 * read that verifies the digest goes through the copy). Otherwise `sendFileRange` says no and
 * the caller copies.
 */
import { once } from 'node:events';
import type { FileHandle } from 'node:fs/promises';
import { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { PrematureCloseError } from './copy.js';

type NativeSendFile = (socketFd: number, fileFd: number, offset: number, length: number, idleMs: number, done: (error: string | null, sent: number) => void) => void;

/** A client that takes no byte for this long is cut (as a stalled upload body is). */
const IDLE_MS = 120_000;

/** Errors of a peer that went away mid-transfer: a premature close, not a server fault. */
const GONE = /broken pipe|connection reset/i;

function loadNative(): NativeSendFile | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // From dist/src/storage/fs/ (or src/storage/fs/) up to the checkout's native/ folder.
    return (createRequire(import.meta.url)('../../../../native/build/Release/berth_sendfile.node') as { sendFile: NativeSendFile }).sendFile;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** Whether this process can send blobs with sendfile (the native module loaded). */
export const sendFileAvailable = native !== undefined;

/**
 * Sends bytes `start`..`end` (inclusive) of `fh` as the body of `out`, whose status and headers
 * are set, and resolves once the kernel has all of them (it does not end `out`). Resolves false
 * at once, having written nothing, when `out` is not a response on a plain TCP socket or the
 * module is missing. Rejects with PrematureCloseError when the client goes away.
 */
export async function sendFileRange(out: Writable, fh: FileHandle, start: number, end: number, idleMs = IDLE_MS): Promise<boolean> {
  if (!native || !(out instanceof ServerResponse)) return false;
  const socket = out.socket as (Socket & { encrypted?: boolean; _handle?: { fd?: number } }) | null;
  const fd = socket?._handle?.fd;
  if (!socket || socket.encrypted || typeof fd !== 'number' || fd < 0) return false;
  // The headers go first, through Node; the file's bytes may follow only once Node's queue
  // for this socket is empty, or they would overtake them.
  out.flushHeaders();
  if (socket.writableLength > 0) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
  if (socket.destroyed) throw new PrematureCloseError();
  await new Promise<void>((resolve, reject) =>
    native(fd, fh.fd, start, end - start + 1, idleMs, (error) => {
      if (error === null) resolve();
      else reject(GONE.test(error) ? new PrematureCloseError() : new Error(`sendfile: ${error}`));
    }),
  );
  return true;
}
