/**
 * Accounts from an identity provider (OIDC or LDAP) and the project roles their groups give.
 * At every sign-in the provider's groups are mapped through `auth.groupMappings` (group ->
 * project role) and `auth.adminGroups` (system admin); roles the groups gave last time and no
 * longer give are removed, unless someone changed that membership by hand since (then it is
 * no longer the groups'). The roles the groups gave are remembered per user
 * (external_identities), all in the transaction that records the sign-in.
 *
 * A provider's user is found by its stable subject (OIDC `sub`, LDAP DN), never by name: a
 * local account with the same name is refused rather than taken over.
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { AuthStore, Role, UserRecord } from '../metadata/auth-store.js';
import { ROLES } from '../policy/roles.js';
import { ConflictError } from '../errors/store.js';

export interface GroupMapping {
  group: string;
  project: string;
  role: Role;
}

export interface GroupSyncOptions {
  mappings: GroupMapping[];
  /** Members of any of these groups are system admins; when empty, admin status is left as set by hand. */
  adminGroups: string[];
}

/** A sign-in the provider accepted but Berth refuses (a name clash, a disabled account). */
export class SignInRefused extends Error {
  override readonly name = 'SignInRefused';
}

/** A password hash no password matches: accounts of an identity provider have none here. */
export const EXTERNAL_PASSWORD = '!external';

function rank(r: Role): number {
  return ROLES.indexOf(r);
}

/** Project -> highest role the groups give. */
export function rolesOfGroups(groups: readonly string[], mappings: readonly GroupMapping[]): Record<string, Role> {
  const have = new Set(groups);
  const out: Record<string, Role> = {};
  for (const m of mappings) {
    if (!have.has(m.group)) continue;
    const prev = out[m.project];
    if (prev === undefined || rank(m.role) > rank(prev)) out[m.project] = m.role;
  }
  return out;
}

export class GroupSync {
  private readonly inFlight = new Map<string, Promise<UserRecord>>();

  constructor(
    private readonly store: AuthStore,
    private readonly audit: AuditLog,
    private readonly options: GroupSyncOptions,
    /** Called after roles or admin status changed (the policy's caches forget them). */
    private readonly changed: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The user of (provider, subject), created on first sign-in as `name`, with the roles its
   * groups give now. Throws SignInRefused.
   */
  async signIn(provider: 'oidc' | 'ldap', subject: string, name: string, groups: readonly string[], address: string): Promise<UserRecord> {
    // A client's first requests often come in parallel (a push with Basic credentials): one
    // sign-in per subject at a time on this process, and a clash with another process's
    // (the account or link created meanwhile) is resolved by doing it again.
    const key = `${provider}\0${subject}\0${groups.join('\0')}`;
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = this.sync(provider, subject, name, groups, address).catch((e: unknown) => {
      if (e instanceof ConflictError) return this.sync(provider, subject, name, groups, address);
      throw e;
    });
    this.inFlight.set(key, p);
    try {
      return await p;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async sync(provider: 'oidc' | 'ldap', subject: string, name: string, groups: readonly string[], address: string): Promise<UserRecord> {
    const desired = rolesOfGroups(groups, this.options.mappings);
    const admin = this.options.adminGroups.length > 0 ? groups.some((g) => this.options.adminGroups.includes(g)) : undefined;
    const result = await this.store.transaction(async (tx) => {
      const now = this.now();
      const linked = await tx.externalIdentities.bySubject(provider, subject);
      let user = linked ? await tx.users.byId(linked.userId) : undefined;
      let created = false;
      if (!user) {
        const existing = await tx.users.byName(name);
        if (existing) throw new SignInRefused(`an account named ${name} already exists in Berth and is not linked to this ${provider === 'oidc' ? 'identity provider' : 'directory'} user; an administrator must rename or delete it`);
        user = await tx.users.insert({ name, passwordHash: EXTERNAL_PASSWORD, admin: admin ?? false }, now);
        created = true;
      }
      if (user.disabled) throw new SignInRefused(`user ${user.name} is disabled`);
      const adminChanged = admin !== undefined && user.admin !== admin;
      if (adminChanged) {
        await tx.users.update(user.id, { admin }, now);
        user = { ...user, admin };
      }
      const previous = linked?.granted ?? {};
      const current = await tx.members.rolesOf(user.id);
      const set: Record<string, Role> = {};
      const removed: string[] = [];
      for (const [project, role] of Object.entries(previous)) {
        if (desired[project] === undefined && current[project] === role) {
          await tx.members.remove(project, user.id);
          removed.push(project);
        }
      }
      const granted: Record<string, Role> = {};
      for (const [project, role] of Object.entries(desired)) {
        if (!(await tx.projects.get(project))) continue; // a mapping to a project not (yet) created
        granted[project] = role;
        const have = current[project];
        // The groups own a membership they created (or one they set last time); a stronger role given by hand stays.
        if (have === undefined || have === previous[project] || rank(role) > rank(have)) {
          if (have !== role) {
            await tx.members.set(project, user.id, role, now);
            set[project] = role;
          }
        }
      }
      await tx.externalIdentities.put({ userId: user.id, provider, subject, granted, syncedAt: now });
      const changed = created || adminChanged || removed.length > 0 || Object.keys(set).length > 0;
      if (changed) {
        await this.audit.recordIn(tx, { actor: user.name, action: 'user.sync', resource: `user:${user.name}`, project: null, result: 'success', sourceAddress: address, detail: { provider, subject, created, groups: groups.slice(0, 100), set, removed, admin: user.admin } });
      }
      return { user, changed };
    });
    if (result.changed) this.changed();
    return result.user;
  }
}
