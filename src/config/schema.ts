/**
 * The one configuration schema: every key has a default and a description. Objects are
 * strict (an unknown key is an error naming it); backends are unions on `driver`.
 * `berth config schema` prints it as JSON Schema and the README's reference table is
 * generated from it (`npm run docs:config`).
 */
import { z } from 'zod';
import { auditSchema, authSchema } from './auth-schema.js';
import { signingSchema } from './signing-schema.js';
import { proxySchema } from './proxy-schema.js';

const MiB = 1024 * 1024;

const sqliteMetadata = z.strictObject({
  driver: z.literal('sqlite').describe('Embedded SQLite database (single node, or many processes on one host).'),
  sqlite: z
    .strictObject({
      path: z.string().optional().describe('Database file. Default: <dataDir>/berth.db.'),
    })
    .default({})
    .describe('SQLite settings.'),
});

const postgresMetadata = z.strictObject({
  driver: z.literal('postgres').describe('PostgreSQL database shared by every node (scale-out).'),
  postgres: z
    .strictObject({
      url: z.string().min(1).default('postgres://postgres@127.0.0.1:5432/berth').describe('Connection string (postgres://user:password@host:port/database).'),
      poolSize: z.number().int().min(1).default(10).describe('Connections in each process\'s pool (one more is held for change notifications).'),
      schema: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a lower-case SQL identifier').optional().describe('Schema (search_path) holding Berth\'s tables. Default: the server\'s default (public).'),
      ssl: z
        .strictObject({
          enabled: z.boolean().default(false).describe('Connect over TLS.'),
          rejectUnauthorized: z.boolean().default(true).describe('Verify the server certificate against `ca` (or the system CAs).'),
          ca: z.string().optional().describe('PEM file of the CA that signed the server certificate.'),
          cert: z.string().optional().describe('PEM file of a client certificate (mutual TLS).'),
          key: z.string().optional().describe('PEM file of the client certificate\'s key.'),
        })
        .default({ enabled: false, rejectUnauthorized: true })
        .describe('TLS to the database server.'),
      statementTimeoutMs: z.number().int().min(0).default(30000).describe('Server-side timeout of one statement in milliseconds (0: none).'),
    })
    .default({ url: 'postgres://postgres@127.0.0.1:5432/berth', poolSize: 10, ssl: { enabled: false, rejectUnauthorized: true }, statementTimeoutMs: 30000 })
    .describe('PostgreSQL settings.'),
});

const filesystemStorage = z.strictObject({
  driver: z.literal('filesystem').describe('Blobs as files under one folder.'),
  filesystem: z
    .strictObject({
      root: z.string().optional().describe('Blob folder. Default: <dataDir>/storage.'),
      sendfile: z
        .boolean()
        .optional()
        .describe('Default false. Send blob pulls with sendfile(2) on Linux over plain HTTP: the kernel sends the file without copying it through the process (0.12 against 0.61 CPU-seconds per pulled GB with the buffered copy). Off by default: on loopback, with curl on the same 2-core host, single-stream pulls were level with the copy (medians 1,649 against 1,621 and 1,766 against 1,820 MB/s in two runs of bench/pull-ab.ts) and now and then slower (1,165-1,364 MB/s), so turn it on where server CPU is the limit. Needs the native module that `npm install` builds; with TLS or verifyReads pulls are always copied.'),
    })
    .default({})
    .describe('Filesystem storage settings.'),
  verifyReads: z
    .boolean()
    .default(false)
    .describe('Hash every whole-blob read as it streams and cut the connection before the last byte when the stored bytes do not match their digest (the damaged copy is removed, so a re-push repairs it). Off by default: it cost 25-44% of pull throughput in bench/verify-reads.ts (SHA-256 runs on the event loop). Missing or truncated files are always detected, before the response starts.'),
});

