/**
 * The shape of an /api/v1 route: method, path, the action it needs (checked by the one
 * permission hook before the handler runs), how to find the resource the action applies to,
 * an optional body schema, and the handler. The OpenAPI document is built from the same table.
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
  /** The resource `action` applies to (default: the system). */
  resource?: (request: FastifyRequest) => Resource;
  summary: string;
  body?: z.ZodType;
  /** Marks which query parameters the route reads, for the OpenAPI document. */
  query?: string[];
  handle(request: FastifyRequest, reply: FastifyReply, services: ApiServices): Promise<unknown>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The action a route needs; every /api and /auth route declares one. */
    action?: Action;
    resource?: (request: FastifyRequest) => Resource;
  }
}

export function params(request: FastifyRequest): Record<string, string> {
  return request.params as Record<string, string>;
}

export function query(request: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((request.query ?? {}) as Record<string, unknown>)) out[k] = Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
  return out;
}

export function body<T>(schema: z.ZodType<T>, request: FastifyRequest): T {
  const r = schema.safeParse(request.body ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ProblemError(422, 'Unprocessable Content', `${i.path.join('.') || 'body'}: ${i.message}`);
  }
  return r.data;
}

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
  throw new ProblemError(401, 'Unauthorized', 'sign in to use `me`');
}
