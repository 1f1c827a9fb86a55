/**
 * The /api/v1 plugin: registers every route of the one table (apiRoutes) with its declared
 * action, and the one permission hook that asks the policy before any handler runs.
 * Cookie-authenticated writes must carry the session's CSRF token. With `auth.enabled: false`
 * (open registry) the policy is not consulted. A route's body and query are parsed by its
 * declared schemas before its handler runs; the OpenAPI document is built from the same table.
 */
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../errors/problem.js';
import type { AccessService } from '../policy/access.js';
import { projectLifecycleRoutes } from './lifecycle/projects.js';
import { lifecycleRunRoutes } from './lifecycle/runs.js';
import { openApiDocument } from './openapi.js';
import { parseInput, type ApiRoute } from './route.js';
import { auditRoutes } from './routes/audit.js';
import { memberRoutes } from './routes/members.js';
import { projectRoutes } from './routes/projects.js';
import { proxyRoutes } from './routes/proxies.js';
import { repositoryRoutes } from './routes/repositories.js';
import { robotRoutes } from './routes/robots.js';
import { securityRoutes } from './routes/security.js';
import { scannerRoutes } from './routes/scanners.js';
import { signingRoutes } from './routes/signing.js';
import { oidcRoutes } from './routes/oidc.js';
import { groupMappingRoutes } from './routes/group-mappings.js';
import { trustPolicyRoutes } from './routes/trust-policies.js';
import { sessionRoutes } from './routes/session.js';
import { systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';
import { webhookRoutes } from './routes/webhooks.js';
import { replicationRoutes } from './routes/replication.js';
import type { ApiServices } from './services/index.js';

export const API_PREFIX = '/api/v1';

export const apiRoutes: readonly ApiRoute[] = [
  ...sessionRoutes,
  ...oidcRoutes,
  ...projectRoutes,
  ...memberRoutes,
  ...robotRoutes,
  ...trustPolicyRoutes,
  ...groupMappingRoutes,
  ...userRoutes,
  ...tokenRoutes,
  ...repositoryRoutes,
  ...auditRoutes,
  ...systemRoutes,
  ...projectLifecycleRoutes,
  ...lifecycleRunRoutes,
  ...securityRoutes,
  ...scannerRoutes,
  ...signingRoutes,
  ...proxyRoutes,
  ...webhookRoutes,
  ...replicationRoutes,
];

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The one permission hook of the management API, installed once in this plugin's context. */
function installPermissionHook(app: FastifyInstance, access: AccessService, enabled: boolean): void {
  app.addHook('onRequest', async (request) => {
    const action = request.routeOptions.config.action;
    // A route without a declared action is a bug; refuse rather than guess.
    if (!action) throw new ProblemError('INTERNAL', `route ${request.method} ${request.routeOptions.url ?? request.url} declares no action`);
    if (request.principal.kind === 'user' && request.principal.via === 'session' && !SAFE.has(request.method)) {
      if (request.headers['x-csrf-token'] !== request.csrfToken) throw new ProblemError('FORBIDDEN', 'missing or wrong X-CSRF-Token header for a cookie-authenticated request');
    }
    if (!enabled) return;
    const resource = request.routeOptions.config.resource?.(request) ?? { kind: 'system' as const };
    const d = await access.check(request.principal, action, resource);
    // No Basic challenge for the web UI's fetches (X-Requested-With): browsers would pop up a
    // password dialog (and headless ones hang) instead of letting the page show its sign-in form.
    const challenge = !request.headers['x-requested-with'];
    if (!d.allow) throw new ProblemError(d.needsLogin ? 'UNAUTHORIZED' : 'FORBIDDEN', d.reason, {}, challenge ? { 'WWW-Authenticate': 'Basic realm="berth"' } : {});
  });
}

export function apiPlugin(services: ApiServices, access: AccessService, enabled: boolean) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    installPermissionHook(app, access, enabled);
    // Archives (vulnerability database imports) reach their route as the raw request stream.
    app.addContentTypeParser(['application/zip', 'application/gzip', 'application/x-gzip', 'application/x-tar', 'application/octet-stream'], (_request, payload, done) => done(null, payload));

    for (const route of apiRoutes) {
      app.route({
        method: route.method,
        url: route.url,
        config: { action: route.action, resource: route.resource },
        handler: async (request, reply) => {
          if (route.query) request.query = parseInput(route.query, request.query, 'query');
          if (route.body) request.body = parseInput(route.body, request.body, 'body');
          return route.handle(request, reply, services);
        },
      });
    }
    // Built on first request: the document (JSON Schemas of every body) is memory no other request needs.
    let doc: Record<string, unknown> | undefined;
    app.get('/openapi.json', { config: { action: 'anyone' } }, async () => (doc ??= openApiDocument(apiRoutes, API_PREFIX)));
  };
}