const lifecycleSchema = z
  .strictObject({
    gc: z
      .strictObject({
        schedule: z.string().nullable().default('15 3 * * *').describe('Cron expression (5 or 6 fields) for scheduled garbage collection; null disables scheduled runs.'),
        graceSeconds: z.number().int().min(0).default(24 * 3600).describe('An object is reclaimed only after it has been unreferenced for this long (and is re-checked at deletion).'),
        deleteUntagged: z.boolean().default(true).describe('Reclaim manifests that no tag, index, trash entry or live subject references (a project retention policy may keep them).'),
        orphanReferrers: z.enum(['delete', 'keep']).default('delete').describe('Referrers whose subject manifest is gone: removed with their subject, or kept.'),
        batchSize: z.number().int().min(1).default(500).describe('Objects re-checked and deleted per transaction.'),
        deleteConcurrency: z.number().int().min(1).default(16).describe('Parallel byte deletes against the blob store.'),
        scanStorage: z.boolean().default(true).describe('Also list the blob store and remove bytes no blob row accounts for (left by crashes or refused pushes), once older than the grace period.'),
      })
      .default({ schedule: '15 3 * * *', graceSeconds: 24 * 3600, deleteUntagged: true, orphanReferrers: 'delete', batchSize: 500, deleteConcurrency: 16, scanStorage: true })
      .describe('Online garbage collection.'),
    trashDays: z.number().min(0).default(7).describe('Default window (days) in which tags removed by retention can be restored; a project policy may override it.'),
    schedulerEnabled: z.boolean().default(true).describe('Run scheduled garbage collection and retention on this node (runs are serialized across nodes by a lease).'),
  })
  .default({
    gc: { schedule: '15 3 * * *', graceSeconds: 24 * 3600, deleteUntagged: true, orphanReferrers: 'delete', batchSize: 500, deleteConcurrency: 16, scanStorage: true },
    trashDays: 7,
    schedulerEnabled: true,
  })
  .describe('Lifecycle: garbage collection, retention, trash.');

export type LifecycleConfig = z.infer<typeof lifecycleSchema>;

const s3Storage = z.strictObject({
  driver: z.literal('s3').describe('S3-compatible object storage (AWS S3, Ceph RGW, MinIO, R2, ...).'),
  s3: z
    .strictObject({
      endpoint: z.string().url().optional().describe('Endpoint URL, e.g. http://127.0.0.1:9000. Default: the AWS endpoint of the region.'),
      region: z.string().min(1).default('us-east-1').describe('Region used for request signing.'),
      bucket: z.string().min(1).default('berth').describe('Bucket holding blobs and uploads (it must exist).'),
      prefix: z.string().default('').describe('Key prefix inside the bucket, e.g. "registry/" (lets several registries share a bucket).'),
      forcePathStyle: z.boolean().default(false).describe('Path-style addressing (endpoint/bucket/key); needed by Ceph RGW and MinIO.'),
      accessKeyId: z.string().optional().describe('Access key id. Default: the standard AWS credential chain (environment, profile, instance role).'),
      secretAccessKey: z.string().optional().describe('Secret access key (with accessKeyId).'),
      redirect: z.boolean().default(false).describe('Answer blob GETs with a 307 redirect to a presigned URL, so bytes flow from storage to the client directly.'),
      redirectExpirySeconds: z.number().int().min(1).max(7 * 24 * 3600).default(600).describe('Lifetime of presigned blob URLs, in seconds.'),
      partSizeBytes: z
        .number()
        .int()
        .min(5 * MiB)
        .max(5 * 1024 * MiB)
        .default(16 * MiB)
        .describe('Size of the staged parts of an upload (S3 multipart part size); the largest blob is 10,000 parts. Each upload being written holds up to two parts in memory.'),
    })
    .prefault({})
    .describe('S3 storage settings.'),
  verifyReads: z
    .boolean()
    .default(false)
    .describe('Hash every whole-blob read Berth streams (not redirected ones) and cut the connection before the last byte when the stored bytes do not match their digest (the damaged copy is removed, so a re-push repairs it).'),
});

