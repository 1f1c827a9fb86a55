/**
 * Projects and their members: create (the creator becomes the project's admin), list what
 * the caller may see, change visibility, delete an empty project, set and remove roles. Every
 * change and its audit event commit in one transaction.
 */
import type { AuditLog } from '../../audit/audit-log.js';
import { ProblemError } from '../../errors/problem.js';
import { ConflictError } from '../../errors/store.js';
import type { LifecycleSettings } from '../../lifecycle/settings.js';
import type { AuthStore, ProjectSummary, Role } from '../../metadata/auth-store.js';
import type { AccessService } from '../../policy/access.js';
import { principalName, type Principal } from '../../policy/principal.js';
import { decodeCursor, pageOf, type Page } from '../paging.js';

const PROJECT_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

export interface ProjectView {
  name: string;
  public: boolean;
  repositoryCount: number;
  storageBytes: number;
  /** The project's byte quota (its lifecycle quota setting), null when unlimited. */
  quotaBytes: number | null;
  role: Role | null;
  createdAt: string;
}

export class ProjectService {
  constructor(
    private readonly store: AuthStore,
    private readonly access: AccessService,
    private readonly audit: AuditLog,
    private readonly settings: Pick<LifecycleSettings, 'get'>,
    private readonly now: () => number = Date.now,
    /**
     * Forgets what other features keep under a project name (its signing policy and keys),
     * after a delete commits, and after a create commits (clearing what a delete interrupted by
     * a crash left), so a project re-created under the same name never inherits them.
     */
    private readonly forget: (project: string) => Promise<void> = async () => {},
  ) {}

  private async view(p: ProjectSummary, caller: Principal): Promise<ProjectView> {
    const role = caller.kind === 'user' ? ((await this.access.rolesOf(caller.id))[p.name] ?? null) : null;
    const quotaBytes = (await this.settings.get(p.name)).quota?.bytes ?? null;
    return { name: p.name, public: p.public, repositoryCount: p.repositoryCount, storageBytes: p.storageBytes, quotaBytes, role, createdAt: new Date(p.createdAt).toISOString() };
  }

  async list(caller: Principal, limit: number, cursor: string | undefined): Promise<Page<ProjectView>> {
    let after = decodeCursor<string>(cursor, 'string');
    const out: ProjectSummary[] = [];
    // Read in batches and keep what the caller may read, so pages stay full.
    for (;;) {
      const batch = await this.store.projects.list(after, limit + 1);
      for (const p of batch) if ((await this.access.check(caller, 'project.read', { kind: 'project', project: p.name })).allow) out.push(p);
      if (out.length > limit || batch.length < limit + 1) break;
      after = batch[batch.length - 1]!.name;
    }
    const page = pageOf(out, limit, (p) => p.name, (p) => p);
    return { items: await Promise.all(page.items.map((p) => this.view(p, caller))), next: page.next };
  }

  async get(caller: Principal, name: string): Promise<ProjectView> {
    const p = await this.store.projects.summary(name);
    if (!p) throw new ProblemError('NOT_FOUND', `project ${name} does not exist`);
    return this.view(p, caller);
  }

  async create(caller: Principal, input: { name: string; public: boolean }, address: string): Promise<ProjectView> {
    if (!PROJECT_NAME.test(input.name) || input.name.length > 64) throw new ProblemError('INVALID', 'project name must be lowercase letters and digits, optionally separated by . _ __ or -, at most 64 characters');
    try {
      await this.store.transaction(async (tx) => {
        await tx.projects.insert(input, this.now());
        if (caller.kind === 'user') await tx.members.set(input.name, caller.id, 'admin', this.now());
        await this.audit.recordIn(tx, { actor: principalName(caller), action: 'project.create', resource: `project:${input.name}`, project: input.name, result: 'success', sourceAddress: address, detail: { public: input.public } });
      });
    } catch (e) {
      if (e instanceof ConflictError) throw new ProblemError('CONFLICT', `project ${input.name} already exists`);
      throw e;
    }
    await this.forget(input.name);
    await this.access.invalidate();
    return this.get(caller, input.name);
  }

  async update(caller: Principal, name: string, changes: { public?: boolean }, address: string): Promise<ProjectView> {
    const found = await this.store.transaction(async (tx) => {
      if (!(await tx.projects.update(name, changes))) return false;
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'project.update', resource: `project:${name}`, project: name, result: 'success', sourceAddress: address, detail: changes });
      return true;
    });
    if (!found) throw new ProblemError('NOT_FOUND', `project ${name} does not exist`);
    await this.access.invalidate();
    return this.get(caller, name);
  }

  async delete(caller: Principal, name: string, address: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (!(await tx.projects.get(name))) throw new ProblemError('NOT_FOUND', `project ${name} does not exist`);
      const n = await tx.projects.repositoryCount(name);
      if (n > 0) throw new ProblemError('CONFLICT', `project ${name} still has ${n} repositories; delete them first`);
      await tx.projects.delete(name);
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'project.delete', resource: `project:${name}`, project: name, result: 'success', sourceAddress: address });
    });
    await this.access.invalidate();
    await this.forget(name);
  }

  async members(name: string): Promise<{ user: string; role: Role }[]> {
    if (!(await this.store.projects.get(name))) throw new ProblemError('NOT_FOUND', `project ${name} does not exist`);
    return this.store.members.list(name);
  }

  async setMember(caller: Principal, project: string, user: string, role: Role, address: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (!(await tx.projects.get(project))) throw new ProblemError('NOT_FOUND', `project ${project} does not exist`);
      const u = await tx.users.byName(user);
      if (!u) throw new ProblemError('NOT_FOUND', `user ${user} does not exist`);
      await tx.members.set(project, u.id, role, this.now());
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'member.set', resource: `project:${project}/member:${user}`, project, result: 'success', sourceAddress: address, detail: { role } });
    });
    await this.access.invalidate();
  }

  async removeMember(caller: Principal, project: string, user: string, address: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      const u = await tx.users.byName(user);
      if (!u || !(await tx.members.remove(project, u.id))) throw new ProblemError('NOT_FOUND', `user ${user} is not a member of project ${project}`);
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'member.remove', resource: `project:${project}/member:${user}`, project, result: 'success', sourceAddress: address });
    });
    await this.access.invalidate();
  }
}
