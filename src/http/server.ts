/**
 * The HTTP edge: one Fastify instance with request ids, the one error handler, a request log
 * line per response, and the /v2 registry plugin. Further areas (/api, /ui) register here.
 * What slow and idle connections may hold is bounded by connection-limits.ts; health, metrics
 * and the read-only gate are ops.ts.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import { registryPlugin, type RegistryAuthorizer } from '../registry/routes/index.js';
import type { RegistryServices } from '../registry/services.js';
import { applyConnectionLimits, CHECK_INTERVAL_MS, type ConnectionLimits } from './connection-limits.js';
import { installErrorHandler } from './error-handler.js';
import { installOps, installTracing, type OpsDeps } from './ops.js';
import { LazyRequestLogger } from './request-logger.js';
import { installTurnEndSend } from './turn-end-send.js';
import type { Tracing } from '../ops/tracing.js';
import { defaultUiRoot, uiPlugin } from './ui.js';

export interface ServerDeps {
  logger: Logger;
  /** Fastify's `trustProxy`: which proxies' X-Forwarded-* headers to believe (client address, https). */
  trustProxy?: boolean | string | string[];
  registry: RegistryServices;
  authorize: RegistryAuthorizer;
  /** Root hooks that must run for every route (authentication), installed before any route. */
  hooks?: (app: FastifyInstance) => void;
  /** Further areas (token endpoint, /api/v1), registered after /v2. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
  /** Timeouts, minimum rates and connection caps (config `server`); Node's defaults without. */
  limits?: ConnectionLimits;
  /** Health and readiness, metrics and the read-only gate (ops.ts). */
  ops?: OpsDeps;
  /** Serve HTTPS with this certificate and key (PEM); `http2` offers HTTP/2 by ALPN, with HTTP/1.1 for clients that do not. */
  tls?: { cert: Buffer; key: Buffer; http2: boolean };
  /** Request spans (tracing.endpoint set); absent: no tracing hook at all. */
  tracing?: Tracing;
  /** Told of every response (the job worker's measure of request pressure, jobs/request-pressure.ts). */
  answered?: { answer(): void };
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const tls = deps.tls ? (deps.tls.http2 ? { http2: true, https: { cert: deps.tls.cert, key: deps.tls.key, allowHTTP1: true } } : { https: { cert: deps.tls.cert, key: deps.tls.key } }) : {};
  // Fastify's types split by protocol; every route and hook here works on the request/reply API both share.
  const app = (Fastify as unknown as (o: object) => FastifyInstance)({
    ...tls,
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Requests are logged once, by our own onResponse hook (fastify's per-request lines are off).
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) => new LazyRequestLogger(logger, bindings, options),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Manifests and blobs are streamed by the /v2 handlers; this caps JSON bodies elsewhere.
    bodyLimit: 1024 * 1024,
    // Large blobs may take long to stream: no total deadline; connection-limits.ts bounds slowness.
    requestTimeout: 0,
    keepAliveTimeout: deps.limits?.keepAliveTimeoutMs ?? 65_000,
    // Header deadlines are checked this often (Node's default, 30 s, would let them run long).
    ...(deps.tls ? {} : { http: { connectionsCheckingInterval: CHECK_INTERVAL_MS } }),
    return503OnClosing: true,
    trustProxy: deps.trustProxy ?? false,
  });
  if (deps.limits) {
    const stop = applyConnectionLimits(app.server as Server, deps.limits);
    app.addHook('onClose', async () => stop());
  }
  installErrorHandler(app);
  if (deps.tracing) installTracing(app, deps.tracing);
  // Hooks that never wait take Fastify's callback form: an async hook costs a promise and a
  // microtask turn on every request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id); // lowercase: see V2_HEADERS
    done();
  });
  // The request line carries the id itself, so the request's own child logger is not made for it (request-logger.ts).
  const log = deps.logger;
  const answered = deps.answered;
  app.addHook('onResponse', (request, reply, done) => {
    log.info({ reqId: request.id, method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    answered?.answer();
    done();
  });
  installTurnEndSend(app);
  if (deps.ops) installOps(app, deps.ops);
  deps.hooks?.(app);
  await app.register(registryPlugin(deps.registry, deps.authorize));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  await app.register(uiPlugin({ root: defaultUiRoot() }));
  return app;
}
