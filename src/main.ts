/**
 * Composition root: configuration -> stores -> services -> HTTP. Every object is built here
 * and handed its dependencies; nothing registers itself by import.
 */
import cluster from 'node:cluster';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { buildServer } from './http/server.js';
import { SharedSecrets } from './cluster/shared-secrets.js';
import { JobQueue } from './jobs/queue.js';
import { jobHandlers } from './jobs/kinds.js';
import { JobWorker } from './jobs/worker.js';
import { openSqlite } from './metadata/sqlite.js';
import type { SqlMetadataStore } from './metadata/sql/store.js';
import type { MetadataStore } from './metadata/store.js';
import { BlobService } from './registry/blobs.js';
import { HealthService } from './registry/health.js';
import { LocalChangeFeed, type ChangeFeed } from './metadata/change-feed.js';
import { SqliteChangeFeed } from './metadata/feeds/sqlite.js';
import { ListingService } from './registry/listing.js';
import { ManifestCache } from './registry/manifest-cache.js';
import { ManifestService } from './registry/manifests.js';
import { PullRecorder } from './registry/pull-recorder.js';
import type { RegistryAuthorizer } from './registry/routes/index.js';
import { createAccessControl } from './auth/setup.js';
import { UploadService } from './registry/uploads.js';
import type { BlobStore } from './storage/blob-store.js';
import { FsBlobStore } from './storage/fs/fs-blob-store.js';
import { createLifecycle, type Lifecycle } from './lifecycle/services.js';

export interface Berth {
  app: FastifyInstance;
  config: Config;
  meta: MetadataStore;
  blobs: BlobStore;
  jobs: JobQueue;
  secrets: SharedSecrets;
  lifecycle: Lifecycle;
  /** Starts listening on `config.listen`; resolves to the bound address (host:port). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

function sqlitePath(config: Config): string {
  return resolve((config.metadata.driver === 'sqlite' && config.metadata.sqlite.path) || `${config.dataDir}/berth.db`);
}

/** Opens the metadata store of `config` and applies pending migrations. */
export async function openMetadata(config: Config): Promise<SqlMetadataStore> {
  const meta =
    config.metadata.driver === 'postgres'
      ? // Backends load only when configured (the PostgreSQL and S3 clients cost memory at start).
        (await import('./metadata/postgres.js')).openPostgres(config.metadata.postgres)
      : openSqlite(sqlitePath(config));
  try {
    await meta.migrate();
  } catch (e) {
    await meta.close();
    throw e;
  }
  return meta;
}

/** How this process learns that another process or node changed a repository. */
export async function openChangeFeed(config: Config, meta: SqlMetadataStore, logger: Logger): Promise<ChangeFeed> {
  if (config.metadata.driver === 'postgres') return (await import('./metadata/feeds/postgres.js')).PostgresChangeFeed.open(config.metadata.postgres, meta.db, logger);
  // Several processes on one SQLite file (`--workers N`) share their changes through it.
  if (cluster.isWorker) return SqliteChangeFeed.open(sqlitePath(config));
  return new LocalChangeFeed();
}

export async function openBlobStore(config: Config): Promise<BlobStore> {
  if (config.storage.driver === 's3') return (await import('./storage/s3/s3-blob-store.js')).S3BlobStore.open(config.storage.s3);
  return FsBlobStore.open(resolve(config.storage.filesystem.root ?? `${config.dataDir}/storage`));
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.logLevel, base: { service: 'berth' } });
}

export interface BerthOptions {
  /** Replaces the permission check on /v2 (tests use it to prove every route asks). */
  authorize?: RegistryAuthorizer;
}

export async function createBerth(config: Config, logger: Logger = createLogger(config), options: BerthOptions = {}): Promise<Berth> {
  const meta = await openMetadata(config);
  const blobs = await openBlobStore(config);
  const changes = await openChangeFeed(config, meta, logger);
  const pulls = new PullRecorder(meta);
  const cache = new ManifestCache(config.registry.manifestCacheEntries);
  const jobs = new JobQueue(meta.jobs);
  const lifecycle = createLifecycle(config, meta, blobs, logger, (repo) => changes.publish(repo), (kind, payload, key) => jobs.offer(kind, payload, key));
  const registry = {
    blobs: new BlobService(meta, blobs, Date.now, lifecycle.writePolicy, { verifyReads: config.storage.verifyReads }),
    uploads: new UploadService(meta, blobs, Date.now, lifecycle.writePolicy, {
      maxOpenPerRepository: config.registry.maxOpenUploadsPerRepository,
      maxOpenPerOwner: config.registry.maxOpenUploadsPerPrincipal,
      maxAgeMs: config.registry.uploadMaxAgeSeconds * 1000,
    }),
    manifests: new ManifestService(meta, cache, changes, pulls, Date.now, lifecycle.writePolicy, { maxReferences: config.registry.maxManifestReferences }),
    listing: new ListingService(meta, config.registry),
    health: new HealthService(meta),
    limits: { maxManifestBytes: config.registry.maxManifestBytes, uploadIdleMs: config.registry.uploadIdleTimeoutSeconds * 1000 },
  };
  const access = await createAccessControl(config, { meta, blobs, manifests: registry.manifests, logger, adminPassword: process.env.BERTH_ADMIN_PASSWORD });
  const s = config.http;
  const limits = {
    headersTimeoutMs: s.headersTimeoutSeconds * 1000,
    keepAliveTimeoutMs: s.keepAliveTimeoutSeconds * 1000,
    minBytesPerSecond: s.minBytesPerSecond,
    rateWindowMs: s.rateWindowSeconds * 1000,
    maxConnectionsPerAddress: s.maxConnectionsPerAddress,
    maxConnections: s.maxConnections,
  };
  const app = await buildServer({ logger, trustProxy: config.http.trustProxy, registry, authorize: options.authorize ?? access.authorizer, hooks: (a) => access.installHooks(a), plugins: access.plugins, lifecycle, guardApi: (a) => access.guardApi(a), limits });

  // Background jobs: every kind is declared in src/jobs/kinds.ts.
  const handlers = jobHandlers({ runs: lifecycle.runs, retention: lifecycle.retention, leases: lifecycle.leases, logger });
  const stopJobs = new AbortController();
  const worker = new JobWorker(meta.jobs, handlers, {
    concurrency: config.jobs.concurrency,
    pollMs: config.jobs.pollMs,
    leaseMs: config.jobs.leaseSeconds * 1000,
    logger: logger.child({ component: 'jobs' }),
  });
  const working = config.jobs.enabled ? worker.run(stopJobs.signal) : Promise.resolve();
  if (config.lifecycle.schedulerEnabled) await lifecycle.scheduler.start();

  return {
    app,
    config,
    meta,
    blobs,
    jobs,
    secrets: new SharedSecrets(meta.settings),
    lifecycle,
    async listen() {
      const i = config.listen.lastIndexOf(':');
      const host = config.listen.slice(0, i).replace(/^\[|\]$/g, '');
      const port = Number(config.listen.slice(i + 1));
      await app.listen({ host, port });
      const addr = app.server.address();
      return typeof addr === 'object' && addr ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : config.listen;
    },
    async close() {
      await app.close();
      await access.close();
      await lifecycle.close();
      stopJobs.abort();
      await working;
      await pulls.close();
      await changes.close();
      await blobs.close();
      await meta.close();
    },
  };
}
