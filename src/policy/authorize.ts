/**
 * `authorize(principal, action, resource, facts)`: the one decision function. Pure: the facts
 * it needs (the project's record, the caller's role in it) are fetched by the caller
 * (access.ts) so the rules here read top to bottom and can be tested without a database.
 * A denial carries a reason that reaches the client, and says whether signing in could help
 * (401 UNAUTHORIZED) or not (403 DENIED).
 */
import type { ProjectRecord, Role } from '../metadata/auth-store.js';
import type { Principal } from './principal.js';
import { isRepositoryAction, PUBLIC_PROJECT_ACTIONS, ROLE_ACTIONS, type Action, type ProjectAction, type RepositoryAction } from './roles.js';

export type Resource =
  | { kind: 'system' }
  | { kind: 'project'; project: string }
  | { kind: 'repository'; name: string; project: string }
  | { kind: 'user'; name: string };

export interface Facts {
  /** The resource's project, undefined when it does not exist. */
  project?: ProjectRecord | undefined;
  /** The caller's role in that project. */
  role?: Role | undefined;
  /** Projects are created on first push (config `auth.autoCreateProjects`). */
  autoCreateProjects: boolean;
  /** Who may create projects (config `auth.projectCreation`). */
  projectCreation: 'everyone' | 'adminOnly';
}

export type Decision =
  | { allow: true; createProject?: boolean }
  | { allow: false; reason: string; needsLogin: boolean };

const allow: Decision = { allow: true };

function deny(principal: Principal, reason: string): Decision {
  return { allow: false, reason, needsLogin: principal.kind === 'anonymous' };
}

function describe(action: Action, resource: Resource): string {
  if (resource.kind === 'repository') return `${action} on repository ${resource.name}`;
  if (resource.kind === 'project') return `${action} on project ${resource.project}`;
  if (resource.kind === 'user') return `${action} on user ${resource.name}`;
  return action;
}

export function authorize(principal: Principal, action: Action, resource: Resource, facts: Facts): Decision {
  if (action === 'anyone') return allow;
  if (principal.kind === 'anonymous' && action !== 'base' && resource.kind === 'system') return deny(principal, `authentication required for ${action}`);
  if (principal.kind === 'token') return byRegistryToken(principal, action, resource);

  if (action === 'base') return principal.kind === 'anonymous' ? deny(principal, 'authentication required') : allow;
  if (action === 'signedIn') return allow; // anonymous was refused above
  // Listing the catalog is allowed to everyone signed in; the listing filters it per repository.
  if (action === 'catalog') return principal.kind === 'anonymous' ? deny(principal, 'authentication required to list repositories') : allow;

  const narrowed = scopeRefusal(principal, action, resource);
  if (narrowed) return narrowed;
  if (resource.kind === 'user') {
    if (principal.kind === 'user' && (principal.admin || principal.name === resource.name)) return allow;
    return deny(principal, `${action} on user ${resource.name} needs that user or a system admin`);
  }
  if (resource.kind === 'system') return onSystem(principal, action, facts);
  return inProject(principal, action, resource, facts);
}

/** A registry token is exactly its grants (already the intersection of asked and allowed). */
function byRegistryToken(principal: Extract<Principal, { kind: 'token' }>, action: Action, resource: Resource): Decision {
  if (action === 'base') return allow;
  if (action === 'catalog') return principal.grants.some((g) => g.type === 'registry' && g.name === 'catalog' && g.actions.includes('*')) ? allow : deny(principal, 'token does not grant registry:catalog:*');
  if (resource.kind === 'repository' && isRepositoryAction(action)) {
    const ok = principal.grants.some((g) => g.type === 'repository' && g.name === resource.name && (g.actions.includes(action) || g.actions.includes('*')));
    return ok ? allow : deny(principal, `token does not grant ${action} on repository ${resource.name}; request a token with scope repository:${resource.name}:${action}`);
  }
  return deny(principal, `registry tokens cannot be used for ${action}`);
}

