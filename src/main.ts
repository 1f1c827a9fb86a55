/**
 * Composition root: configuration -> stores -> services -> HTTP. Every object is built here,
 * in createBerth, and handed its dependencies; nothing registers itself by import. The layers
 * keep their own modules (auth/ the authenticator, token issuer and HTTP hooks; api/ the
 * /api/v1 routes and services; registry/ the /v2 core; lifecycle/ the rules and jobs), and
 * this file is the one place that sees them all.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { buildServer } from './http/server.js';
import { SharedSecrets } from './cluster/shared-secrets.js';
import { workerExposition } from './cluster/metrics-aggregation.js';
import { metricsServer } from './http/ops.js';
import { Metrics } from './ops/metrics.js';
import { ReadOnlyMode } from './ops/read-only.js';
import { ScrubService } from './ops/scrub.js';
import { scheduleScrub } from './ops/scrub-schedule.js';
import type { Tracing } from './ops/tracing.js';
import { instrumentBlobStore, instrumentMetadata } from './ops/instrument.js';
import { JobQueue } from './jobs/queue.js';
import { jobHandlers } from './jobs/kinds.js';
import { JobWorker } from './jobs/worker.js';
import { BurstYield, LoopPressure } from './jobs/request-pressure.js';
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
import { allowAll, type RegistryAuthorizer } from './registry/routes/index.js';
import { apiPlugin, API_PREFIX } from './api/plugin.js';
import type { ApiServices } from './api/services/index.js';
import { ProjectService } from './api/services/projects.js';
import { ProxyAdminService } from './api/services/proxies.js';
import { RepositoryService } from './api/services/repositories.js';
import { RobotService } from './api/services/robots.js';
import { SecurityApi } from './api/services/security.js';
import { SigningApi } from './api/services/signing.js';
import { UserService } from './api/services/users.js';
import { AuditLog } from './audit/audit-log.js';
import { PullEventDemand } from './events/pull-events.js';
import { installAuthentication, installRegistryAudit, registryAuthorizer } from './auth/http-auth.js';
import { KeySealer } from './auth/key-sealing.js';
import { createScanning } from './scanning/setup.js';
import { createAccessControl } from './auth/setup.js';
import { SCANNER_PULL } from './policy/principal.js';
import { tokenRoutes } from './auth/token-routes.js';
import { OidcSignIn } from './auth/oidc.js';
import { TrustPolicyService } from './api/services/trust-policies.js';
import { BrowseQueries } from './metadata/sql/browse.js';
import { SqlAuthStore } from './metadata/sql/auth-store.js';
import { UploadService } from './registry/uploads.js';
import { attachArtifact, registryArtifactWriter } from './registry/referrer-artifacts.js';
import type { BlobStore } from './storage/blob-store.js';
import { FsBlobStore } from './storage/fs/fs-blob-store.js';
import { createLifecycle, type Lifecycle } from './lifecycle/services.js';
import { SigningService } from './signing/service.js';
import { signOnPushListener } from './signing/signer.js';
import { createProxy, type Proxy } from './proxy/setup.js';
import { EventDispatcher } from './events/dispatcher.js';
import { registryEvents } from './events/registry-events.js';
import { webhookConsumer, WebhookDeliverer } from './events/webhooks.js';
import { WebhookService } from './api/services/webhooks.js';
import { ReplicationService } from './api/services/replication.js';
import { ReplicationEngine, replicationConsumer } from './replication/engine.js';
import { OciClient } from './replication/oci-client.js';
import { ReplicationScheduler } from './replication/scheduler.js';
import { LocalEndpoint } from './registry/replication-endpoint.js';

export interface Berth {
  app: FastifyInstance;
  config: Config;
  meta: MetadataStore;
  blobs: BlobStore;
  jobs: JobQueue;
  secrets: SharedSecrets;
  lifecycle: Lifecycle;
  /** The pull-through caches (upstreams from the configuration and the API). */
  proxy: Proxy;
  /** Starts listening on `config.listen`; resolves to the bound address (host:port). */
  metrics: Metrics;
  readOnly: ReadOnlyMode;
  /** Spans (tracing.endpoint set), else undefined. */
  tracing: Tracing | undefined;
  scrub: ScrubService;
  /** Starts listening on `config.listen` (and `metrics.listen`); resolves to the bound address (host:port). */
  listen(): Promise<string>;
  /** Where `metrics.listen` is bound (host:port), once listening; undefined without one. */
  metricsAddress(): string | undefined;
  /** Re-reads `tls.cert` and `tls.key` for new connections (SIGHUP); open connections keep theirs. */
  reloadTls(): Promise<void>;
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
  return FsBlobStore.open(resolve(config.storage.filesystem.root ?? `${config.dataDir}/storage`), undefined, { sendfile: config.storage.filesystem.sendfile });
}

