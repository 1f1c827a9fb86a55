/**
 * The /v2 route table and the Fastify plugin that dispatches to it. Every request is matched
 * here, its repository name parsed (NAME_INVALID at the edge), the route's action checked by
 * the one permission hook, and only then is the handler run.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OciError } from '../../errors/oci.js';
import { parseRepoName, type RepoName } from '../../domain/names.js';
import { ORDINARY_READER, type Reader } from '../../policy/principal.js';
import type { RegistryServices } from '../services.js';
import { baseRoutes } from './base.js';
import { blobRoutes } from './blobs.js';
import { manifestRoutes } from './manifests.js';
import { referrerRoutes } from './referrers.js';
import { V2_HEADERS, type HttpMethod, type RegistryAction, type RegistryRoute } from './route.js';
import { tagRoutes } from './tags.js';
import { uploadRoutes } from './uploads.js';

/** Order matters where paths overlap: upload paths before blob paths. */
export const registryRoutes: readonly RegistryRoute[] = [...baseRoutes, ...tagRoutes, ...manifestRoutes, ...uploadRoutes, ...blobRoutes, ...referrerRoutes];

/** The one permission point for /v2 (the policy behind it lives in src/policy). */
export interface RegistryAuthorizer {
  /**
   * Decides whether the request may perform `action` on `repo` (empty for base and catalog);
   * throws OciError UNAUTHORIZED or DENIED otherwise.
   */
  authorize(request: FastifyRequest, reply: FastifyReply, action: RegistryAction, repo: RepoName): Promise<void>;
  /** The same decision as a boolean, for checks inside a handler (mount source, catalog entries). */
  may(request: FastifyRequest, action: 'pull' | 'push' | 'delete', repo: string): Promise<boolean>;
  /**
   * Whether the catalog lists `repo` to the caller: what the caller may pull now. For a
   * registry token that is its subject's right (the token's catalog grant is the right to
   * list, not a list of repositories), exactly as if the subject had signed in with Basic.
   */
  listable(request: FastifyRequest, repo: string): Promise<boolean>;
  /** What the manifest read gates may know of the caller reading `repo` (see read-gates.ts). */
  reader(request: FastifyRequest, repo: string): Reader;
}

/**
 * The open registry (auth disabled): everything is allowed, and no caller can be told apart
 * from another (the scanner pulls without a token), so every reader is an ordinary one.
 */
export const allowAll: RegistryAuthorizer = { authorize: async () => {}, may: async () => true, listable: async () => true, reader: () => ORDINARY_READER };

export type RouteMatch = { route: RegistryRoute; repo: RepoName; param: string } | { allowed: HttpMethod[] } | undefined;

export function matchRoute(method: string, path: string): RouteMatch {
  const allowed: HttpMethod[] = [];
  for (const route of registryRoutes) {
    const m = route.path.exec(path);
    if (!m) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const hasRepo = route.action !== 'base' && route.action !== 'catalog';
    return { route, repo: (hasRepo ? parseRepoName(m[1]!) : '') as RepoName, param: (hasRepo ? m[2] : m[1]) ?? '' };
  }
  return allowed.length > 0 ? { allowed: [...new Set(allowed)] } : undefined;
}

const METHODS: HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

export function registryPlugin(services: RegistryServices, authorize: RegistryAuthorizer) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    // Bodies are streamed by the handlers, never parsed or buffered by the framework.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(V2_HEADERS);
      done();
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const q = request.url.indexOf('?');
      const path = (q < 0 ? request.url : request.url.slice(0, q)).replace(/^\/v2\/?/, '');
      const match = matchRoute(request.method, path);
      if (!match) throw new OciError('NAME_UNKNOWN', { path: request.url.slice(0, 300), reason: 'no such registry endpoint' }, { status: 404 });
      if ('allowed' in match) {
        throw new OciError('UNSUPPORTED', { reason: `method ${request.method} is not allowed here` }, { status: 405, headers: { Allow: match.allowed.join(', ') } });
      }
      const query = firstValues(request.query);
      if (services.routeRepo && match.route.action === 'pull') match.repo = await services.routeRepo(match.repo, query);
      request.registryRoute = match.route;
      request.registryTarget = { repo: match.repo, param: match.param };
      await authorize.authorize(request, reply, match.route.action, match.repo);
      const may = (action: 'pull' | 'push' | 'delete', repo: string) => authorize.may(request, action, repo);
      const listable = (repo: string) => authorize.listable(request, repo);
      const reader = () => authorize.reader(request, match.repo);
      await match.route.handle({ request, reply, repo: match.repo, param: match.param, query, services, may, listable, reader });
      // Returning the reply tells Fastify the response is under way (a streamed body ends later).
      return reply;
    };

    for (const url of ['/v2', '/v2/', '/v2/*']) app.route({ method: METHODS, url, exposeHeadRoute: false, handler });
  };
}

function firstValues(query: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    out[k] = Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
  }
  return out;
}
