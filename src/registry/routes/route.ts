/**
 * The /v2 route table's shape. Repository names contain slashes, so /v2 paths are matched
 * here (from the end of the path) rather than by the HTTP router. Every route declares the
 * action it needs on its repository; the permission hook reads it before any handler runs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RepoName } from '../../domain/names.js';
import type { Reader } from '../../policy/principal.js';
import type { RegistryServices } from '../services.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a route needs: `base` (the version check), `catalog` (list repositories), or an
 * action on the route's repository.
 */
export type RegistryAction = 'base' | 'catalog' | 'pull' | 'push' | 'delete';

export interface RouteContext {
  request: FastifyRequest;
  reply: FastifyReply;
  /** The repository in the path (empty for `base` and `catalog`). */
  repo: RepoName;
  /** The path segment after the resource (reference, digest or upload id). */
  param: string;
  query: Record<string, string | undefined>;
  services: RegistryServices;
  /** Asks the permission point about another repository (mount source, catalog entries). */
  may(action: 'pull' | 'push' | 'delete', repo: string): Promise<boolean>;
  /** Whether the catalog shows `repo` to the caller (see RegistryAuthorizer.listable). */
  listable(repo: string): Promise<boolean>;
  /** Who reads the route's repository, for the manifest read gates (see RegistryAuthorizer.reader). */
  reader(): Reader;
}

export interface RegistryRoute {
  method: HttpMethod;
  /** Matches the path after `/v2/`; group 1 is the repository, group 2 the parameter. */
  path: RegExp;
  action: RegistryAction;
  /** What the route does, for docs and logs. */
  name: string;
  handle(ctx: RouteContext): Promise<void>;
}

/**
 * Header names on the read paths are written in lowercase: Fastify keys every header by its
 * lowercase name (and sends it so), and a lowercase literal is that key already, where a
 * mixed-case one is lowered and looked up in V8's string table on every response.
 */
export const V2_HEADERS = { 'docker-distribution-api-version': 'registry/2.0' } as const;

declare module 'fastify' {
  interface FastifyRequest {
    /** The /v2 route the request matched (set once matched; metrics label requests by its template). */
    registryRoute?: RegistryRoute;
    /** Its repository and reference (or digest, session), for the audit hook (not matched twice). */
    registryTarget?: { repo: string; param: string };
  }
}

const PARAM_NAMES: Record<string, string> = { manifests: '{reference}', blobs: '{digest}', uploads: '{session}', referrers: '{digest}' };

/** The route's path as a template, e.g. `/v2/{name}/manifests/{reference}` (bounded label values for metrics). */
export function routeTemplate(route: RegistryRoute): string {
  // Asked for on every response (the request metrics): worked out once per route.
  let template = templates.get(route);
  if (template === undefined) templates.set(route, (template = templateOf(route)));
  return template;
}

const templates = new WeakMap<RegistryRoute, string>();

function templateOf(route: RegistryRoute): string {
  const path = route.path.source
    .replace(/^\^|\$$/g, '')
    .replace(/\\\//g, '/')
    .replace(/\/\?$/, '/')
    .replace('(.+)', '{name}')
    .replace(/([a-z_]+)\/\(\[\^\/\]\+\)/, (_m, seg: string) => `${seg}/${PARAM_NAMES[seg] ?? '{param}'}`);
  return `/v2/${path}`;
}
