/**
 * The policy as a service: fetches the facts `authorize` needs (the project record, the
 * caller's roles) through a short cache so the hot path (every /v2 request) costs no database
 * round trip, and answers `check(principal, action, resource)`. Management changes call
 * `invalidate`, which every process and node sees at once (access-changes.ts).
 */
import type { AuthStore, ProjectRecord, Role } from '../metadata/auth-store.js';
import { authorize, type Decision, type Facts, type Resource } from './authorize.js';
import type { Principal } from './principal.js';
import type { Action } from './roles.js';
import { AccessChanges } from './access-changes.js';

interface Cached<T> {
  value: T;
  until: number;
}

export interface AccessOptions {
  autoCreateProjects: boolean;
  projectCreation: 'everyone' | 'adminOnly';
  cacheMs?: number;
  /** Announces changes to every process and says when cached facts may be trusted. */
  changes?: AccessChanges;
}

export class AccessService {
  private projects = new Map<string, Cached<ProjectRecord | undefined>>();
  private roles = new Map<number, Cached<Record<string, Role>>>();
  private readonly cacheMs: number;
  private readonly changes: AccessChanges;

  constructor(
    private readonly store: AuthStore,
    private readonly options: AccessOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.cacheMs = options.cacheMs ?? 2000;
    this.changes = options.changes ?? new AccessChanges();
    this.changes.onChange('facts', () => this.forget());
  }

  async check(principal: Principal, action: Action, resource: Resource): Promise<Decision> {
    return authorize(principal, action, resource, await this.facts(principal, resource));
  }

  async facts(principal: Principal, resource: Resource): Promise<Facts> {
    const base = { autoCreateProjects: this.options.autoCreateProjects, projectCreation: this.options.projectCreation };
    // A registry token is decided by its grants alone (authorize.ts): no facts to wait for.
    if (resource.kind === 'system' || resource.kind === 'user' || principal.kind === 'token') return base;
    // One barrier for both facts (on PostgreSQL each is a round trip).
    const fresh = await this.changes.fresh();
    const project = await this.project(resource.project, fresh);
    const role = principal.kind === 'user' && project ? (await this.rolesOf(principal.id, fresh))[project.name] : undefined;
    return { ...base, project, role };
  }

  /** `fresh`: the result of a barrier the caller awaited already (see access-changes.ts). */
  async project(name: string, fresh?: boolean): Promise<ProjectRecord | undefined> {
    // The barrier first: a change it delivers clears the map, so the entry is read after it.
    fresh ??= await this.changes.fresh();
    const hit = fresh ? this.projects.get(name) : undefined;
    if (hit && hit.until > this.now()) return hit.value;
    const value = await this.store.projects.get(name);
    if (this.projects.size > 10_000) this.projects.clear();
    this.projects.set(name, { value, until: this.now() + this.cacheMs });
    return value;
  }

  async rolesOf(userId: number, fresh?: boolean): Promise<Record<string, Role>> {
    fresh ??= await this.changes.fresh();
    const hit = fresh ? this.roles.get(userId) : undefined;
    if (hit && hit.until > this.now()) return hit.value;
    const value = await this.store.members.rolesOf(userId);
    if (this.roles.size > 10_000) this.roles.clear();
    this.roles.set(userId, { value, until: this.now() + this.cacheMs });
    return value;
  }

  /** Call after a committed change of projects or memberships: every process forgets its cached facts. */
  invalidate(): Promise<void> {
    this.forget();
    return this.changes.changed('facts');
  }

  private forget(): void {
    this.projects.clear();
    this.roles.clear();
  }
}
