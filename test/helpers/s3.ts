/**
 * The real S3 endpoint for tests: the single-node Ceph RADOS Gateway of scripts/ceph-rgw.sh,
 * started on first use (the script is idempotent and serialises parallel callers; the cluster
 * keeps running for the next test file, `scripts/ceph-rgw.sh stop` ends it). Under CI=true a
 * missing Ceph is an error; elsewhere tests skip with the reason.
 *
 * Each test works in its own fresh bucket and removes it at the end, which S3 refuses unless
 * the bucket is empty, so a test that leaves objects or multipart uploads behind fails.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client, type S3Settings } from '../../src/storage/s3/client.js';

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const SCRIPT = fileURLToPath(new URL('../../../scripts/ceph-rgw.sh', import.meta.url));

let started: Promise<S3Endpoint | string> | undefined;

/** The Ceph RGW endpoint, or the reason it is unavailable (outside CI only; under CI it throws). */
export async function cephEndpoint(): Promise<S3Endpoint | string> {
  started ??= (async () => {
    try {
      const { stdout } = await promisify(execFile)(SCRIPT, ['start'], { timeout: 180_000 });
      const env = Object.fromEntries(stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      if (!env.S3_ENDPOINT) throw new Error(`scripts/ceph-rgw.sh start printed no S3_ENDPOINT:\n${stdout}`);
      return { endpoint: env.S3_ENDPOINT, region: env.S3_REGION ?? 'us-east-1', accessKeyId: env.S3_ACCESS_KEY_ID!, secretAccessKey: env.S3_SECRET_ACCESS_KEY! };
    } catch (e) {
      const err = e as Error & { stderr?: string };
      const reason = `Ceph RGW unavailable (scripts/ceph-rgw.sh start failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' | ')})`;
      if (process.env.CI === 'true') throw new Error(reason);
      return reason;
    }
  })();
  return started;
}

/** Settings for a store over `bucket` at the endpoint. */
export function s3Settings(ep: S3Endpoint, bucket: string, prefix = ''): S3Settings & S3Endpoint {
  return { endpoint: ep.endpoint, region: ep.region, bucket, prefix, forcePathStyle: true, accessKeyId: ep.accessKeyId, secretAccessKey: ep.secretAccessKey };
}

export function adminClient(ep: S3Endpoint): S3Client {
  return createS3Client(s3Settings(ep, 'unused'));
}

export async function createBucket(ep: S3Endpoint, prefix = 'berth-test'): Promise<string> {
  const bucket = `${prefix}-${randomBytes(6).toString('hex')}`;
  const client = adminClient(ep);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}

/** Every object key and unfinished multipart upload in the bucket. */
export async function bucketLeftovers(ep: S3Endpoint, bucket: string): Promise<string[]> {
  const client = adminClient(ep);
  try {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.push(o.Key!);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const mpus = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const u of mpus.Uploads ?? []) out.push(`multipart upload of ${u.Key}`);
    return out;
  } finally {
    client.destroy();
  }
}

/** Removes the bucket; with `force`, empties it first (cleanup after a failed test). */
export async function deleteBucket(ep: S3Endpoint, bucket: string, force = false): Promise<void> {
  const client = adminClient(ep);
  try {
    if (force) {
      const mpus = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      for (const u of mpus.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
      for (;;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length === 0) break;
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      }
    }
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}
