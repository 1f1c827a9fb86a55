/**
 * Which blob store test servers use. `BERTH_TEST_STORAGE=s3` runs every test that starts Berth
 * through startBerth (test/helpers/berth.ts) over S3 on the Ceph RADOS Gateway of
 * scripts/ceph-rgw.sh instead of the filesystem, so the whole HTTP/OCI suite runs on S3
 * unchanged: `BERTH_TEST_STORAGE=s3 npm test`. Each server gets its own key prefix in one
 * shared bucket; closing the server deletes everything under it.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { ConfigInput } from '../../src/config/schema.js';
import { S3BlobStore } from '../../src/storage/s3/s3-blob-store.js';
import { adminClient, cephEndpoint, s3Settings } from './s3.js';

export type TestStorageKind = 'filesystem' | 's3';

export interface TestStorage {
  /** The `storage` section of the configuration. */
  storage: NonNullable<ConfigInput['storage']>;
  /** The same settings as BERTH_* environment variables, for `berth serve` in a child process. */
  env: Record<string, string>;
  /** Deletes what the server stored (the prefix of an S3 store). */
  cleanup(): Promise<void>;
}

export const TEST_BUCKET = 'berth-test';

export function testStorageKind(): TestStorageKind {
  const kind = process.env.BERTH_TEST_STORAGE ?? 'filesystem';
  if (kind !== 'filesystem' && kind !== 's3') throw new Error(`BERTH_TEST_STORAGE must be filesystem or s3, not ${kind}`);
  return kind;
}

/**
 * Storage for one test server: undefined for the filesystem default (inside the data folder),
 * or a fresh prefix in the S3 test bucket. Asking for S3 when Ceph is unavailable is an error.
 */
export async function testStorage(kind: TestStorageKind = testStorageKind(), s3: { redirect?: boolean; partSizeBytes?: number } = {}): Promise<TestStorage | undefined> {
  if (kind === 'filesystem') return undefined;
  const ep = await cephEndpoint();
  if (typeof ep === 'string') throw new Error(`BERTH_TEST_STORAGE=s3: ${ep}`);
  await ensureBucket(ep);
  const prefix = `t-${randomBytes(6).toString('hex')}/`;
  const settings = { ...s3Settings(ep, TEST_BUCKET, prefix), redirect: s3.redirect ?? false, partSizeBytes: s3.partSizeBytes ?? 5 * 1024 * 1024 };
  const env: Record<string, string> = {
    BERTH_STORAGE__DRIVER: 's3',
    BERTH_STORAGE__S3__ENDPOINT: settings.endpoint,
    BERTH_STORAGE__S3__REGION: settings.region,
    BERTH_STORAGE__S3__BUCKET: settings.bucket,
    BERTH_STORAGE__S3__PREFIX: settings.prefix,
    BERTH_STORAGE__S3__FORCE_PATH_STYLE: 'true',
    BERTH_STORAGE__S3__ACCESS_KEY_ID: settings.accessKeyId,
    BERTH_STORAGE__S3__SECRET_ACCESS_KEY: settings.secretAccessKey,
    BERTH_STORAGE__S3__REDIRECT: String(settings.redirect),
    BERTH_STORAGE__S3__PART_SIZE_BYTES: String(settings.partSizeBytes),
  };
  return {
    storage: { driver: 's3', s3: settings },
    env,
    async cleanup() {
      const store = await S3BlobStore.open({ ...settings, redirectExpirySeconds: 60 });
      try {
        await emptyPrefix(store);
      } finally {
        await store.close();
      }
    },
  };
}

async function ensureBucket(ep: Exclude<Awaited<ReturnType<typeof cephEndpoint>>, string>): Promise<void> {
  const client = adminClient(ep);
  try {
    await client.send(new CreateBucketCommand({ Bucket: TEST_BUCKET }));
  } catch (e) {
    if ((e as Error).name !== 'BucketAlreadyOwnedByYou' && (e as Error).name !== 'BucketAlreadyExists') throw e;
  } finally {
    client.destroy();
  }
}

/** Removes uploads (aborting their multipart commits) and blobs under the store's prefix. */
async function emptyPrefix(store: S3BlobStore): Promise<void> {
  for await (const u of store.listUploads()) await store.deleteUpload(u.id);
  for await (const b of store.list()) await store.delete(b.digest);
}
