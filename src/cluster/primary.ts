/**
 * The primary of `berth serve --workers N`: applies migrations once, forks N worker
 * processes that share the listen port (node:cluster hands accepted connections to them;
 * caches agree through the metadata store's change feed), restarts a worker
 * that dies (with a growing delay if they keep dying), and on SIGTERM/SIGINT asks every
 * worker to finish its requests and exit, killing stragglers after a grace period.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { openMetadata } from '../main.js';

export interface PrimaryOptions {
  workers: number;
  config: Config;
  logger: Logger;
  /** How long workers get to finish after SIGTERM before they are killed. */
  graceMs?: number;
}

/** Resolves with the exit code once every worker is gone after a shutdown signal. */
export async function runPrimary(opts: PrimaryOptions): Promise<number> {
  const { logger } = opts;
  // Once here rather than in N workers at the same time (they still check, cheaply).
  await (await openMetadata(opts.config)).close();

  let stopping = false;
  let restartDelay = 0;
  let lastRestart = 0;
  const fork = (): Worker => cluster.fork();

  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    // A worker that dies soon after the last restart doubles the delay (crash loop guard).
    const now = Date.now();
    restartDelay = now - lastRestart < 10_000 ? Math.min(Math.max(restartDelay * 2, 100), 30_000) : 0;
    lastRestart = now;
    logger.error({ pid: w.process.pid, code, signal, restartInMs: restartDelay }, 'worker died; starting a new one');
    setTimeout(() => {
      if (!stopping) fork();
    }, restartDelay);
  });

  for (let i = 0; i < opts.workers; i++) fork();
  logger.info({ workers: opts.workers, pid: process.pid }, 'berth primary started');

  return new Promise((resolve) => {
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down workers');
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      let left = workers.length;
      if (left === 0) return resolve(0);
      const kill = setTimeout(() => {
        for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
      }, opts.graceMs ?? 30_000);
      for (const w of workers) {
        w.once('exit', () => {
          if (--left === 0) {
            clearTimeout(kill);
            resolve(0);
          }
        });
        w.process.kill('SIGTERM');
      }
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
