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
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** Pause between checkpoints: the WAL holds at most this long's commits beyond the database file. */
const CHECKPOINT_MS = 500;

/** The thread's code: a connection to `path` and a timer (kept tiny: it runs in its own isolate). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export interface Checkpointer {
  /** Stops the thread (after its current checkpoint), before the server's connections close. */
  stop(): Promise<void>;
}

/** Moves `database`'s checkpoints to a thread. */
export function startCheckpointer(database: BetterSqlite3.Database): Checkpointer {
  database.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path: database.name, module: createRequire(import.meta.url).resolve('better-sqlite3'), everyMs: CHECKPOINT_MS },
    // A timer and a connection: a small heap is plenty and keeps the thread's memory small.
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
  });
  worker.unref();
  let stopped = false;
  worker.on('error', () => {
    if (!stopped && database.open) database.pragma('wal_autocheckpoint = 1000');
  });
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // Held while it stops: an unreferenced thread would let the process exit mid-await.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
