/**
 * `berth serve`. Decides, reading as little as possible, whether this process is the server
 * itself or the primary of `--workers N`: the primary only supervises (forks, restarts, stops)
 * and never loads the server's modules (Fastify, Kysely, zod, pino, ...), so it stays a bare
 * Node process (about 45 MB); each worker, and a single-process server, loads the full
 * configuration and the composition root.
 *
 * The worker count is read here from, in the configuration's precedence, `--workers`,
 * `BERTH_WORKERS`, the YAML file's `workers` and the default; the full configuration is
 * validated by the server process (a worker that fails to start stops the primary with its
 * message rather than being restarted in a loop).
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { FIRST_WORKER_ENV, runPrimary } from '../cluster/primary.js';

export interface ServeOptions {
  config?: string;
  listen?: string;
  dataDir?: string;
  logLevel?: string;
  workers?: string;
}

/** `workers` from flag, environment or YAML file, without loading the configuration schema. */
async function workerCount(opts: ServeOptions): Promise<number> {
  let raw: unknown = opts.workers ?? process.env.BERTH_WORKERS;
  const file = opts.config ?? process.env.BERTH_CONFIG;
  if (raw === undefined && file) {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    try {
      raw = (parse(readFileSync(file, 'utf8')) as { workers?: unknown } | null)?.workers;
    } catch {
      raw = undefined; // the server's own loading reports the file's problem
    }
  }
  // The default (see config/schema.ts `workers`): one process.
  const n = raw === undefined || raw === '' ? 1 : Number(raw);
  if (!Number.isInteger(n) || n < 0) return 1; // invalid: the server's validation names it
  return n === 0 ? availableParallelism() : n;
}

export async function serve(opts: ServeOptions): Promise<void> {
  if (cluster.isPrimary) {
    const workers = await workerCount(opts);
    if (workers > 1) {
      process.exit(await runPrimary({ workers, logLevel: opts.logLevel ?? process.env.BERTH_LOG_LEVEL ?? 'info' }));
    }
  }
  const { runServer } = await import('./run-server.js');
  await runServer(opts, { prepareStores: cluster.isPrimary || process.env[FIRST_WORKER_ENV] === '1' });
}
