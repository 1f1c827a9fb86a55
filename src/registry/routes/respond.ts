/** Small helpers shared by the /v2 routes to shape responses and read request headers. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OciError, StalledBodyError } from '../../errors/oci.js';
import type { ChunkRange } from '../upload-errors.js';

export function sendJson(reply: FastifyReply, status: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  // A Buffer keeps Fastify from appending a charset to media types such as the OCI index.
  reply.code(status).header('Content-Type', contentType).send(Buffer.from(text));
}

export function sendEmpty(reply: FastifyReply, status: number, headers: Record<string, string> = {}): void {
  reply.code(status).headers({ ...headers, 'Content-Length': '0' }).send();
}

/** `Link: <path?n=..&last=..>; rel="next"` */
export function linkHeader(path: string, n: string | undefined, last: string, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  if (n !== undefined && n !== '') params.set('n', n);
  params.set('last', last);
  return `<${path}?${params.toString()}>; rel="next"`;
}

/**
 * The request body as an async iterable of Buffers, streamed from the socket. With `idleMs`,
 * a body that sends no byte for that long while it is being waited for is ended: the iteration
 * throws a StalledBodyError, so a client that sent headers and then nothing does not hold an
 * upload's write lease for ever. The clock stops while the consumer is busy with a chunk (a
 * slow disk is not the client's idleness). The connection is closed only after the handler
 * has failed and answered, so the upload's write lease is given up before the client can see
 * the close and come back on a new connection.
 */
export function bodyStream(request: FastifyRequest, idleMs = 0): AsyncIterable<Buffer> {
  const raw = request.raw;
  // A consumer that stops early (a refused push) must not destroy the request, which would
  // reset the connection before the error response is read: the error handler discards the
  // rest of the body instead.
  const chunks = raw.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
  if (!(idleMs > 0)) return chunks;
  return (async function* () {
    let timer: NodeJS.Timeout | undefined;
    try {
      for (;;) {
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StalledBodyError(idleMs)), idleMs);
        });
        const next = await Promise.race([chunks.next(), stalled]);
        clearTimeout(timer);
        if (next.done) return;
        yield next.value;
      }
    } finally {
      clearTimeout(timer);
      // As `for await` would: the socket's iterator lets go of the stream (its listeners), so the
      // error handler can still read and discard the rest of a refused body.
      void chunks.return?.().catch(() => {});
    }
  })();
}

/** True when the request carries a body (a non-zero Content-Length or chunked encoding). */
export function hasBody(request: FastifyRequest): boolean {
  const len = request.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return request.headers['transfer-encoding'] !== undefined;
}

export function contentLength(request: FastifyRequest): number | undefined {
  const len = request.headers['content-length'];
  if (len === undefined) return undefined;
  if (!/^\d{1,15}$/.test(len)) throw new OciError('SIZE_INVALID', { reason: 'invalid Content-Length' });
  return Number(len);
}

/**
 * A chunk's `Content-Range: <start>-<end>` (as the spec writes it; a `bytes ` prefix and a
 * `/total` suffix are tolerated). Undefined when absent; a string says why it is unreadable.
 */
export function chunkRange(request: FastifyRequest): ChunkRange | string | undefined {
  return parseContentRange(request.headers['content-range']);
}

/** The pure half of chunkRange: the header's value in, the range or why it is unreadable out. */
export function parseContentRange(h: string | undefined): ChunkRange | string | undefined {
  if (h === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d+|\*))?$/.exec(h.trim());
  if (!m) return `invalid Content-Range ${JSON.stringify(h.slice(0, 100))}: expected <start>-<end>`;
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** Reads a small body whole (manifests), refusing more than `limit` bytes. */
export async function readBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    request.raw.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(limit: number): OciError {
  return new OciError('MANIFEST_INVALID', { limit, reason: `manifest is larger than the limit of ${limit} bytes` }, { status: 413 });
}
