/**
 * The S3 client and the key layout shared by the S3 blob store and its upload area. Every S3
 * call of the store goes through the official AWS SDK v3 client built here.
 *
 * Key layout under the configured prefix:
 *   blobs/<algorithm>/<hex>            committed blobs (content-addressed)
 *   uploads/<id>/started               marker written when an upload starts
 *   uploads/<id>/<generation>.<n>      staged part n (exactly partSize bytes)
 *   uploads/<id>/<generation>.tail     the bytes after the last whole part (< partSize)
 *   uploads/<id>/commit                the multipart upload of a commit in progress
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Digest } from '../../domain/names.js';

export interface S3Settings {
  endpoint?: string | undefined;
  region: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

export function createS3Client(s: S3Settings): S3Client {
  const config: S3ClientConfig = {
    region: s.region,
    forcePathStyle: s.forcePathStyle,
    // The SDK's default (checksums on every request, sent as `aws-chunked` trailers) is not
    // understood by Ceph RGW 16 and older S3-compatible stores (411 MissingContentLength).
    // Bodies are sent with a known Content-Length instead, checksums only where S3 demands them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (s.endpoint) config.endpoint = s.endpoint;
  if (s.accessKeyId && s.secretAccessKey) config.credentials = { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey };
  return new S3Client(config);
}

/** The bucket, the prefix and the key names of the layout above. */
export class S3Keys {
  readonly prefix: string;

  constructor(
    readonly bucket: string,
    prefix: string,
  ) {
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  get blobsPrefix(): string {
    return `${this.prefix}blobs/`;
  }

  get uploadsPrefix(): string {
    return `${this.prefix}uploads/`;
  }

  blob(digest: Digest): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return `${this.blobsPrefix}${algorithm}/${hex}`;
  }

  /** The digest a blob key names, or undefined for a foreign key. */
  digestOf(key: string): Digest | undefined {
    const m = /^([a-z0-9]+)\/([a-f0-9]+)$/.exec(key.slice(this.blobsPrefix.length));
    return key.startsWith(this.blobsPrefix) && m ? (`${m[1]}:${m[2]}` as Digest) : undefined;
  }

  upload(id: string): string {
    return `${this.uploadsPrefix}${id}/`;
  }

  /** `bucket/key` as the CopySource header wants it (each path segment URL-encoded). */
  copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }
}

/** True for the SDK's "no such key / bucket / upload" answers. */
export function isS3NotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.name === 'NoSuchUpload' || err?.$metadata?.httpStatusCode === 404;
}