/** Scrub over the configured stores, quarantining into `scrub.quarantineDir`. */
export function createScrub(config: Config, meta: MetadataStore, blobs: BlobStore, metrics?: Metrics): ScrubService {
  return new ScrubService(meta, blobs, {
    quarantineDir: resolve(config.scrub.quarantineDir ?? `${config.dataDir}/quarantine`),
    ...(metrics ? { observe: { verified: (n: number) => metrics.scrubbedBytes.inc(n), problem: (kind: string) => metrics.scrubProblems.inc({ kind }) } } : {}),
  });
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.logLevel, base: { service: 'berth' } });
}

/** The system admin `admin`, created on the first start with an empty database. */
async function bootstrapAdmin(users: UserService, logger: Logger): Promise<void> {
  const boot = await users.bootstrap(process.env.BERTH_ADMIN_PASSWORD);
  if (boot.generated) {
    // Printed once, on the first start with an empty database; never logged again.
    process.stdout.write(
      `\nberth: created the system admin "admin" with password: ${boot.generated}\nberth: it is shown only this once. Sign in with \`npx berth login <host:port> -u admin\` (or skopeo/podman/docker login);\nberth: change it with \`npx berth user passwd me\`. Lost it? Run \`npx berth user passwd admin --data-dir <data folder>\` (the server may keep running).\n\n`,
    );
  } else if (boot.created) logger.info('created the system admin "admin" from BERTH_ADMIN_PASSWORD');
  else if (process.env.BERTH_ADMIN_PASSWORD) {
    logger.warn("BERTH_ADMIN_PASSWORD is ignored: the admin account exists already (it only sets the first password); to reset a lost password run `berth user passwd admin --data-dir DIR` with the server's data folder");
  }
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

function boundAddress(server: Server, fallback: string): string {
  const addr = server.address();
  return typeof addr === 'object' && addr ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : fallback;
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface BerthOptions {
  /** Replaces the permission check on /v2 (tests use it to prove every route asks). */
  authorize?: RegistryAuthorizer;
}

export async function createBerth(config: Config, logger: Logger = createLogger(config), options: BerthOptions = {}): Promise<Berth> {
  // Tracing loads only when configured; then the stores are wrapped so their calls become spans.
  const tracing: Tracing | undefined = config.tracing.endpoint
    ? await (await import('./ops/tracing.js')).Tracing.open({ endpoint: config.tracing.endpoint, serviceName: config.tracing.serviceName, sampleRatio: config.tracing.sampleRatio, version: VERSION })
    : undefined;
  // Operations: metrics (one registry per process), read-only mode.
  const metricsOptions = { version: VERSION, collectIntervalMs: config.metrics.collectIntervalSeconds * 1000, logger };
  const metrics = new Metrics(metricsOptions);
  const rawMeta = await openMetadata(config);
  if (rawMeta.connections()) metrics.watchPool(() => rawMeta.connections()!);
  // Metadata operations are timed for metrics (and spans with tracing); storage calls are spans.
  const timed = config.metrics.enabled ? instrumentMetadata(rawMeta, metrics.timeQuery) : rawMeta;
  const meta = tracing ? instrumentMetadata(timed, tracing.around('metadata')) : timed;
  const rawBlobs = await openBlobStore(config);
  const blobs = tracing ? instrumentBlobStore(rawBlobs, tracing.around('storage')) : rawBlobs;
  const changes = await openChangeFeed(config, rawMeta, logger);
  const pulls = new PullRecorder(meta);
  metrics.collectFrom(meta, metricsOptions);
  const readOnly = new ReadOnlyMode(meta.settings, { forced: config.readOnly.enabled, recheckMs: config.readOnly.recheckSeconds * 1000, observe: (on) => metrics.readOnly.set(on ? 1 : 0) });
  await readOnly.state();
  const [cacheHits, cacheMisses] = [metrics.manifestCacheLookups.with({ result: 'hit' }), metrics.manifestCacheLookups.with({ result: 'miss' })];
  const cache = new ManifestCache(config.registry.manifestCacheEntries, (hit) => (hit ? cacheHits : cacheMisses).inc());
  const jobs = new JobQueue(meta.jobs);
  const lifecycle = createLifecycle(config, meta, blobs, logger, (repo) => changes.publish(repo), (kind, payload, key) => jobs.offer(kind, payload, key), changes);
  // Vulnerability scanning: the pull gate and the push listener now; the service once the audit
  // log, the registry and the token issuer exist (below).
  const scanning = createScanning(config.scanning, meta, changes);
  // Access control's stores (the rest below), the key sealer and signatures: the read gate needs them.
  const a = config.auth;
  const authStore = new SqlAuthStore(meta.db, meta.dialect);
  const pullEvents = new PullEventDemand(meta.webhooks, changes);
  const audit = new AuditLog(authStore, { retentionDays: config.audit.retentionDays, unauthenticatedPerMinute: config.audit.unauthenticatedPerMinute, unauthenticatedPerMinuteTotal: config.audit.unauthenticatedPerMinuteTotal, pullEvents: () => pullEvents.wanted() });
  const sealer = await KeySealer.open(a.keyEncryptionKey, resolve(config.dataDir, 'signing-keys.key'));
  const signing = new SigningService({ meta, blobs, sealer, changes, audit, logger: logger.child({ component: 'signing' }) });
  const core = {
    blobs: new BlobService(meta, blobs, Date.now, lifecycle.writePolicy, { verifyReads: config.storage.verifyReads }),
    uploads: new UploadService(meta, blobs, Date.now, lifecycle.writePolicy, {
      maxOpenPerRepository: config.registry.maxOpenUploadsPerRepository,
      maxOpenPerOwner: config.registry.maxOpenUploadsPerPrincipal,
      maxAgeMs: config.registry.uploadMaxAgeSeconds * 1000,
    }, (bytes) => metrics.pushedBytes.inc(bytes)),
    manifests: new ManifestService(meta, cache, changes, pulls, Date.now, lifecycle.writePolicy, { maxReferences: config.registry.maxManifestReferences, listeners: [registryEvents(), signOnPushListener(), scanning.onPush], readGates: [signing, scanning.gate] }),
    listing: new ListingService(meta, config.registry),
    health: new HealthService(meta, blobs, { timeoutMs: config.health.timeoutSeconds * 1000, observePing: (s) => metrics.metadataPing.observe(s) }),
    limits: { maxManifestBytes: config.registry.maxManifestBytes, uploadIdleMs: config.registry.uploadIdleTimeoutSeconds * 1000 },
  };

  // Pull-through caches wrap the core's services (one map lookup for ordinary projects).
  const proxy = await createProxy(config.proxy, meta, meta.db, core, lifecycle.writePolicy, authStore, sealer, logger);
  const registry = proxy.registry;
  metrics.exposeProxyCounters(() => proxy.stats.snapshot() as unknown as Record<string, Record<string, number>>);

  // Access control: policy facts, the token issuer, identity providers and the authenticator.
  const { access, tokens, authenticator, workload, groups } = await createAccessControl(a, { authStore, audit, changes, sealer });
  const { service: scans, scanners: scannerRegistry } = scanning.start({
    blobs,
    audit,
    sealer,
    logger: logger.child({ component: 'scanning' }),
    metrics,
    attach: (repo, subject, type, bytes, notes) => attachArtifact(meta, registry.uploads, registry.manifests, repo, subject, type, bytes, notes),
    // An external scanner pulls the one image it scans with a short-lived pull-only token. It
    // names no account (a token for an account must carry its origin): it is exactly its grant,
    // whose SCANNER_PULL lets the image through the vulnerability gate (unscanned, it must be).
    pullToken: async (repo) => (a.enabled ? (await tokens.issueAccess('', [{ type: 'repository', name: repo, actions: ['pull', SCANNER_PULL] }], undefined)).token : null),
  });

  // The /api/v1 services.
  const sessionTtlMs = a.sessionTtlHours * 3600_000;
  const users = new UserService(authStore, authenticator, audit, sessionTtlMs);
  if (a.enabled) await bootstrapAdmin(users, logger);
  const api: ApiServices = {
    projects: new ProjectService(authStore, access, audit, lifecycle.settings, Date.now, (project) => signing.forget(project)),
    robots: new RobotService(authStore, authenticator, audit),
    trustPolicies: new TrustPolicyService(authStore, audit, workload, { allowHttpIssuers: a.workloadIdentity.allowHttpIssuers, groupMappings: a.groupMappings, adminGroups: a.adminGroups }),
    oidc: a.oidc
      ? {
          signIn: new OidcSignIn({ ...a.oidc, timeoutMs: a.oidc.timeoutSeconds * 1000 }),
          groups,
          label: a.oidc.buttonLabel,
          redirectUrl: a.oidc.redirectUrl,
        }
      : undefined,
    users,
    repositories: new RepositoryService(meta, new BrowseQueries(meta.db, meta.dialect), blobs, core.manifests, access, audit, a.enabled),
    security: new SecurityApi(scans, access, a.enabled, scannerRegistry),
    lifecycle,
    audit,
    authenticator,
    sessionTtlMs,
    tokens,
    signing: new SigningApi(authStore, signing, audit),
    proxies: new ProxyAdminService(proxy, config.proxy.defaultMirror, meta, jobs, audit),
    webhooks: new WebhookService(meta, authStore, audit, config.webhooks.allowPrivateNetworks, sealer, () => pullEvents.changed()),
    replication: new ReplicationService(meta, audit, sealer),
    readOnly,
  };

  // Under `--workers N` a scrape answers with every worker's sum, which the primary collects.
  const exposition = cluster.isWorker ? workerExposition(metrics.registry) : () => metrics.exposition();

  // HTTP: authentication hooks, /v2, the token endpoint, /api/v1, /ui.
  const httpAuth = { service: a.service, realm: a.realm, autoCreateProjects: a.autoCreateProjects };
  const s = config.http;
  const limits = {
    headersTimeoutMs: s.headersTimeoutSeconds * 1000,
    keepAliveTimeoutMs: s.keepAliveTimeoutSeconds * 1000,
    minBytesPerSecond: s.minBytesPerSecond,
    rateWindowMs: s.rateWindowSeconds * 1000,
    maxConnectionsPerAddress: s.maxConnectionsPerAddress,
    maxConnections: s.maxConnections,
  };
  const tlsFiles = async () => (config.tls.cert && config.tls.key ? { cert: await readFile(config.tls.cert), key: await readFile(config.tls.key) } : undefined);
  const tlsNow = await tlsFiles();
  const pressure = new LoopPressure();
  const app = await buildServer({
    logger,
    answered: pressure,
    ...(tlsNow ? { tls: { ...tlsNow, http2: config.tls.http2 } } : {}),
    trustProxy: config.http.trustProxy,
    registry,
    authorize: options.authorize ?? (a.enabled ? registryAuthorizer(access, authStore, audit, httpAuth, (subject) => authenticator.subject(subject)) : allowAll),
    hooks(root) {
      installAuthentication(root, authenticator, httpAuth);
      installRegistryAudit(root, audit, config.audit.recordPulls);
    },
    plugins: [
      tokenRoutes({ access, authenticator, tokens, audit, service: a.service }),
      async (root) => {
        await root.register(apiPlugin(api, access, a.enabled), { prefix: API_PREFIX });
      },
    ],
    limits,
    ...(tracing ? { tracing } : {}),
    ops: {
      metrics,
      health: registry.health,
      readOnly,
      exposition,
      metricsOnMainPort: config.metrics.enabled && config.metrics.listen === null,
      bearerToken: config.metrics.bearerToken,
    },
  });
  let metricsListener: Server | undefined;

  // Background jobs: every kind is declared in src/jobs/kinds.ts.
  const artifacts = registryArtifactWriter(meta, registry);
  const w = config.webhooks;
  const webhooks = new WebhookDeliverer(
    meta,
    lifecycle.leases,
    audit,
    { allowPrivateNetworks: w.allowPrivateNetworks, timeoutMs: w.timeoutSeconds * 1000, retryBaseMs: w.retryBaseMs, retryMaxMs: w.retryMaxMs, retryForMs: w.retryForSeconds * 1000, disableAfterFailures: w.disableAfterFailures },
    sealer,
    logger.child({ component: 'webhooks' }),
  );
  const r = config.replication;
  const replication = new ReplicationEngine(
    meta,
    new LocalEndpoint(meta, registry),
    (target) => new OciClient({ ...target, password: target.password === null ? null : sealer.open(target.password) }),
    { concurrency: r.concurrency, bandwidthBytesPerSecond: r.bandwidthBytesPerSecond, runTimeoutMs: r.runTimeoutSeconds * 1000 },
    logger.child({ component: 'replication' }),
  );
  const scrub = createScrub(config, meta, blobs, metrics);
  const kindHandlers = jobHandlers({ runs: lifecycle.runs, retention: lifecycle.retention, leases: lifecycle.leases, scans, webhooks, replication, logger, scrub, signing: { service: signing, artifacts, referenceHost: config.signing.referenceHost }, proxy: proxy.jobs });
  const handlers = tracing ? new Map([...kindHandlers].map(([kind, run]) => [kind, (payload: unknown, ctx: Parameters<typeof run>[1]) => tracing.span(`job ${kind}`, { 'berth.job.kind': kind, 'berth.job.id': ctx.job.id }, () => run(payload, ctx))])) : kindHandlers;
  const stopProxy = proxy.start((kind, payload, key) => jobs.offer(kind, payload, key));
  const stopJobs = new AbortController();
  const worker = new JobWorker(meta.jobs, handlers, {
    concurrency: config.jobs.concurrency,
    pollMs: config.jobs.pollMs,
    leaseMs: config.jobs.leaseSeconds * 1000,
    logger: logger.child({ component: 'jobs' }),
    burst: new BurstYield(pressure, config.jobs.yieldMs),
  });
  const working = config.jobs.enabled ? worker.run(stopJobs.signal) : Promise.resolve();
  // The outbox dispatcher: every node runs one; the cursor's compare-and-set keeps hand-offs single.
  const dispatcher = new EventDispatcher(meta, [webhookConsumer(), replicationConsumer()], {
    pollMs: config.events.pollMs,
    batchSize: config.events.batchSize,
    retentionMs: config.events.retentionDays * 86400_000,
    logger: logger.child({ component: 'events' }),
    onDispatched: () => worker.wake(),
    burst: new BurstYield(pressure, config.jobs.yieldMs),
  });
  const dispatching = config.jobs.enabled ? dispatcher.run(stopJobs.signal) : Promise.resolve();
  const cron = new ReplicationScheduler(meta, logger.child({ component: 'replication' }));
  if (config.jobs.enabled) cron.start();
  if (config.lifecycle.schedulerEnabled) await lifecycle.scheduler.start();
  const stopScrubSchedule = config.lifecycle.schedulerEnabled ? scheduleScrub(config.scrub.schedule, config.scrub.rateMBps * 1e6, (kind, payload, key) => jobs.offer(kind, payload, key), logger) : () => {};

  return {
    app,
    config,
    meta,
    blobs,
    jobs,
    secrets: new SharedSecrets(meta.settings),
    lifecycle,
    proxy,
    metrics,
    readOnly,
    tracing,
    scrub,
    async listen() {
      await app.listen(hostPort(config.listen));
      if (config.metrics.enabled && config.metrics.listen !== null) {
        const server = metricsServer({ metrics, exposition, bearerToken: config.metrics.bearerToken });
        const { host, port } = hostPort(config.metrics.listen);
        await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, host, () => ok()));
        metricsListener = server;
        app.log.info({ address: boundAddress(server, config.metrics.listen) }, 'metrics listening');
      }
      return boundAddress(app.server, config.listen);
    },
    /** Where `metrics.listen` is bound (host:port), once listening; undefined without one. */
    metricsAddress() {
      return metricsListener ? boundAddress(metricsListener, '') : undefined;
    },
    async reloadTls() {
      const files = await tlsFiles();
      if (!files) return;
      // Throws on a bad pair, leaving the running certificate in place.
      (app.server as unknown as { setSecureContext(o: { cert: Buffer; key: Buffer }): void }).setSecureContext(files);
      app.log.info({ cert: config.tls.cert }, 'TLS certificate reloaded');
    },
    async close() {
      stopProxy();
      stopScrubSchedule();
      if (metricsListener) await new Promise<void>((ok) => metricsListener!.close(() => ok()));
      await app.close();
      await lifecycle.close();
      cron.stop();
      stopJobs.abort();
      pressure.close();
      await working;
      await dispatching;
      await audit.close();
      await pulls.close();
      await changes.close();
      await blobs.close();
      await meta.close();
      await tracing?.close();
    },
  };
}