const httpSchema = z
  .strictObject({
    trustProxy: z
      .union([z.boolean(), z.string(), z.array(z.string())])
      .default(false)
      .describe(
        'Believe X-Forwarded-For/-Proto from these proxies: true (any), an address or CIDR list such as "10.0.0.0/8,127.0.0.1", or false. Decides the client address (login throttling, audit) and whether a request came over HTTPS (the session cookie is then `Secure`).',
      ),
    headersTimeoutSeconds: z.number().min(1).default(20).describe("A request's headers must arrive complete within this many seconds, or the connection is closed."),
    keepAliveTimeoutSeconds: z.number().min(1).default(65).describe('An idle keep-alive connection is closed after this many seconds (keep it above a load balancer\'s idle timeout).'),
    minBytesPerSecond: z.number().int().min(0).default(1024).describe('While the server waits on a client (a request body, or a response the client does not read), the connection must move this many bytes per second on average over `rateWindowSeconds`, or it is closed. No total deadline: large blobs may take as long as they need (0: no rule).'),
    rateWindowSeconds: z.number().int().min(1).default(30).describe('The window over which `minBytesPerSecond` is averaged.'),
    maxConnectionsPerAddress: z.number().int().min(0).default(256).describe('Open connections one client address may hold; more are closed at once. Behind a reverse proxy all clients share its address: raise it or set 0 (no cap) there.'),
    maxConnections: z.number().int().min(0).default(0).describe('Open connections in all (per process with `workers`); more are refused. 0: half of what the open-file limit leaves after 256 for files and the database.'),
  })
  .prefault({})
  .describe('HTTP server: which proxies to believe, and what slow and idle clients may hold.');

const opsSchema = {
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve Prometheus metrics at `GET /metrics`.'),
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port')
        .nullable()
        .default(null)
        .describe('Serve /metrics on this separate address (host:port) instead of the main port, e.g. to keep it off a public listener; null: the main port.'),
      bearerToken: z.string().min(16).optional().describe('When set, scrapes must send `Authorization: Bearer <token>` (Prometheus `authorization: {credentials: ...}`).'),
      collectIntervalSeconds: z.number().min(0).default(15).describe('Gauges read from the database (job queue depth, storage per project, last GC run) are re-read at most this often.'),
    })
    .prefault({})
    .describe('Prometheus metrics.'),
  readOnly: z
    .strictObject({
      enabled: z.boolean().default(false).describe('Start read-only: pushes, deletes and management writes are refused (503) while pulls go on; the API switch cannot turn it off.'),
      recheckSeconds: z.number().min(0).default(1).describe('How often each process re-reads the shared read-only switch (`POST /api/v1/system/read-only`); other nodes follow a change within this time.'),
    })
    .prefault({})
    .describe('Read-only mode.'),
  health: z
    .strictObject({
      timeoutSeconds: z.number().min(0.1).default(3).describe('Deadline of each part of a readiness check (`GET /readyz`: metadata database, migrations, blob store).'),
    })
    .prefault({})
    .describe('Health and readiness checks.'),
  scrub: z
    .strictObject({
      schedule: z.string().nullable().default(null).describe('Cron expression (5 or 6 fields) for a scheduled scrub of every blob and manifest (a `scrub.run` job any node runs); null: only `berth scrub` runs one.'),
      rateMBps: z.number().min(0).default(50).describe('Scheduled scrubs hash at most this many MB (10^6 bytes) per second, sparing the disks serving pulls (0: no limit).'),
      quarantineDir: z.string().optional().describe('Folder that receives the bytes of corrupt blobs scrub takes out of service. Default: <dataDir>/quarantine.'),
    })
    .prefault({})
    .describe('Scrub: re-hash stored content, report and quarantine damage.'),
  tracing: z
    .strictObject({
      endpoint: z.string().url().nullable().default(null).describe('OTLP/HTTP collector to send spans to, e.g. http://otel-collector:4318 (`/v1/traces` is added). null: tracing off, at no cost.'),
      serviceName: z.string().min(1).default('berth').describe('`service.name` of the spans.'),
      sampleRatio: z.number().min(0).max(1).default(1).describe('Share of new traces recorded (a request carrying a sampled `traceparent` is always recorded).'),
    })
    .prefault({})
    .describe('OpenTelemetry tracing: spans for requests, metadata queries, storage calls and jobs.'),
  tls: z
    .strictObject({
      cert: z.string().optional().describe('PEM file of the server certificate (and its chain): with `key`, the listener speaks HTTPS. `kill -HUP` reloads both files without dropping connections.'),
      key: z.string().optional().describe('PEM file of the certificate\'s private key.'),
      http2: z.boolean().default(true).describe('Offer HTTP/2 (by ALPN) to clients that support it; others use HTTP/1.1 on the same port.'),
    })
    .prefault({})
    .refine((t) => (t.cert === undefined) === (t.key === undefined), 'set both tls.cert and tls.key, or neither')
    .describe('TLS on the listener.'),
  shutdown: z
    .strictObject({
      graceSeconds: z.number().min(0).default(30).describe('On SIGTERM, in-flight requests get this long to finish before their connections are cut (an upload cut there stays resumable from its last durable offset).'),
    })
    .prefault({})
    .describe('Graceful shutdown.'),
};

