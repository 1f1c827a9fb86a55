/**
 * Robot accounts (`robot$<project>+<name>`): scoped to a project with explicit actions,
 * optional expiry, a secret shown once at creation (only its hash is kept), revocable.
 * Deleting a robot also refuses its registry tokens from then on.
 */
import type { AuditLog } from '../../audit/audit-log.js';
import type { Authenticator } from '../../auth/authenticator.js';
import { randomSecret, sha256Hex } from '../../auth/secrets.js';
import { ProblemError } from '../../errors/problem.js';
import { ConflictError } from '../../errors/store.js';
import type { AuthStore, RobotRecord } from '../../metadata/auth-store.js';
import { principalName, type Principal } from '../../policy/principal.js';
import { isRepositoryAction, type RepositoryAction } from '../../policy/roles.js';

const ROBOT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export interface RobotView {
  name: string;
  permissions: RepositoryAction[];
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

function view(r: RobotRecord): RobotView {
  return { name: r.name, permissions: (r.permissions[r.project] ?? []).filter(isRepositoryAction), expiresAt: iso(r.expiresAt), lastUsedAt: iso(r.lastUsedAt), createdAt: new Date(r.createdAt).toISOString() };
}

export class RobotService {
  constructor(
    private readonly store: AuthStore,
    private readonly authenticator: Authenticator,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  static fullName(project: string, name: string): string {
    return `robot$${project}+${name}`;
  }

  async list(project: string): Promise<RobotView[]> {
    if (!(await this.store.projects.get(project))) throw new ProblemError('NOT_FOUND', `project ${project} does not exist`);
    return (await this.store.robots.list(project)).map(view);
  }

  async create(caller: Principal, project: string, input: { name: string; permissions: string[]; expiresInDays?: number | undefined }, address: string): Promise<{ name: string; secret: string; permissions: RepositoryAction[]; expiresAt: string | null }> {
    if (!ROBOT_NAME.test(input.name) || input.name.length > 64) throw new ProblemError('INVALID', 'robot name must be lowercase letters and digits, optionally separated by . _ or -');
    const bad = input.permissions.filter((p) => !isRepositoryAction(p));
    if (bad.length > 0 || input.permissions.length === 0) throw new ProblemError('INVALID', `permissions must be a non-empty list of pull, push, delete${bad.length ? ` (not ${bad.join(', ')})` : ''}`);
    const permissions = [...new Set(input.permissions)] as RepositoryAction[];
    const secret = randomSecret();
    const name = RobotService.fullName(project, input.name);
    const expiresAt = input.expiresInDays ? this.now() + input.expiresInDays * 86400_000 : null;
    try {
      await this.store.transaction(async (tx) => {
        if (!(await tx.projects.get(project))) throw new ProblemError('NOT_FOUND', `project ${project} does not exist`);
        await tx.robots.insert({ name, project, secretHash: sha256Hex(secret), permissions: { [project]: permissions }, expiresAt, createdAt: this.now() });
        await this.audit.recordIn(tx, { actor: principalName(caller), action: 'robot.create', resource: name, project, result: 'success', sourceAddress: address, detail: { permissions, expiresAt } });
      });
    } catch (e) {
      if (e instanceof ConflictError) throw new ProblemError('CONFLICT', `robot ${name} already exists`);
      throw e;
    }
    return { name, secret, permissions, expiresAt: iso(expiresAt) };
  }

  async delete(caller: Principal, project: string, robotName: string, address: string): Promise<void> {
    const name = robotName.startsWith('robot$') ? robotName : RobotService.fullName(project, robotName);
    await this.store.transaction(async (tx) => {
      const r = await tx.robots.byName(name);
      if (!r || r.project !== project) throw new ProblemError('NOT_FOUND', `robot ${name} does not exist in project ${project}`);
      await tx.robots.delete(name);
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'robot.delete', resource: name, project, result: 'success', sourceAddress: address });
    });
    await this.authenticator.accountsChanged();
  }
}
