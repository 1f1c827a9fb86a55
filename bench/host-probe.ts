/**
 * How fast the shared host is at a moment, taken before each round of the table's phases so
 * that a slow hour shows in the run itself: one thread's CPU (SHA-256 over 32 MiB in memory)
 * and the disk's flush (a 4 KiB write and fdatasync of a file in the temporary folder, where
 * the registries keep their data). This hypervisor reports no steal time, and the two
 * registries depend on these two unequally: Berth fsyncs every blob and its WAL and does a
 * request's work on one event loop, the reference does neither.
 */
import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const CPU_BYTES = Buffer.alloc(32 * 1024 * 1024, 7);
const FLUSH_BYTES = Buffer.alloc(4096, 7);

export interface HostProbe {
  /** Milliseconds to hash 32 MiB on one thread. */
  cpuMs: number;
  /** Milliseconds for a 4 KiB write and its fdatasync. */
  flushMs: number;
}

export function probeHost(): HostProbe {
  let t = performance.now();
  createHash('sha256').update(CPU_BYTES).digest();
  const cpuMs = performance.now() - t;
  const file = join(tmpdir(), `bench-host-probe-${process.pid}`);
  const fd = openSync(file, 'w');
  try {
    t = performance.now();
    writeSync(fd, FLUSH_BYTES, 0, FLUSH_BYTES.length, 0);
    fdatasyncSync(fd);
    return { cpuMs, flushMs: performance.now() - t };
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}
