/**
 * Local accounts and their personal access tokens, sessions for the web UI, and the admin
 * bootstrap on first start. Account changes clear the credential cache and, for deletes and
 * disables, refuse the account's outstanding registry tokens.
 */
import type { AuditLog } from '../../audit/audit-log.js';
import type { Authenticator } from '../../auth/authenticator.js';
import { hashPassword, newAccessToken, randomSecret, sha256Hex, verifyPassword } from '../../auth/secrets.js';
import { ProblemError } from '../../errors/problem.js';
import { ConflictError } from '../../errors/store.js';
import type { AccessTokenRecord, AuthStore, UserRecord } from '../../metadata/auth-store.js';
import { principalName, type Principal } from '../../policy/principal.js';
import { decodeCursor, pageOf, type Page } from '../paging.js';

const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const TOKEN_SCOPES = ['pull', 'push', 'delete', 'manage'] as const;

export interface UserView {
  name: string;
  admin: boolean;
  disabled: boolean;
  createdAt: string;
}

function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

function view(u: UserRecord): UserView {
  return { name: u.name, admin: u.admin, disabled: u.disabled, createdAt: new Date(u.createdAt).toISOString() };
}

function tokenView(t: AccessTokenRecord) {
  return { id: t.id, name: t.name, scopes: t.scopes, expiresAt: iso(t.expiresAt), lastUsedAt: iso(t.lastUsedAt), createdAt: new Date(t.createdAt).toISOString() };
}

function checkPassword(p: string): void {
  if (p.length < 8 || p.length > 256) throw new ProblemError('INVALID', 'password must be 8 to 256 characters');
}

