/**
 * The one configuration schema: every key has a default and a description. Objects are
 * strict (an unknown key is an error naming it); backends are unions on `driver`.
 * `berth config schema` prints it as JSON Schema and the README's reference table is
 * generated from it (`npm run docs:config`).
 */
import { z } from 'zod';

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

const filesystemStorage = z.strictObject({
  driver: z.literal('filesystem').describe('Blobs as files under one folder.'),
  filesystem: z
    .strictObject({
      root: z.string().optional().describe('Blob folder. Default: <dataDir>/storage.'),
    })
    .default({})
    .describe('Filesystem storage settings.'),
});

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
});

export const configSchema = z
  .strictObject({
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port')
      .default('0.0.0.0:5000')
      .describe('Address and port the HTTP server listens on (host:port).'),
    dataDir: z.string().min(1).default('./data').describe('Folder for the embedded database and blobs.'),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Log level of the JSON request log on stdout.'),
    metadata: z
      .discriminatedUnion('driver', [sqliteMetadata])
      .default({ driver: 'sqlite', sqlite: {} })
      .describe('Metadata store (repositories, manifests, tags, uploads, ...).'),
    storage: z
      .discriminatedUnion('driver', [filesystemStorage, s3Storage])
      .default({ driver: 'filesystem', filesystem: {} })
      .describe('Blob store (content-addressed bytes).'),
    registry: z
      .strictObject({
        maxManifestBytes: z.number().int().min(1024).default(4 * MiB).describe('Largest manifest accepted by PUT, in bytes.'),
        uploadMaxAgeSeconds: z.number().int().min(60).default(24 * 3600).describe('Upload sessions untouched for this long are abandoned and may be removed.'),
        manifestCacheEntries: z.number().int().min(0).default(10000).describe('Manifests kept in the in-memory read cache (0 disables it).'),
        defaultPageSize: z.number().int().min(1).default(1000).describe('Page size of tag, catalog and referrer lists when the client sends no `n`.'),
        maxPageSize: z.number().int().min(1).default(10000).describe('Largest `n` accepted by tag, catalog and referrer lists.'),
      })
      .default({
        maxManifestBytes: 4 * MiB,
        uploadMaxAgeSeconds: 24 * 3600,
        manifestCacheEntries: 10000,
        defaultPageSize: 1000,
        maxPageSize: 10000,
      })
      .describe('OCI Distribution behaviour.'),
  })
  .describe('Berth configuration');

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
