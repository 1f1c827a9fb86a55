/**
 * How fast the shared host is at a moment, taken before each round of the table's phases so
 * that a slow hour shows in the run itself: one thread's CPU (SHA-256 over 32 MiB in memory)
 * the disk's flush (a 4 KiB write and fdatasync of a file in the temporary folder, where
 * the registries keep their data), and the page cache's fill (64 MiB written into a new file
 * there, not flushed). This hypervisor reports no steal time, and the two registries depend on
 * these unequally: Berth fsyncs every blob and its WAL and does a request's work on one event
 * loop, the reference does neither. The fill shows the host's lazily mapped guest memory: a
 * page-cache page the guest has not used lately costs the host a fault, and the copy of a
 * large push into such pages took 3-4 times its usual system CPU here (a 256 MiB push 0.15 s
 * of system CPU, then 0.6-0.9 s once the first 1.5-2 GiB had been written). The probe's file
 * is removed again, so its pages are free and warm for the round that follows, as for both
 * registries alike.
 */
import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const CPU_BYTES = Buffer.alloc(32 * 1024 * 1024, 7);
const FLUSH_BYTES = Buffer.alloc(4096, 7);
const FILL_PIECE = Buffer.alloc(1024 * 1024, 7);
const FILL_PIECES = 64;

export interface HostProbe {
  /** Milliseconds to hash 32 MiB on one thread. */
  cpuMs: number;
  /** Milliseconds for a 4 KiB write and its fdatasync. */
  flushMs: number;
  /** Milliseconds to write 64 MiB into a new file (the page cache's fill, not flushed). */
  fillMs: number;
}

export function probeHost(): HostProbe {
  let t = performance.now();
  createHash('sha256').update(CPU_BYTES).digest();
  const cpuMs = performance.now() - t;
  const flushMs = timedOnNewFile((fd) => {
    writeSync(fd, FLUSH_BYTES, 0, FLUSH_BYTES.length, 0);
    fdatasyncSync(fd);
  });
  const fillMs = timedOnNewFile((fd) => {
    for (let i = 0; i < FILL_PIECES; i++) writeSync(fd, FILL_PIECE, 0, FILL_PIECE.length, i * FILL_PIECE.length);
  });
  return { cpuMs, flushMs, fillMs };
}

/** Milliseconds `work` takes on a new file in the temporary folder (removed again after). */
function timedOnNewFile(work: (fd: number) => void): number {
  const file = join(tmpdir(), `bench-host-probe-${process.pid}`);
  const fd = openSync(file, 'w');
  try {
    const t = performance.now();
    work(fd);
    return performance.now() - t;
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}
