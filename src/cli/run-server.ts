/**
 * One server process of `berth serve` (the only one, or a worker of the primary): loads and
 * validates the configuration, builds the registry through the composition root, listens, and
 * closes cleanly on SIGINT/SIGTERM: it stops accepting, lets in-flight requests finish for up to
 * `shutdown.graceSeconds`, then cuts what is left.
 */
import cluster from 'node:cluster';
import { loadConfig } from '../config/load.js';
import { createBerth, openMetadata } from '../main.js';
import { START_FAILED_EXIT } from '../cluster/primary.js';
import type { ServeOptions } from './serve.js';

export async function runServer(opts: ServeOptions, { prepareStores }: { prepareStores: boolean }): Promise<void> {
  let berth;
  try {
    const overrides: Record<string, unknown> = {};
    if (opts.listen !== undefined) overrides.listen = opts.listen;
    if (opts.dataDir !== undefined) overrides.dataDir = opts.dataDir;
    if (opts.logLevel !== undefined) overrides.logLevel = opts.logLevel;
    if (opts.workers !== undefined) overrides.workers = Number(opts.workers);
    const config = loadConfig({ file: opts.config ?? process.env.BERTH_CONFIG, overrides });
    if (prepareStores && config.metadata.driver === 'sqlite') {
      // Only this host's processes use a SQLite file, and none is running yet (this is the only
      // server or the primary's first worker), so no write lease taken before this start can
      // still be held: a crashed process's leases must not block its uploads.
      const meta = await openMetadata(config);
      await meta.uploads.releaseAllLocks();
      await meta.close();
    }
    berth = await createBerth(config);
    const address = await berth.listen();
    berth.app.log.info({ address, dataDir: config.dataDir }, `berth listening on ${address}`);
  } catch (e) {
    // The CLI's handler prints the message; a primary sees this exit code and stops.
    if (cluster.isWorker) process.exitCode = START_FAILED_EXIT;
    throw e;
  }
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    const graceMs = berth.config.shutdown.graceSeconds * 1000;
    berth.app.log.info({ signal, graceMs }, 'shutting down: no new connections; in-flight requests may finish');
    // Past the grace period the remaining connections are cut: an upload cut there resumes from
    // its last durable offset (each chunk is recorded when its bytes are durable).
    const cut = setTimeout(() => {
      berth.app.log.warn('shutdown grace period over: closing the remaining connections');
      berth.app.server.closeAllConnections();
    }, graceMs);
    cut.unref();
    berth.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGHUP', () => {
    berth.reloadTls().catch((err: unknown) => berth.app.log.error({ err }, 'TLS reload failed; the previous certificate stays in use'));
  });
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
