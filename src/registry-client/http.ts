/**
 * The transport of the client of another registry: one HTTP(S) request with node:http, its
 * response body handed over as the Node stream it arrives in. Node streams, not `fetch`: a
 * blob body from `fetch` goes through web streams, which cost a large pull through the cache
 * about a third of its throughput in allocation and promise hops (measured; see
 * bench/results/proxy.md). Plus the small readers every caller needs: a bounded text or byte
 * body, and discarding a body that is not wanted.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

export interface RemoteResponse {
  method: string;
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as it arrives; the caller reads it or calls `discard`. */
  body: IncomingMessage;
}

/** Why a request got no answer: the network, or no headers within the time allowed. */
export class RemoteUnreachable extends Error {
  override readonly name = 'RemoteUnreachable';
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

export interface SendOptions {
  headers?: Record<string, string | number>;
  /** A buffer, or a stream piped as the request body (sent once: never retried). */
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** Accept a TLS certificate that does not verify. */
  insecure?: boolean;
  /** Time allowed until the response's headers; 0 or absent: no limit. The body may take as long as it needs. */
  headersTimeoutMs?: number;
}

/** One request; resolves with the response whatever its status, rejects with RemoteUnreachable when there is none. */
export function send(method: string, url: URL, opts: SendOptions = {}): Promise<RemoteResponse> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers: opts.headers ?? {}, rejectUnauthorized: !opts.insecure, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
      clearTimeout(timer);
      resolve({ method, status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    if (opts.headersTimeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        req.destroy();
      }, opts.headersTimeoutMs);
    }
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (opts.signal?.aborted) return reject(opts.signal.reason ?? e);
      reject(new RemoteUnreachable(timedOut ? `no answer within ${(opts.headersTimeoutMs! / 1000).toString()} s` : e.message || e.code || String(e), timedOut));
    });
    const body = opts.body;
    if (body === undefined || Buffer.isBuffer(body)) req.end(body);
    else {
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    }
  });
}

/** One header's value (the first, when repeated). */
export function header(res: RemoteResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** The body as text, at most `max` characters (the rest is read and dropped); '' if it fails. */
export async function readText(res: RemoteResponse, max = 4096): Promise<string> {
  let out = '';
  try {
    for await (const c of res.body) if (out.length < max) out += (c as Buffer).toString('utf8');
  } catch {
    // a body cut short still gives what arrived
  }
  return out.slice(0, max);
}

/** The whole body; throws `tooLarge()` (after dropping the connection) past `max` bytes. */
export async function readBytes(res: RemoteResponse, max: number, tooLarge: () => Error = () => new Error(`response larger than ${max} bytes`)): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > max) {
      res.body.destroy();
      throw tooLarge();
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks, n);
}

/**
 * Drops a body nobody reads. A short or finished one is read to its end so the connection is
 * reused; a large one (a blob) closes the connection instead of being downloaded for nothing.
 */
export async function discard(res: RemoteResponse): Promise<void> {
  // A HEAD's Content-Length is the size of a body that never comes.
  const length = res.method === 'HEAD' ? 0 : Number(header(res, 'content-length') ?? 0);
  if (res.body.complete || res.body.destroyed) return;
  if (length > 64 * 1024) return void res.body.destroy();
  res.body.resume();
  await new Promise((r) => res.body.once('end', r).once('close', r).once('error', r));
}
