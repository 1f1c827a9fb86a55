/**
 * Shared pieces of the lifecycle management routes: the action each route declares for the
 * one permission hook, parsing of bodies and path/query values into problems, cursors.
 */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Resource } from '../../policy/authorize.js';
import type { Action } from '../../policy/roles.js';
import { ProblemError } from '../../errors/problem.js';
import { isRepoName } from '../../registry/names.js';

/**
 * What a route needs, read by the permission hook the access-control layer installs:
 * `read-project` (a project member), `manage-policies` (project admin/maintainer),
 * `admin` (system administrator).
 */
export type LifecycleAction = 'read-project' | 'manage-policies' | 'admin';

/**
 * The project a lifecycle route applies to: the `:name` path segment, else `?project=`, else
 * every project (`undefined`: only a system admin may). The permission hook authorizes this
 * project and the handler confines every object it reads or changes to the same value, so a
 * route never touches another project's objects (a trash entry, a run) than the one checked.
 */
export function routeProject(request: FastifyRequest): string | undefined {
  const path = (request.params as { name?: unknown }).name;
  if (typeof path === 'string') return path;
  const query = (request.query as { project?: unknown }).project;
  if (query === undefined || query === '') return undefined;
  if (typeof query !== 'string') throw new ProblemError(400, 'Bad Request', 'give project at most once');
  return query;
}

function projectResource(request: FastifyRequest): Resource {
  const project = routeProject(request);
  return project !== undefined ? { kind: 'project', project } : { kind: 'system' };
}

/** The policy action and resource behind each lifecycle action (the role table decides). */
export function routeConfig(action: LifecycleAction): { action: Action; resource: (request: FastifyRequest) => Resource } {
  switch (action) {
    case 'read-project':
      return { action: 'project.read', resource: projectResource };
    case 'manage-policies':
      return { action: 'policies.manage', resource: projectResource };
    case 'admin':
      return { action: 'system.manage', resource: () => ({ kind: 'system' }) };
  }
}

export function projectParam(params: unknown): string {
  const name = (params as { name?: string }).name ?? '';
  if (name.includes('/') || !isRepoName(name)) throw new ProblemError(400, 'Bad Request', `invalid project name ${JSON.stringify(name.slice(0, 100))}`);
  return name;
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ProblemError(400, 'Bad Request', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return r.data;
}

export function limitParam(query: unknown, def = 50, max = 500): number {
  const raw = (query as { limit?: string }).limit;
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ProblemError(400, 'Bad Request', `limit must be an integer from 1 to ${max}`);
  return n;
}

/** Cursors are the last id of the previous page (ids are descending). */
export function cursorParam(query: unknown): number | undefined {
  const raw = (query as { cursor?: string }).cursor;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ProblemError(400, 'Bad Request', 'invalid cursor');
  return n;
}

export function page<T extends { id: number }>(items: T[], limit: number): { items: T[]; next: string | null } {
  return { items, next: items.length === limit ? String(items[items.length - 1]!.id) : null };
}

export function intParam(raw: unknown, what: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ProblemError(400, 'Bad Request', `invalid ${what}`);
  return n;
}