/**
 * A personal access token narrows its user: a repository action needs its scope, a management
 * write needs `manage`, a read needs none. Undefined when the scopes allow the action (the
 * user's own rights decide next).
 */
function scopeRefusal(principal: Principal, action: Action, resource: Resource): Decision | undefined {
  const scoped = principal.kind === 'user' ? principal.scopes : undefined;
  if (!scoped) return undefined;
  const needed = isRepositoryAction(action) ? action : action.endsWith('.read') || action === 'project.read' ? undefined : 'manage';
  return needed !== undefined && !scoped.has(needed) ? deny(principal, `personal access token lacks scope ${needed} needed for ${describe(action, resource)}`) : undefined;
}

/** System-wide actions: system admins only, but project creation as configured. */
function onSystem(principal: Principal, action: Action, facts: Facts): Decision {
  const admin = principal.kind === 'user' && principal.admin;
  if (action === 'project.create') {
    if (principal.kind !== 'user') return deny(principal, 'only users may create projects');
    return admin || facts.projectCreation === 'everyone' ? allow : deny(principal, 'only system admins may create projects (auth.projectCreation is adminOnly)');
  }
  return admin ? allow : deny(principal, `${action} needs a system admin`);
}

/** Actions on a project or one of its repositories: system admins, robots, roles, public projects. */
function inProject(principal: Principal, action: Action, resource: Resource & { project: string }, facts: Facts): Decision {
  const project = facts.project;
  const admin = principal.kind === 'user' && principal.admin;
  if (!project) {
    if (action === 'push' && facts.autoCreateProjects && principal.kind === 'user') return { allow: true, createProject: true };
    if (admin) {
      // A system admin sees every project, so the helpful reason gives nothing away.
      if (action === 'push') return deny(principal, `project ${resource.project} does not exist; create it first (POST /api/v1/projects or \`berth project create ${resource.project}\`)`);
      return allow; // the handler answers "unknown"
    }
    return unseen(principal, action, resource);
  }

  if (admin) return allow;
  const repoOrProjectAction = action as RepositoryAction | ProjectAction;

  if (principal.kind === 'robot' || principal.kind === 'workload') {
    const actions = principal.permissions[project.name] ?? [];
    if (isRepositoryAction(action) && actions.includes(action)) return allow;
    if ((action === 'project.read' && actions.length > 0) || (project.public && PUBLIC_PROJECT_ACTIONS.has(repoOrProjectAction))) return allow;
    if (actions.length === 0 && !project.public) return unseen(principal, action, resource);
    return deny(principal, `${principal.kind === 'robot' ? 'robot' : 'CI identity'} ${principal.name} lacks ${describe(action, resource)}`);
  }

  if (facts.role && ROLE_ACTIONS[facts.role].has(repoOrProjectAction)) return allow;
  if (project.public && PUBLIC_PROJECT_ACTIONS.has(repoOrProjectAction)) return allow;
  if (!facts.role && !project.public) return unseen(principal, action, resource);
  if (principal.kind === 'anonymous') return deny(principal, `authentication required for ${describe(action, resource)}`);
  const why = facts.role ? `role ${facts.role} in project ${project.name} does not allow it` : `you are not a member of project ${project.name}`;
  return deny(principal, `${describe(action, resource)} is not allowed: ${why}`);
}

/**
 * The refusal for a project the caller may not see: a private one they have no part in, or
 * one that does not exist. Both read exactly the same (status, code and words), so refusals
 * cannot be used to find out which project names exist; callers who may see the project
 * (members, robots with permissions in it, anyone for a public one, system admins) get the
 * precise reason instead.
 */
function unseen(principal: Principal, action: Action, resource: Resource & { project: string }): Decision {
  if (principal.kind === 'anonymous') return deny(principal, `authentication required for ${describe(action, resource)}`);
  return deny(principal, `${describe(action, resource)} is not allowed: project ${resource.project} does not exist or you are not a member of it`);
}
