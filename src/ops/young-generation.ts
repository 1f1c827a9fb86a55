/**
 * V8's garbage collector while large bodies stream through the process: a cold pull through
 * the cache, a large upload.
 *
 * Every 64 KiB read from a socket is a new buffer outside the heap, counted as external memory
 * until a collection finds it dead. Buffers still in flight (to the client, the store) outlive
 * scavenges when the young generation is small or full; once external memory piles up V8
 * starts incremental marking, and the buffers allocated while it marks survive that
 * mark-compact too, so the next one follows at once: a storm of full collections every
 * 50-100 ms for the rest of the stream, 3-4 CPU-s per GB on V8's GC threads and as much again
 * on the main thread (a cold pull, bench/results/proxy.md), or a 1 GiB push at 440-490 MB/s
 * instead of 690-810 with 1.2-1.4 CPU-s on V8's threads (5 of 24 pushes, against none of 32
 * with this; bench/results/profiles/blob-writes-2026-12-05.txt). So while at least one such
 * stream runs (`streaming()`), marking is not incremental (a full collection, if external
 * memory ever forces one, frees everything dead at once instead of feeding the next) and the
 * young generation may grow at once to 16 MiB (factor 16), where the buffers die in scavenges.
 * When the last stream ends both go back to V8's defaults.
 *
 * The young generation is otherwise left to V8, which grows it to 2 x 16 MiB under load and
 * keeps it. Holding it at its initial 1 MiB saved ~20 MiB of RSS after a 1 GiB push and pull,
 * but cost the request paths a third of their rate (19,473 against 28,913 manifest GETs a
 * second, each server traced). That hold had in fact been undone since the SQLite
 * checkpointer's thread: starting a worker thread puts V8's flags back as the command line
 * set them. For the same reason the flags of a stream in progress are set again whenever a
 * worker starts.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's default growth factor of the young generation (its flag `--semi-space-growth-factor`). */
const DEFAULT_GROWTH_FACTOR = 2;

let streams = 0;
let watchingWorkers = false;

/** Marks a stream as running until the returned function is called (once); nests. */
export function streaming(): () => void {
  if (streams++ === 0) applyFlags();
  if (!watchingWorkers) {
    watchingWorkers = true;
    // Outside a stream a new worker's reset is the state wanted (the command line's flags).
    const again = () => void (streams > 0 && applyFlags());
    process.on('worker', (worker) => {
      again();
      worker.once('online', again);
    });
  }
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--streams === 0) applyFlags();
  };
}

/** Whether a stream is running now (its flags are on). */
export function streamingNow(): boolean {
  return streams > 0;
}

function applyFlags(): void {
  setFlagsFromString(`--semi-space-growth-factor=${streams > 0 ? 16 : DEFAULT_GROWTH_FACTOR}`);
  setFlagsFromString(streams > 0 ? '--no-incremental-marking' : '--incremental-marking');
}
