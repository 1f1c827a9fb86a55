/**
 * WAL checkpoints off the event loop. SQLite copies the WAL back into the database file (a
 * checkpoint) in whichever connection commits when the WAL passes 1,000 pages, synchronously:
 * with better-sqlite3 that is the server's main thread, blocked for the copy and an fsync of
 * the database file. Under a steady stream of small commits (the audit rows of pulls) that
 * showed in the server's CPU per manifest GET: with checkpoints on this thread, 128-131 µs per
 * request and 7,945-8,379 req/s, against 141-148 µs and 7,271-7,541 req/s with automatic ones
 * (bench/hot-path.ts, three alternating runs). So the server's connections never checkpoint (`wal_autocheckpoint=0`)
 * and a worker thread with a connection of its own runs PASSIVE checkpoints, which never wait
 * for writers or readers, every CHECKPOINT_MS. Should the thread fail, the writing connection
 * checkpoints by itself again, so the WAL never grows without bound.
 *
 * A checkpoint alone does not shorten the WAL: the next writer starts it over from the
 * beginning only if every frame was copied, and under a steady stream of writes some always
 * land while the thread copies (measured: the WAL grew to 640 MB in 20 s of pushes). So when a
 * checkpoint leaves more than RESTART_FRAMES frames, the thread runs one more while the
 * process's writes wait (`fence`: the writing connection's lock, held on the event loop
 * without blocking it). That one copies only what the last pass missed, and the next write
 * restarts the WAL, truncated to WAL_SIZE_LIMIT bytes.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** Pause between checkpoints: the WAL holds at most this long's commits beyond the database file. */
const CHECKPOINT_MS = 500;
/** WAL frames (pages) past which the WAL is restarted: SQLite's own automatic checkpoint threshold. */
const RESTART_FRAMES = 1000;
/** Bytes a restarted WAL file is truncated to (it is otherwise kept at its largest size). */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

/** The thread's code: a connection to `path` and a timer (kept tiny: it runs in its own isolate). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
const timer = setInterval(() => {
  if (checkpoint().log >= workerData.restartFrames) parentPort.postMessage('behind');
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m === 'fenced') {
    checkpoint();
    parentPort.postMessage('fenced');
    return;
  }
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Stops the thread (after its current checkpoint), before the server's connections close. */
  stop(): Promise<void>;
}

/**
 * Runs `work` while no write of this process can start (the writing connection's lock), and
 * resolves when it has finished and the lock is released.
 */
export type WriteFence = (work: () => Promise<void>) => Promise<void>;

/** Moves `database`'s checkpoints to a thread; `fence` holds the process's writes for a restart. */
export function startCheckpointer(database: BetterSqlite3.Database, fence: WriteFence): Checkpointer {
  database.pragma('wal_autocheckpoint = 0');
  database.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      path: database.name,
      module: createRequire(import.meta.url).resolve('better-sqlite3'),
      everyMs: CHECKPOINT_MS,
      restartFrames: RESTART_FRAMES,
    },
    // A timer and a connection: a small heap is plenty and keeps the thread's memory small.
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
  });
  worker.unref();
  let stopped = false;
  let exited = false;
  /** Resolves the fenced checkpoint in flight, when its answer (or the thread's end) arrives. */
  let fenced: (() => void) | undefined;
  const settle = () => {
    fenced?.();
    fenced = undefined;
  };
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      settle();
      resolve();
    }),
  );
  worker.on('error', () => {
    if (!stopped && database.open) database.pragma('wal_autocheckpoint = 1000');
  });
  worker.on('message', (m) => {
    if (m === 'fenced') return settle();
    if (m !== 'behind' || fenced || stopped) return;
    void fence(
      () =>
        new Promise<void>((resolve) => {
          if (stopped || exited) return resolve();
          fenced = resolve;
          worker.postMessage('fenced');
        }),
    ).catch(() => {});
  });
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      // Held while it stops: an unreferenced thread would let the process exit mid-await.
      worker.ref();
      worker.postMessage('stop');
      await exit;
    },
  };
}
