/**
 * The one place that writes error responses: `{"errors":[...]}` on /v2, an
 * `application/problem+json` document elsewhere, and for anything unexpected a logged 500
 * that carries the request id.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { databaseUnavailable, OciError, StalledBodyError, storageFull, type OciErrorCode } from '../errors/oci.js';
import { ProblemError, problemCodeForStatus } from '../errors/problem.js';
import { asStorageFull, isUnavailable } from '../errors/store.js';
import { isReadOnlyRefusal } from '../ops/read-only.js';

/** Framework errors (by status) mapped to the closest OCI code. */
function codeForStatus(status: number): OciErrorCode {
  switch (status) {
    case 400: return 'MANIFEST_INVALID';
    case 401: return 'UNAUTHORIZED';
    case 403: return 'DENIED';
    case 404: return 'NAME_UNKNOWN';
    case 413: return 'SIZE_INVALID';
    case 415: return 'UNSUPPORTED';
    case 429: return 'TOOMANYREQUESTS';
    default: return 'UNKNOWN';
  }
}

/** /v2 and the registry token endpoint (/auth/token) answer in the OCI error format clients read. */
function isV2(request: FastifyRequest): boolean {
  return request.url === '/v2' || request.url.startsWith('/v2/') || request.url.startsWith('/v2?') || request.url.startsWith('/auth/');
}

function hasUnreadBody(request: FastifyRequest): boolean {
  const len = request.headers['content-length'];
  const hasBody = len !== undefined ? len !== '0' : request.headers['transfer-encoding'] !== undefined;
  return hasBody && !request.raw.readableEnded;
}

/**
 * A full disk or an unreachable database, whichever layer it surfaced from, as the OciError
 * that names it (507, or 503 with Retry-After), or undefined for any other error.
 */
export function infrastructureError(err: unknown): OciError | undefined {
  if (err instanceof OciError) return undefined;
  const full = asStorageFull(err);
  if (full) return storageFull(full.code);
  if (isUnavailable(err)) return databaseUnavailable();
  return undefined;
}

/** How long the rest of an unread request body is read and discarded before answering anyway. */
const DISCARD_BODY_MS = 5_000;

/**
 * The rest of a request body the handler did not read (a push refused mid-body: full storage,
 * a quota, a wrong Content-Range) is read and thrown away BEFORE the answer goes out. Clients
 * such as skopeo and podman send uploads with `Connection: close`, so the server closes the
 * connection right after its answer; were the client still sending then, its next write would
 * be reset and it would report a broken pipe instead of our status. Resolves true once the
 * body has ended, false when it is still arriving after DISCARD_BODY_MS (the caller then cuts
 * the connection after answering: HTTP framing would otherwise have us read it all).
 */
function discardBody(request: FastifyRequest): Promise<boolean> {
  const raw = request.raw;
  return new Promise((resolve) => {
    const done = (ended: boolean) => () => {
      clearTimeout(timer);
      resolve(ended);
    };
    const timer = setTimeout(done(false), DISCARD_BODY_MS);
    raw.once('end', done(true));
    raw.once('close', done(raw.readableEnded));
    raw.once('error', done(false));
    raw.resume();
  });
}

export function toOciError(err: unknown, requestId: string): OciError {
  if (err instanceof OciError) return err;
  const infra = infrastructureError(err);
  if (infra) return infra;
  const status = (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) return new OciError(codeForStatus(status), { reason: (err as Error).message }, { status });
  return new OciError('UNKNOWN', { requestId, reason: 'internal error; see the server log for this request id' }, { status: 500 });
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler(async (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const requestId = String(request.id);
    // A client that went away surfaces as ECONNRESET too: that is not the database's doing.
    const infra = request.raw.socket?.destroyed ? undefined : infrastructureError(err);
    const status = infra ? infra.status : err instanceof OciError || err instanceof ProblemError ? err.status : ((err as FastifyError).statusCode ?? 500);
    // A full disk or a database outage is the operator's to fix, not a bug: a warning naming it.
    if (infra) request.log.warn({ err, status }, 'request failed: storage full or database unavailable');
    else if (status >= 500 && !isReadOnlyRefusal(err)) request.log.error({ err }, 'request failed');
    else request.log.debug({ err: (err as Error).message }, 'request refused');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return reply;
    }
    if (isV2(request)) {
      const e = toOciError(err, requestId);
      // A stalled body (StalledBodyError) is not waited for: answered at once, then the connection is cut.
      if (hasUnreadBody(request) && (err instanceof StalledBodyError || !(await discardBody(request)))) reply.raw.once('finish', () => request.raw.socket?.destroy());
      return reply
        .code(e.status)
        .headers(e.headers)
        .header('Content-Type', 'application/json')
        .send(JSON.stringify({ errors: [e.toJSON()] }));
    }
    const problem =
      err instanceof ProblemError
        ? err
        : infra
          ? new ProblemError(problemCodeForStatus(infra.status), (infra.detail as { reason: string }).reason, {}, infra.headers)
          : ProblemError.from(err, status, requestId);
    return reply.code(problem.status).headers(problem.headers).header('Content-Type', 'application/problem+json').send(JSON.stringify(problem.toJSON()));
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (isV2(request)) throw new OciError('NAME_UNKNOWN', { reason: 'no such registry endpoint' }, { status: 404 });
    throw new ProblemError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`);
  });
}

