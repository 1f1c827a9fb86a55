/**
 * The size of V8's young generation: kept small for the whole process, let grow while large
 * bodies stream through it, given back when they are done.
 *
 * V8 doubles the young generation whenever it fills quickly, up to 2 x 16 MiB, and never
 * gives it back on its own. The server keeps it at its initial 1 MiB
 * (`keepYoungGenerationSmall`, from src/cli/heap-tuning.ts): every socket and file buffer
 * makes it look busy, and a server that had streamed one large blob kept ~20-30 MiB more RSS
 * for the rest of its life.
 *
 * A cold pull through the cache is the exception. Every 64 KiB read from the upstream socket
 * is a new buffer outside the heap, counted as external memory until a collection finds it
 * dead. With 1 MiB of young generation the buffers still in flight (to the client, the store)
 * outlive scavenges; once 64 MB of external memory piled up V8 starts incremental marking,
 * and the buffers allocated while it marks survive that mark-compact too, so the next one
 * follows at once: a storm of full collections every ~100 ms for the rest of the pull, 3-4
 * CPU-s per GB on V8's GC threads and as much again on the main thread. So while at least
 * one such stream runs (`streaming()`), the young generation may grow at once to 16 MiB
 * (factor 16), where the buffers die in scavenges, and marking is not incremental (a full
 * collection, if external memory ever forces one, frees everything dead at once instead of
 * feeding the next). Measured on this machine: V8's GC threads 0.2-0.6 CPU-s per GB instead
 * of 3-4, and about half the cold pull's CPU in all (bench/results/proxy.md). The larger
 * young generation alone still left the storm in about half the runs.
 *
 * When the last stream ends both flags go back, and the young generation is given back: V8
 * shrinks it at a full collection only once the allocation rate has been low for a few
 * seconds, so one is asked for after IDLE_MS without streams, and again (a few times) while it
 * has not shrunk (a busy server). A full collection without incremental marking stops the
 * program for its whole length: tens of ms on a heap of this server's size (~30 MB).
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Quiet time after the last stream before the young generation is given back (V8 judges the allocation rate over 5 s). */
const IDLE_MS = 8000;
const GIVE_BACK_TRIES = 5;

let small = false;
let streams = 0;
let timer: NodeJS.Timeout | undefined;
let collect: (() => void) | undefined;

/** Keeps the young generation at its initial size from now on (outside `streaming`). */
export function keepYoungGenerationSmall(): void {
  small = true;
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** Lets the young generation grow until the returned function is called (once). */
export function streaming(): () => void {
  if (streams++ === 0 && small) {
    clearTimeout(timer);
    setFlagsFromString('--semi-space-growth-factor=16');
    setFlagsFromString('--no-incremental-marking');
  }
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--streams === 0 && small) {
      setFlagsFromString('--semi-space-growth-factor=1');
      setFlagsFromString('--incremental-marking');
      giveBack(GIVE_BACK_TRIES);
    }
  };
}

function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

function giveBack(tries: number): void {
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (streams > 0) return;
    const before = youngGenerationBytes();
    fullCollection();
    if (youngGenerationBytes() >= before && tries > 1) giveBack(tries - 1);
  }, IDLE_MS);
  timer.unref();
}

/** A full collection (V8's `gc()`, exposed to one context made for it: the program's globals stay as they are). */
function fullCollection(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
    setFlagsFromString('--no-expose-gc');
  }
  collect();
}
