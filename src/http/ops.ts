/**
 * The operations edge: `GET /healthz` (the process answers), `GET /readyz` (metadata, migrations
 * and blob store, 503 naming the failing part), `GET /metrics` (Prometheus text; on this port or
 * on `metrics.listen`, behind an optional bearer token), the request metrics every response
 * feeds (route template, method, status, latency; bytes pulled; uploads in flight), and the
 * read-only gate that refuses writes before any handler runs.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../ops/metrics.js';
import type { Tracing } from '../ops/tracing.js';
import { isWriteRequest, readOnlyRefusal, type ReadOnlyMode } from '../ops/read-only.js';
import type { HealthService } from '../registry/health.js';
import { routeTemplate } from '../registry/routes/route.js';

export interface OpsDeps {
  metrics: Metrics;
  health: HealthService;
  readOnly: ReadOnlyMode;
  /** The text exposition to serve: this process's, or under `--workers` the primary's sum of all workers. */
  exposition: () => Promise<string>;
  /** Serve /metrics on the main port (false when `metrics.listen` names another one, or metrics are off). */
  metricsOnMainPort: boolean;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  bearerToken: string | undefined;
}

const UPLOAD_PATH = /^\/v2\/.+\/blobs\/uploads(\/|\?|$)/;

function isV2(url: string): boolean {
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?') || url.startsWith('/auth/');
}

/** The label for a request's route: its template, never its concrete path (bounded cardinality). */
function routeLabel(request: FastifyRequest): string {
  if (request.registryRoute) return routeTemplate(request.registryRoute);
  const url = request.routeOptions.url;
  if (!url || url === '/v2/*' || url === '*' || url === '/*') return 'unmatched';
  return url;
}

function bearerOk(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function installOps(app: FastifyInstance, deps: OpsDeps): void {
  const { metrics } = deps;

  // Callback hooks (see server.ts): only a write waits, for the read-only state.
  app.addHook('onRequest', (request, reply, done) => {
    const url = request.url;
    if (request.method !== 'GET' && request.method !== 'HEAD' && UPLOAD_PATH.test(url)) {
      metrics.uploadsInProgress.inc();
      reply.raw.once('close', () => metrics.uploadsInProgress.dec());
    }
    if (!isWriteRequest(request.method, url)) return done();
    deps.readOnly.state().then((state) => done(state.enabled ? readOnlyRefusal(state, isV2(url)) : undefined), done);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = routeLabel(request);
    const method = request.method;
    metrics.httpRequests.inc({ route, method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route, method }, reply.elapsedTime / 1000);
    if (method === 'GET' && request.registryRoute?.name === 'get blob' && (reply.statusCode === 200 || reply.statusCode === 206) && reply.raw.writableFinished) {
      const length = Number(reply.getHeader('content-length'));
      if (Number.isFinite(length)) metrics.pulledBytes.inc(length);
    }
    done();
  });

  app.get('/healthz', { config: { action: 'anyone' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { action: 'anyone' } }, async (_request, reply) => {
    const r = await deps.health.readiness();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'unavailable', ...r.checks });
  });

  if (deps.metricsOnMainPort) {
    app.get('/metrics', { config: { action: 'anyone' } }, async (request, reply) => {
      if (!bearerOk(request.headers.authorization, deps.bearerToken)) {
        return reply.code(401).header('WWW-Authenticate', 'Bearer realm="berth-metrics"').type('text/plain').send('metrics need the bearer token (metrics.bearerToken)\n');
      }
      return reply.type(metrics.contentType).send(await deps.exposition());
    });
  }
}

/**
 * A span per request (tracing on): started by the first hook, so every later hook, the handler
 * and the store calls they make run inside it; ended with the route template and status.
 */
export function installTracing(app: FastifyInstance, tracing: Tracing): void {
  const spans = new WeakMap<FastifyRequest, ReturnType<Tracing['startRequest']>>();
  app.addHook('onRequest', async (request) => {
    spans.set(request, tracing.startRequest(request.headers, request.method));
  });
  const end = (request: FastifyRequest, status: number) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    tracing.endRequest(span, request.method, routeLabel(request), status);
  };
  app.addHook('onResponse', async (request, reply) => end(request, reply.statusCode));
  app.addHook('onRequestAbort', async (request) => end(request, 499));
}

/** A bare HTTP server answering only `GET /metrics`, for `metrics.listen`. */
export function metricsServer(deps: Pick<OpsDeps, 'metrics' | 'exposition' | 'bearerToken'>): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    if (!bearerOk(req.headers.authorization, deps.bearerToken)) {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="berth-metrics"' }).end('metrics need the bearer token (metrics.bearerToken)\n');
      return;
    }
    deps.exposition().then(
      (text) => res.writeHead(200, { 'Content-Type': deps.metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`could not collect metrics: ${(err as Error).message}\n`),
    );
  });
}
