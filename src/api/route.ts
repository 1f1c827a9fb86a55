/**
 * The shape of an /api/v1 route, the one way every management route is declared: method,
 * path, the action it needs and the resource it applies to (checked by the one permission hook
 * before the handler runs), its request schemas (body, query), its response schema, the audit
 * event it writes (null for reads), and the handler. The plugin validates the request against
 * the schemas before the handler runs (an invalid one is INVALID, 400); the OpenAPI document
 * and from it the web UI's client types are generated from the same table, and a test walks
 * the table and fails on a route that leaves any of these out.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ProblemError } from '../errors/problem.js';
import type { Resource } from '../policy/authorize.js';
import type { Action } from '../policy/roles.js';
import type { ApiServices } from './services/index.js';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRoute {
  method: ApiMethod;
  /** Fastify path under /api/v1, e.g. `/projects/:name`. */
  url: string;
  action: Action;
  /** The resource `action` applies to (`systemResource` for instance-wide actions). */
  resource: (request: FastifyRequest) => Resource;
  summary: string;
  /** The JSON body the route takes, or null for none. */
  body: z.ZodType | null;
  /** The query parameters the route reads (values are strings), or null for none. */
  query: z.ZodObject | null;
  /** The JSON the route answers with, or null for an empty answer (204). */
  response: z.ZodType | null;
  /** The success status when it is not 200 (or 204 for an empty answer). */
  status?: 201 | 202;
  /** The audit event (its `action`) a successful call writes; null for reads that write none. */
  audit: string | null;
  handle(request: FastifyRequest, reply: FastifyReply, services: ApiServices): Promise<unknown>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The action a route needs; every /api and /auth route declares one. */
    action?: Action;
    resource?: (request: FastifyRequest) => Resource;
  }
}

/** Query schemas: every parameter is an optional string (given at most once). */
export function queryOf<S extends Record<string, true>>(names: S): z.ZodObject<{ [K in keyof S]: z.ZodOptional<z.ZodString> }> {
  return z.object(Object.fromEntries(Object.keys(names).map((k) => [k, z.string().optional()]))) as never;
}

/** The query of every list: `limit` (clamped) and the opaque `cursor` (src/api/paging.ts). */
export const LIST_QUERY = { limit: true, cursor: true } as const;

export function params(request: FastifyRequest): Record<string, string> {
  return request.params as Record<string, string>;
}

export function query(request: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((request.query ?? {}) as Record<string, unknown>)) out[k] = Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
  return out;
}

/** Parses request input with its schema; the first issue becomes the INVALID problem's detail. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: 'body' | 'query'): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ProblemError('INVALID', `${i.path.join('.') || what}: ${i.message}`);
  }
  return r.data;
}

/** The request body by its schema (the plugin parsed it by the declared one already; parsing again is idempotent). */
export function body<T>(schema: z.ZodType<T>, request: FastifyRequest): T {
  return parseInput(schema, request.body, 'body');
}

export const systemResource = (): Resource => ({ kind: 'system' });
export const projectResource = (request: FastifyRequest): Resource => ({ kind: 'project', project: params(request).name! });
export const repositoryResource = (request: FastifyRequest): Resource => {
  const name = params(request).repo!;
  const i = name.indexOf('/');
  return { kind: 'repository', name, project: i < 0 ? name : name.slice(0, i) };
};
export const userResource = (request: FastifyRequest): Resource => ({ kind: 'user', name: userParam(request) });

/** `me` stands for the caller. */
export function userParam(request: FastifyRequest): string {
  const name = params(request).name!;
  if (name !== 'me') return name;
  const p = request.principal;
  if (p.kind === 'user') return p.name;
  throw new ProblemError('UNAUTHORIZED', 'sign in to use `me`');
}
