/**
 * Composition root: configuration -> stores -> services -> HTTP. Every object is built here
 * and handed its dependencies; nothing registers itself by import.
 */
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { buildServer } from './http/server.js';
import { openSqlite } from './metadata/sqlite.js';
import type { MetadataStore } from './metadata/store.js';
import { BlobService } from './registry/blobs.js';
import { LocalChangeFeed, type ChangeFeed } from './registry/change-feed.js';
import { ListingService } from './registry/listing.js';
import { ManifestCache } from './registry/manifest-cache.js';
import { ManifestService } from './registry/manifests.js';
import { PullRecorder } from './registry/pull-recorder.js';
import { allowAll } from './registry/routes/index.js';
import { UploadService } from './registry/uploads.js';
import type { BlobStore } from './storage/blob-store.js';
import { FsBlobStore } from './storage/fs/fs-blob-store.js';
import { S3BlobStore } from './storage/s3/s3-blob-store.js';

export interface Berth {
  app: FastifyInstance;
  config: Config;
  meta: MetadataStore;
  blobs: BlobStore;
  /** Starts listening on `config.listen`; resolves to the bound address (host:port). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function openMetadata(config: Config): Promise<MetadataStore> {
  const meta = openSqlite(resolve(config.metadata.sqlite.path ?? `${config.dataDir}/berth.db`));
  await meta.migrate();
  return meta;
}

export async function openBlobStore(config: Config): Promise<BlobStore> {
  if (config.storage.driver === 's3') return S3BlobStore.open(config.storage.s3);
  return FsBlobStore.open(resolve(config.storage.filesystem.root ?? `${config.dataDir}/storage`));
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.logLevel, base: { service: 'berth' } });
}

export async function createBerth(config: Config, logger: Logger = createLogger(config)): Promise<Berth> {
  const meta = await openMetadata(config);
  const blobs = await openBlobStore(config);
  const changes: ChangeFeed = new LocalChangeFeed();
  const pulls = new PullRecorder(meta);
  const cache = new ManifestCache(config.registry.manifestCacheEntries);
  const registry = {
    blobs: new BlobService(meta, blobs),
    uploads: new UploadService(meta, blobs),
    manifests: new ManifestService(meta, cache, changes, pulls),
    listing: new ListingService(meta, config.registry),
    limits: { maxManifestBytes: config.registry.maxManifestBytes },
  };
  const app = await buildServer({ logger, registry, authorize: allowAll });

  return {
    app,
    config,
    meta,
    blobs,
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
      await pulls.close();
      await changes.close();
      await blobs.close();
      await meta.close();
    },
  };
}
