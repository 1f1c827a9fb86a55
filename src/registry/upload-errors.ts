/**
 * The OCI errors of uploads, shared by the upload service and the verified blob writer: each
 * says where the upload stands, so a client can continue or start again.
 */
import { OciError } from '../errors/oci.js';
import type { Digest } from '../domain/names.js';

/** A byte range of a chunk, from Content-Range (both ends inclusive). */
export interface ChunkRange {
  start: number;
  end: number;
}

/** An upload id that names no session of the repository (or is not an id at all). */
export function unknownUpload(id: string): OciError {
  return new OciError('BLOB_UPLOAD_UNKNOWN', { upload: id.slice(0, 128) });
}

export function tooManyUploads(reason: string): OciError {
  return new OciError('TOOMANYREQUESTS', { reason });
}

export function checkRange(offset: number, range: ChunkRange | undefined, contentLength: number | undefined, id: string): void {
  if (!range) return;
  if (range.start !== offset) throw rangeError(id, offset, `chunk starts at ${range.start} but the upload is at ${offset}`);
  if (range.end < range.start) throw rangeError(id, offset, 'Content-Range end is before its start');
  if (contentLength !== undefined && contentLength !== range.end - range.start + 1) {
    throw rangeError(id, offset, `Content-Length ${contentLength} does not match Content-Range ${range.start}-${range.end}`);
  }
}

/** A 416 that tells the client where the upload stands. */
export function rangeError(id: string, offset: number, reason: string): OciError {
  return new OciError('BLOB_UPLOAD_INVALID', { reason }, { status: 416, headers: { Range: rangeHeader(offset), 'Docker-Upload-UUID': id } });
}

/** The spec's `Range: 0-<last byte>` (0-0 when nothing was received yet). */
export function rangeHeader(offset: number): string {
  return `0-${Math.max(0, offset - 1)}`;
}

export function digestMismatch(expected: Digest, actual: Digest): OciError {
  return new OciError('DIGEST_INVALID', { expected, actual, reason: 'the uploaded content does not match the digest' });
}

export function sizeMismatch(expected: number, actual: number): OciError {
  return new OciError('SIZE_INVALID', { expected, actual, reason: `expected ${expected} bytes, received ${actual}` });
}
