/**
 * S3 BlobStore over any S3-compatible object store (AWS S3, Ceph RGW, MinIO, R2, ...) through
 * the official AWS SDK v3. Committed blobs are objects at `<prefix>blobs/<algorithm>/<hex>`,
 * written once by a server-side copy or CompleteMultipartUpload (both atomic), so a key exists
 * only with all its bytes. Uploads live in uploads.ts; every node can continue any upload
 * from its handle. Reads stream the object body; with `redirect` on, blob GETs may instead go
 * to a presigned URL.
 */
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { NotFoundError, UnavailableError } from '../../errors/store.js';
import type { Digest } from '../../domain/names.js';
import type { BlobStore, BlobStoreCapabilities, ByteRange, UploadWriteOptions } from '../blob-store.js';
import { createS3Client, isS3NotFound, S3Keys, type S3Settings } from './client.js';
import { S3Uploads } from './uploads.js';

export interface S3BlobStoreOptions extends S3Settings {
  redirect: boolean;
  redirectExpirySeconds: number;
  partSizeBytes: number;
  /** Keys per ListObjectsV2 page (S3's maximum is 1000); tests lower it to walk many pages. */
  listPageSize?: number;
}

export class S3BlobStore implements BlobStore {
  readonly capabilities: BlobStoreCapabilities;
  private readonly keys: S3Keys;
  private readonly uploads: S3Uploads;

  private constructor(
    private readonly client: S3Client,
    private readonly options: S3BlobStoreOptions,
  ) {
    this.capabilities = { redirect: options.redirect, copy: false };
    this.keys = new S3Keys(options.bucket, options.prefix);
    this.uploads = new S3Uploads(client, this.keys, options.partSizeBytes);
  }

  /**
   * Connects and checks that the bucket is reachable, so a wrong setting fails at start.
   * `client`: an S3 client to use instead of one built from `options` (tests pass a wrapped one).
   */
  static async open(options: S3BlobStoreOptions, client: S3Client = createS3Client(options)): Promise<S3BlobStore> {
    try {
      await client.send(new HeadBucketCommand({ Bucket: options.bucket }));
    } catch (e) {
      client.destroy();
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const why = status === 404 ? 'it does not exist' : status === 403 ? 'access denied' : (e as Error).message || (e as Error).name;
      throw new UnavailableError(`S3 bucket ${options.bucket}${options.endpoint ? ` at ${options.endpoint}` : ''} is not usable: ${why}`);
    }
    return new S3BlobStore(client, options);
  }

  async stat(digest: Digest): Promise<number | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.keys.bucket, Key: this.keys.blob(digest) }));
      return r.ContentLength ?? 0;
    } catch (e) {
      if (isS3NotFound(e)) return undefined;
      throw e;
    }
  }

  async read(digest: Digest, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.keys.bucket, Key: this.keys.blob(digest), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
        signal ? { abortSignal: signal } : {},
      );
      return r.Body as Readable;
    } catch (e) {
      if (isS3NotFound(e)) throw new NotFoundError(`blob ${digest}`);
      throw e;
    }
  }

  async redirectUrl(digest: Digest, expiresInSeconds = this.options.redirectExpirySeconds): Promise<string | undefined> {
    if (!this.options.redirect) return undefined;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.keys.bucket, Key: this.keys.blob(digest) }), { expiresIn: expiresInSeconds });
  }

  async delete(digest: Digest): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.keys.bucket, Key: this.keys.blob(digest) }));
  }

  async *list(signal?: AbortSignal): AsyncIterable<{ digest: Digest; size: number }> {
    for await (const o of this.uploads.listKeys(this.keys.blobsPrefix, signal, this.options.listPageSize)) {
      const digest = this.keys.digestOf(o.key);
      if (digest) yield { digest, size: o.size };
    }
  }

  createUpload(id: string): Promise<string> {
    return this.uploads.create(checkId(id));
  }

  // Every part is durable in object storage once it is uploaded: `flush` changes nothing here.
  writeUpload(id: string, handle: string, offset: number, source: AsyncIterable<Buffer>, signal?: AbortSignal, _options?: UploadWriteOptions): Promise<{ handle: string; written: number }> {
    return this.uploads.write(checkId(id), handle, offset, source, signal);
  }

  readUpload(id: string, handle: string, length: number, signal?: AbortSignal): Promise<Readable> {
    return this.uploads.read(checkId(id), handle, length, signal);
  }

  commitUpload(id: string, handle: string, size: number, digest: Digest, _options?: { unflushed?: boolean }): Promise<boolean> {
    return this.uploads.commit(checkId(id), handle, size, digest);
  }

  deleteUpload(id: string): Promise<void> {
    return this.uploads.remove(checkId(id));
  }

  listUploads(signal?: AbortSignal): AsyncIterable<{ id: string; modifiedAt: Date }> {
    return this.uploads.list(signal);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** Upload ids become key segments; anything but a plain token is refused like an absent upload. */
function checkId(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new NotFoundError(`invalid upload id ${id}`);
  return id;
}
