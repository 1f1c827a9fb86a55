/**
 * What the lifecycle routes share: which project a route applies to (authorized by the
 * permission hook and confining the handler), the lifecycle actions' policy mapping, path
 * parameter parsing and the audit event of a settings change.
 */
import type { FastifyRequest } from 'fastify';
import type { Resource } from '../../policy/authorize.js';
import type { Action } from '../../policy/roles.js';
import { ProblemError } from '../../errors/problem.js';
import { principalName } from '../../policy/principal.js';
import { isRepoName } from '../../domain/names.js';
import type { ApiServices } from '../services/index.js';

/**
 * What a route needs, read by the permission hook: `read-project` (a project member),
 * `manage-policies` (project admin/maintainer), `admin` (system administrator).
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
  if (typeof query !== 'string') throw new ProblemError('INVALID', 'give project at most once');
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
  if (name.includes('/') || !isRepoName(name)) throw new ProblemError('INVALID', `invalid project name ${JSON.stringify(name.slice(0, 100))}`);
  return name;
}

export function intParam(raw: unknown, what: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ProblemError('INVALID', `invalid ${what}`);
  return n;
}

/** Records a lifecycle change in the audit log (the route table names `action` as its audit event). */
export function recordChange(request: FastifyRequest, s: ApiServices, action: string, resource: string, project: string | null, detail?: unknown): void {
  s.audit.record({ actor: principalName(request.principal), action, resource, project, result: 'success', sourceAddress: request.ip, ...(detail !== undefined ? { detail } : {}) });
}
