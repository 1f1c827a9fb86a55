/**
 * The primary of `berth serve --workers N`: forks N worker processes that share the listen port
 * (node:cluster hands accepted connections to them; caches agree through the metadata store's
 * change feed), restarts a worker that dies (with a growing delay if they keep dying), and on
 * SIGTERM/SIGINT asks every worker to finish its requests and exit, killing stragglers after a
 * grace period.
 *
 * It only supervises (and sums the workers' metrics on request, metrics-aggregation.ts, loading
 * prom-client at the first scrape), so it imports nothing but node:cluster: no configuration schema, no
 * stores, no logger library (its few lines are written in pino's JSON shape by hand). The first
 * worker prepares the stores (migrations, stale SQLite leases) alone; the others are forked once
 * it listens. A worker that fails to start (exit code START_FAILED_EXIT: bad configuration,
 * database unreachable) stops the whole server instead of being restarted in a loop.
 */
import cluster, { type Worker } from 'node:cluster';
import { hostname } from 'node:os';
import { serveAggregatedMetrics } from './metrics-aggregation.js';

export interface PrimaryOptions {
  workers: number;
  /** pino level name; lines below it are not written. */
  logLevel: string;
  /** How long workers get to finish after SIGTERM before they are killed. */
  graceMs?: number;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
/** Set on the first worker: it prepares the stores before the others start. */
export const FIRST_WORKER_ENV = 'X_BERTH_FIRST_WORKER'; // not BERTH_*: those are configuration keys
/** Exit code of a server process that could not start (bad configuration, stores unreachable). */
export const START_FAILED_EXIT = 78;

function logger(levelName: string) {
  const min = LEVELS[levelName] ?? 30;
  const line = (level: number, fields: Record<string, unknown>, msg: string) => {
    if (level < min) return;
    process.stdout.write(JSON.stringify({ level, time: Date.now(), pid: process.pid, hostname: hostname(), service: 'berth', ...fields, msg }) + '\n');
  };
  return {
    info: (fields: Record<string, unknown>, msg: string) => line(30, fields, msg),
    error: (fields: Record<string, unknown>, msg: string) => line(50, fields, msg),
  };
}

/** Resolves with the exit code once every worker is gone (after a shutdown signal or a failed start). */
export async function runPrimary(opts: PrimaryOptions): Promise<number> {
  const log = logger(opts.logLevel);
  let stopping = false;
  let restartDelay = 0;
  let lastRestart = 0;
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => (resolveExit = r));
  const listening = new Set<number>();

  const stop = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down workers');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    let left = workers.length;
    if (left === 0) return resolveExit(code);
    const kill = setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, opts.graceMs ?? 30_000);
    for (const w of workers) {
      w.once('exit', () => {
        if (--left === 0) {
          clearTimeout(kill);
          resolveExit(code);
        }
      });
      w.process.kill('SIGTERM');
    }
  };

  cluster.on('listening', (w) => listening.add(w.id));
  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    if (code === START_FAILED_EXIT || (w.id === first.id && !listening.has(w.id))) {
      // It printed why; restarting would fail the same way.
      log.error({ pid: w.process.pid, code, signal }, 'worker could not start; stopping');
      return stop('a worker could not start', 1);
    }
    // A worker that dies soon after the last restart doubles the delay (crash loop guard).
    const now = Date.now();
    restartDelay = now - lastRestart < 10_000 ? Math.min(Math.max(restartDelay * 2, 100), 30_000) : 0;
    lastRestart = now;
    log.error({ pid: w.process.pid, code, signal, restartInMs: restartDelay }, 'worker died; starting a new one');
    setTimeout(() => {
      if (!stopping) cluster.fork();
    }, restartDelay);
  });

  serveAggregatedMetrics();
  // A certificate reload (SIGHUP) is every worker's to do.
  process.on('SIGHUP', () => {
    for (const w of Object.values(cluster.workers ?? {})) if (w && !w.isDead()) w.process.kill('SIGHUP');
  });
  process.on('SIGINT', () => stop('SIGINT', 0));
  process.on('SIGTERM', () => stop('SIGTERM', 0));

  // The first worker migrates and clears stale leases alone; the rest start once it listens.
  const first = cluster.fork({ [FIRST_WORKER_ENV]: '1' });
  first.once('listening', () => {
    if (stopping) return;
    for (let i = 1; i < opts.workers; i++) cluster.fork();
    log.info({ workers: opts.workers, pid: process.pid }, 'berth primary started');
  });
  return exited;
}