export const configSchema = z
  .strictObject({
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port')
      .default('0.0.0.0:5000')
      .describe('Address and port the HTTP server listens on (host:port).'),
    dataDir: z.string().min(1).default('./data').describe('Folder for the embedded database and blobs.'),
    http: httpSchema,
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Log level of the JSON request log on stdout.'),
    metadata: z
      .discriminatedUnion('driver', [sqliteMetadata, postgresMetadata])
      .default({ driver: 'sqlite', sqlite: {} })
      .describe('Metadata store (repositories, manifests, tags, uploads, ...).'),
    storage: z
      .discriminatedUnion('driver', [filesystemStorage, s3Storage])
      .default({ driver: 'filesystem', filesystem: {}, verifyReads: false })
      .describe('Blob store (content-addressed bytes).'),
    jobs: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Run a job worker in this process (any node may run any job).'),
        concurrency: z.number().int().min(1).default(2).describe('Jobs one worker runs at the same time.'),
        pollMs: z.number().int().min(10).default(1000).describe('How often an idle worker looks for due jobs, in milliseconds.'),
        leaseSeconds: z.number().int().min(1).default(300).describe('How long a claimed job may run before another worker may take it over.'),
        yieldMs: z
          .number()
          .int()
          .min(0)
          .default(2000)
          .describe('While requests keep the event loop saturated (busy 90% of the last 200 ms), the job worker claims nothing and the event dispatcher hands off nothing for up to this long, so a burst of pushes is answered first and the scans and webhooks it queued run right after; saturation that lasts longer gets them running alongside again. 0: never wait.'),
      })
      .default({ enabled: true, concurrency: 2, pollMs: 1000, leaseSeconds: 300, yieldMs: 2000 })
      .describe('Durable background jobs stored in the metadata store.'),
    workers: z.number().int().min(0).default(1).describe('Processes `berth serve` runs on this host, sharing the listen port (1: one process, no cluster; 0: one per CPU core; N > 1: a small supervising primary and N workers).'),
    registry: z
      .strictObject({
        maxManifestBytes: z.number().int().min(1024).default(4 * MiB).describe('Largest manifest accepted by PUT, in bytes.'),
        maxManifestReferences: z.number().int().min(1).max(100_000).default(10_000).describe('Most descriptors one manifest may list (config + layers, or the manifests of an index); more is MANIFEST_INVALID.'),
        uploadMaxAgeSeconds: z.number().int().min(60).default(24 * 3600).describe('Upload sessions untouched for this long are abandoned and may be removed.'),
        maxOpenUploadsPerRepository: z.number().int().min(1).default(1000).describe('Open upload sessions one repository may have (abandoned ones not counted); more is TOOMANYREQUESTS until some finish or are cancelled.'),
        maxOpenUploadsPerPrincipal: z.number().int().min(1).default(1000).describe('Open upload sessions one user or robot may have across repositories (anonymous callers count per address).'),
        manifestCacheEntries: z.number().int().min(0).default(10000).describe('Manifests kept in the in-memory read cache (0 disables it).'),
        defaultPageSize: z.number().int().min(1).default(1000).describe('Page size of tag, catalog and referrer lists when the client sends no `n`.'),
        maxPageSize: z.number().int().min(1).default(10000).describe('Largest `n` accepted by tag, catalog and referrer lists.'),
        uploadIdleTimeoutSeconds: z
          .number()
          .min(0)
          .default(60)
          .describe('An upload request (PATCH, PUT, monolithic POST) whose body sends no byte for this long is ended; the upload stays at its last durable offset and can be continued from a new connection (0: no limit).'),
      })
      .default({
        maxManifestBytes: 4 * MiB,
        maxManifestReferences: 10_000,
        uploadMaxAgeSeconds: 24 * 3600,
        maxOpenUploadsPerRepository: 1000,
        maxOpenUploadsPerPrincipal: 1000,
        manifestCacheEntries: 10000,
        defaultPageSize: 1000,
        maxPageSize: 10000,
        uploadIdleTimeoutSeconds: 60,
      })
      .describe('OCI Distribution behaviour.'),
    auth: authSchema,
    audit: auditSchema,
    events: z
      .strictObject({
        pollMs: z.number().int().min(10).default(200).describe('How often each node looks for new outbox events to hand to webhooks and replication, in milliseconds.'),
        batchSize: z.number().int().min(1).max(10_000).default(200).describe('Events handed off in one dispatcher transaction.'),
        retentionDays: z.number().min(0).default(7).describe('Dispatched outbox events older than this are deleted (the audit log keeps its own entries).'),
      })
      .default({ pollMs: 200, batchSize: 200, retentionDays: 7 })
      .describe('The event outbox: every change writes an event in its own transaction; a dispatcher on each node hands them to consumers through the job queue.'),
    webhooks: z
      .strictObject({
        allowPrivateNetworks: z.boolean().default(false).describe('Let webhooks (and replication targets) reach loopback, private, link-local and unique-local addresses. Off, such URLs are refused when created and when delivered (after DNS resolution), against SSRF.'),
        timeoutSeconds: z.number().min(0.1).default(10).describe('How long one delivery attempt may take before it counts as failed.'),
        retryBaseMs: z.number().int().min(1).default(10_000).describe('Delay before the second attempt of a failed delivery; doubled for each further one, up to retryMaxMs.'),
        retryMaxMs: z.number().int().min(1).default(3_600_000).describe('Longest delay between two attempts of a delivery.'),
        retryForSeconds: z.number().min(0).default(86_400).describe('A delivery still failing this long after it was first tried is given up (marked failed).'),
        disableAfterFailures: z.number().int().min(1).default(5).describe('A subscription whose deliveries were given up this many times in a row is disabled (with an audit entry) until re-enabled.'),
      })
      .default({ allowPrivateNetworks: false, timeoutSeconds: 10, retryBaseMs: 10_000, retryMaxMs: 3_600_000, retryForSeconds: 86_400, disableAfterFailures: 5 })
      .describe('Outgoing webhooks: signed CloudEvents (or Harbor-format) POSTs per project or system-wide.'),
    replication: z
      .strictObject({
        concurrency: z.number().int().min(1).max(64).default(4).describe('Blobs and manifests one replication run copies at the same time.'),
        bandwidthBytesPerSecond: z.number().int().min(0).default(0).describe('Upper bound on the bytes per second one run sends or receives (0: no limit).'),
        runTimeoutSeconds: z.number().int().min(1).default(6 * 3600).describe('A replication run still going after this long is stopped and marked failed.'),
      })
      .default({ concurrency: 4, bandwidthBytesPerSecond: 0, runTimeoutSeconds: 6 * 3600 })
      .describe('Replication to and from other OCI registries.'),
    lifecycle: lifecycleSchema,
    signing: signingSchema,
    proxy: proxySchema,
    ...opsSchema,
    scanning: z
      .strictObject({
        onPush: z.boolean().default(true).describe('Scan every pushed image manifest (each platform of an index) through the job queue.'),
        gateCacheEntries: z.number().int().min(1).default(50_000).describe('Pull-gate verdicts kept in memory per process.'),
        databaseRepository: z
          .string()
          .nullable()
          .default(null)
          .describe('A repository of this registry (e.g. "security/osv") whose pushed manifests carry the OSV database: each layer a .zip, .tar.gz or .tar of OSV JSON files. Every push to it is imported (air-gapped sites mirror the database like an image); null: none.'),
      })
      .default({ onPush: true, gateCacheEntries: 50_000, databaseRepository: null })
      .describe('Vulnerability scanning: package inventory, OSV matching, the per-project pull gate.'),
  })
  .describe('Berth configuration');

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
