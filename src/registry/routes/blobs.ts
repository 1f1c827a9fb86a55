/** `/v2/<name>/blobs/<digest>`: GET and HEAD (with Range), DELETE. */
import { OciError } from '../../errors/oci.js';
import type { FastifyReply } from 'fastify';
import type { BlobCopy, ByteRange } from '../../storage/blob-store.js';
import { parseDigest } from '../../domain/names.js';
import type { RegistryRoute, RouteContext } from './route.js';
import { sendEmpty } from './respond.js';
import type { ServedHeaders } from '../services.js';

const PATH = /^(.+)\/blobs\/([^/]+)$/;

/**
 * Parses a single `Range: bytes=a-b | a- | -n` against the blob size. Undefined means "send
 * the whole blob" (no header, or a form we do not serve partially, such as several ranges).
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

async function fetchBlob({ request, reply, repo, param, services }: RouteContext): Promise<void> {
  const digest = parseDigest(param);
  const blob = await services.blobs.get(repo, digest);
  const headers: Record<string, string> = {
    // Lowercase names: see V2_HEADERS.
    'content-type': blob.mediaType,
    'docker-content-digest': digest,
    'accept-ranges': 'bytes',
    etag: `"${digest}"`,
    'cache-control': 'max-age=31536000',
  };
  const extra = (blob as ServedHeaders).headers;
  if (extra) Object.assign(headers, extra);
  const range = parseByteRange(request.headers.range, blob.size);
  if (range === 'unsatisfiable') {
    throw new OciError('RANGE_INVALID', { reason: `range ${request.headers.range} is outside the blob of ${blob.size} bytes` }, { headers: { 'Content-Range': `bytes */${blob.size}` } });
  }
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${blob.size}`;
    headers['content-length'] = String(range.end - range.start + 1);
  } else {
    headers['content-length'] = String(blob.size);
  }
  reply.code(range ? 206 : 200).headers(headers);
  if (request.method === 'HEAD') return void reply.send();
  if (blob.body.kind === 'bytes') return void reply.send(range ? blob.body.bytes.subarray(range.start, range.end + 1) : blob.body.bytes);
  if (!range) {
    const url = await services.blobs.redirectUrl(digest);
    if (url) return void reply.code(307).headers({ Location: url, 'Content-Length': '0' }).send();
  }
  // The whole blob as an explicit range: a file shorter than the recorded size then fails the
  // copy (the connection is cut) instead of ending a body shorter than its Content-Length.
  if (blob.body.openCopy) return sendCopy(reply, await blob.body.openCopy(range ?? (blob.size > 0 ? { start: 0, end: blob.size - 1 } : undefined)));
  reply.send(await blob.body.open(range));
}

/**
 * Sends an opened blob through the store's copy fast path, writing to the raw response
 * (hijacked: Fastify no longer sends it) with the status and every header set on the reply so
 * far. The copy was opened before the hijack, so a missing blob is still the error handler's
 * 404. Fastify's onResponse hooks and request log still run when the response finishes; a
 * failure after the headers went out is logged as Fastify logs a failed stream, and the
 * connection is destroyed so the client sees a short body.
 */
async function sendCopy(reply: FastifyReply, copy: BlobCopy): Promise<void> {
  const res = reply.raw;
  try {
    reply.hijack();
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
    res.writeHead(reply.statusCode);
    await copy.writeTo(res);
    res.end();
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') reply.log.info({ res: reply }, 'stream closed prematurely');
    else reply.log.warn({ err: e }, 'response terminated with an error with headers already sent');
    res.destroy();
  } finally {
    await copy.close();
  }
}

export const blobRoutes: RegistryRoute[] = [
  { method: 'GET', path: PATH, action: 'pull', name: 'get blob', handle: fetchBlob },
  { method: 'HEAD', path: PATH, action: 'pull', name: 'check blob', handle: fetchBlob },
  {
    method: 'DELETE',
    path: PATH,
    action: 'delete',
    name: 'delete blob',
    async handle({ reply, repo, param, services }) {
      await services.blobs.delete(repo, parseDigest(param));
      sendEmpty(reply, 202);
    },
  },
];
