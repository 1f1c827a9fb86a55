/**
 * The role table: which project role may do which action. This is the one place it is
 * written down; the README's table is this table. System admins may do everything; robots
 * and personal access tokens are limited further by their own scopes (see authorize.ts).
 */
import type { Role } from '../metadata/auth-store.js';

/** Actions on a repository of a project, also the vocabulary of robot permissions and token scopes. */
export const REPOSITORY_ACTIONS = ['pull', 'push', 'delete'] as const;
export type RepositoryAction = (typeof REPOSITORY_ACTIONS)[number];

/** Actions on a project (its settings, members, robots, policies, audit). */
export const PROJECT_ACTIONS = ['project.read', 'project.update', 'project.delete', 'members.read', 'members.manage', 'robots.read', 'robots.manage', 'policies.manage', 'trust.read', 'trust.manage', 'webhooks.manage', 'audit.read'] as const;
export type ProjectAction = (typeof PROJECT_ACTIONS)[number];

/** System-wide actions. `signedIn` needs any authenticated principal; `anyone` needs nothing. */
export const SYSTEM_ACTIONS = ['anyone', 'signedIn', 'project.create', 'users.manage', 'system.manage', 'replication.manage', 'audit.read.all'] as const;
export type SystemAction = (typeof SYSTEM_ACTIONS)[number];

/** Actions on a user account: its own tokens and password (the user themself, or a system admin). */
export const ACCOUNT_ACTIONS = ['account.read', 'account.update'] as const;
export type AccountAction = (typeof ACCOUNT_ACTIONS)[number];

export type Action = RepositoryAction | ProjectAction | SystemAction | AccountAction | 'catalog' | 'base';

export const ROLES: readonly Role[] = ['guest', 'developer', 'maintainer', 'admin'];

/** The table. Each role lists exactly what it may do; nothing is inherited implicitly. */
export const ROLE_ACTIONS: Record<Role, ReadonlySet<RepositoryAction | ProjectAction>> = {
  guest: new Set(['pull', 'project.read', 'members.read']),
  developer: new Set(['pull', 'push', 'delete', 'project.read', 'members.read']),
  maintainer: new Set(['pull', 'push', 'delete', 'project.read', 'members.read', 'robots.read', 'robots.manage', 'policies.manage', 'trust.read', 'trust.manage', 'webhooks.manage', 'audit.read']),
  admin: new Set(['pull', 'push', 'delete', 'project.read', 'project.update', 'project.delete', 'members.read', 'members.manage', 'robots.read', 'robots.manage', 'policies.manage', 'trust.read', 'trust.manage', 'webhooks.manage', 'audit.read']),
};

/** What anyone (even anonymous) may do in a public project. */
export const PUBLIC_PROJECT_ACTIONS: ReadonlySet<RepositoryAction | ProjectAction> = new Set(['pull', 'project.read']);

export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && (ROLES as readonly string[]).includes(s);
}

export function isRepositoryAction(s: unknown): s is RepositoryAction {
  return typeof s === 'string' && (REPOSITORY_ACTIONS as readonly string[]).includes(s);
}

/** The table as rows for docs and the README: action -> roles allowed. */
export function roleTable(): { action: string; roles: Record<Role, boolean> }[] {
  const actions = [...REPOSITORY_ACTIONS, ...PROJECT_ACTIONS];
  return actions.map((action) => ({ action, roles: Object.fromEntries(ROLES.map((r) => [r, ROLE_ACTIONS[r].has(action)])) as Record<Role, boolean> }));
}