export class UserService {
  constructor(
    private readonly store: AuthStore,
    private readonly authenticator: Authenticator,
    private readonly audit: AuditLog,
    private readonly sessionTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * On first start with no account: creates `admin` with BERTH_ADMIN_PASSWORD, or a random
   * password that is returned (the caller prints it once).
   */
  async bootstrap(envPassword: string | undefined): Promise<{ created: boolean; generated?: string }> {
    if ((await this.store.users.count()) > 0) return { created: false };
    const password = envPassword && envPassword.length > 0 ? envPassword : randomSecret(18);
    try {
      await this.store.transaction(async (tx) => {
        await tx.users.insert({ name: 'admin', passwordHash: await hashPassword(password), admin: true }, this.now());
        await this.audit.recordIn(tx, { actor: 'system', action: 'user.create', resource: 'user:admin', result: 'success', detail: { bootstrap: true } });
      });
    } catch (e) {
      if (e instanceof ConflictError) return { created: false }; // another node won the race
      throw e;
    }
    return envPassword ? { created: true } : { created: true, generated: password };
  }

  async list(limit: number, cursor: string | undefined): Promise<Page<UserView>> {
    const rows = await this.store.users.list(decodeCursor<string>(cursor, 'string'), limit + 1);
    return pageOf(rows, limit, (u) => u.name, view);
  }

  async create(caller: Principal, input: { name: string; password: string; admin?: boolean | undefined }, address: string): Promise<UserView> {
    if (!USER_NAME.test(input.name)) throw new ProblemError('INVALID', 'user name must be 1-64 lowercase letters, digits, . _ or -, starting with a letter or digit');
    checkPassword(input.password);
    const passwordHash = await hashPassword(input.password);
    try {
      const u = await this.store.transaction(async (tx) => {
        const u = await tx.users.insert({ name: input.name, passwordHash, admin: input.admin ?? false }, this.now());
        await this.audit.recordIn(tx, { actor: principalName(caller), action: 'user.create', resource: `user:${input.name}`, result: 'success', sourceAddress: address, detail: { admin: input.admin ?? false } });
        return u;
      });
      return view(u);
    } catch (e) {
      if (e instanceof ConflictError) throw new ProblemError('CONFLICT', `user ${input.name} already exists`);
      throw e;
    }
  }

  async update(
    caller: Principal,
    name: string,
    changes: { password?: string | undefined; currentPassword?: string | undefined; disabled?: boolean | undefined; admin?: boolean | undefined },
    address: string,
  ): Promise<UserView> {
    const callerIsAdmin = caller.kind === 'user' && caller.admin;
    if (!callerIsAdmin && (changes.admin !== undefined || changes.disabled !== undefined)) throw new ProblemError('FORBIDDEN', 'only system admins may change admin or disabled');
    if (changes.password !== undefined) {
      checkPassword(changes.password);
      // One's own password changes only with the current one: a stolen session or token must
      // not be enough to take the account over. (An admin resetting another user needs none.)
      if (caller.kind === 'user' && caller.name === name) await this.checkCurrentPassword(name, changes.currentPassword);
    }
    const passwordHash = changes.password !== undefined ? await hashPassword(changes.password) : undefined;
    // A new password or a disable voids every token and session issued before it, on every node.
    const voidCredentials = passwordHash !== undefined || changes.disabled === true;
    const u = await this.store.transaction(async (tx) => {
      const u = await tx.users.byName(name);
      if (!u) throw new ProblemError('NOT_FOUND', `user ${name} does not exist`);
      await tx.users.update(
        u.id,
        {
          ...(passwordHash ? { passwordHash } : {}),
          ...(changes.admin !== undefined ? { admin: changes.admin } : {}),
          ...(changes.disabled !== undefined ? { disabled: changes.disabled } : {}),
          ...(voidCredentials ? { credentialsChangedAt: this.now() } : {}),
        },
        this.now(),
      );
      if (voidCredentials) await tx.sessions.deleteForUser(u.id);
      const detail = { password: passwordHash ? 'changed' : undefined, admin: changes.admin, disabled: changes.disabled };
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'user.update', resource: `user:${name}`, result: 'success', sourceAddress: address, detail });
      return (await tx.users.byId(u.id))!;
    });
    await this.authenticator.accountsChanged();
    return view(u);
  }

  private async checkCurrentPassword(name: string, current: string | undefined): Promise<void> {
    if (current === undefined) throw new ProblemError('INVALID', 'changing your own password needs currentPassword');
    const u = await this.user(name);
    if (!(await verifyPassword(u.passwordHash, current))) throw new ProblemError('FORBIDDEN', 'currentPassword is wrong');
  }

  async delete(caller: Principal, name: string, address: string): Promise<void> {
    if (caller.kind === 'user' && caller.name === name) throw new ProblemError('CONFLICT', 'you cannot delete your own account');
    await this.store.transaction(async (tx) => {
      const u = await tx.users.byName(name);
      if (!u) throw new ProblemError('NOT_FOUND', `user ${name} does not exist`);
      await tx.users.delete(u.id);
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'user.delete', resource: `user:${name}`, result: 'success', sourceAddress: address });
    });
    await this.authenticator.accountsChanged();
  }

  private async user(name: string): Promise<UserRecord> {
    const u = await this.store.users.byName(name);
    if (!u) throw new ProblemError('NOT_FOUND', `user ${name} does not exist`);
    return u;
  }

  async tokens(name: string) {
    return (await this.store.tokens.list((await this.user(name)).id)).map(tokenView);
  }

  async createToken(caller: Principal, name: string, input: { name: string; scopes?: string[] | undefined; expiresInDays?: number | undefined }, address: string): Promise<{ id: string; name: string; token: string; scopes: string[]; expiresAt: string | null }> {
    if (!input.name || input.name.length > 100) throw new ProblemError('INVALID', 'token name must be 1-100 characters');
    const scopes = [...new Set(input.scopes ?? [])];
    const bad = scopes.filter((s) => !(TOKEN_SCOPES as readonly string[]).includes(s));
    if (bad.length > 0) throw new ProblemError('INVALID', `scopes must be among ${TOKEN_SCOPES.join(', ')} (not ${bad.join(', ')})`);
    // A caller signed in with a scoped token creates tokens within its own scopes only.
    const own = caller.kind === 'user' ? caller.scopes : undefined;
    if (own && (scopes.length === 0 || scopes.some((sc) => !own.has(sc)))) {
      throw new ProblemError('FORBIDDEN', `a token with scopes ${[...own].join(', ')} can create tokens with those scopes only (ask for scopes within them)`);
    }
    const u = await this.user(name);
    const t = newAccessToken();
    const expiresAt = input.expiresInDays ? this.now() + input.expiresInDays * 86400_000 : null;
    await this.store.transaction(async (tx) => {
      await tx.tokens.insert({ id: t.id, userId: u.id, name: input.name, secretHash: t.secretHash, scopes, expiresAt, createdAt: this.now() });
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'token.create', resource: `user:${name}/token:${t.id}`, result: 'success', sourceAddress: address, detail: { name: input.name, scopes, expiresAt } });
    });
    return { id: t.id, name: input.name, token: t.token, scopes, expiresAt: iso(expiresAt) };
  }

  async deleteToken(caller: Principal, name: string, id: string, address: string): Promise<void> {
    const u = await this.user(name);
    await this.store.transaction(async (tx) => {
      if (!(await tx.tokens.delete(u.id, id))) throw new ProblemError('NOT_FOUND', `token ${id} does not exist`);
      await this.audit.recordIn(tx, { actor: principalName(caller), action: 'token.delete', resource: `user:${name}/token:${id}`, result: 'success', sourceAddress: address });
    });
    await this.authenticator.accountsChanged();
  }

  /** A web UI session for a verified user: the cookie value and its CSRF token. */
  async startSession(user: { id: number }): Promise<{ id: string; csrfToken: string; expiresAt: number }> {
    const id = randomSecret();
    const csrfToken = randomSecret();
    const expiresAt = this.now() + this.sessionTtlMs;
    await this.store.sessions.deleteExpired(this.now());
    await this.store.sessions.insert(sha256Hex(id), { userId: user.id, csrfToken, expiresAt }, this.now());
    return { id, csrfToken, expiresAt };
  }

  async endSession(id: string): Promise<void> {
    await this.store.sessions.delete(sha256Hex(id));
  }
}
