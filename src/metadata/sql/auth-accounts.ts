/** Users, project memberships, personal access tokens and UI sessions over Kysely. */
import type { Kysely, Selectable } from 'kysely';
import { ConflictError } from '../../errors/store.js';
import type { AccessTokenRecord, LoginFailureQueries, UserQueries, MemberQueries, TokenQueries, SessionQueries, Role, SessionRecord, UserRecord } from '../auth-store.js';
import type { Database } from '../tables.js';

export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err.code === '23505' || err.code === 'SQLITE_CONSTRAINT_UNIQUE' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint/.test(err.message ?? '');
}

type UserRow = Selectable<Database['users']>;

function toUser(r: UserRow): UserRecord {
  return { id: Number(r.id), name: r.name, passwordHash: r.password_hash, admin: Number(r.admin) === 1, disabled: Number(r.disabled) === 1, createdAt: Number(r.created_at), credentialsChangedAt: Number(r.credentials_changed_at) };
}

export class SqlUsers implements UserQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async byName(name: string): Promise<UserRecord | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toUser(r);
  }

  async byId(id: number): Promise<UserRecord | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toUser(r);
  }

  async list(after: string | undefined, limit: number): Promise<UserRecord[]> {
    let q = this.db.selectFrom('users').selectAll().orderBy('name').limit(limit);
    if (after !== undefined) q = q.where('name', '>', after);
    return (await q.execute()).map(toUser);
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async insert(u: { name: string; passwordHash: string; admin: boolean }, now: number): Promise<UserRecord> {
    try {
      await this.db.insertInto('users').values({ name: u.name, password_hash: u.passwordHash, admin: u.admin ? 1 : 0, disabled: 0, created_at: now, updated_at: now, credentials_changed_at: now }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError(`user ${u.name} exists`);
      throw e;
    }
    return (await this.byName(u.name))!;
  }

  async update(id: number, c: { passwordHash?: string; admin?: boolean; disabled?: boolean; credentialsChangedAt?: number }, now: number): Promise<void> {
    const set: Record<string, unknown> = { updated_at: now };
    if (c.credentialsChangedAt !== undefined) set.credentials_changed_at = c.credentialsChangedAt;
    if (c.passwordHash !== undefined) set.password_hash = c.passwordHash;
    if (c.admin !== undefined) set.admin = c.admin ? 1 : 0;
    if (c.disabled !== undefined) set.disabled = c.disabled ? 1 : 0;
    await this.db.updateTable('users').set(set).where('id', '=', id).execute();
  }

  async delete(id: number): Promise<boolean> {
    // Dependent rows go first so the delete works whether or not foreign keys cascade.
    await this.db.deleteFrom('project_members').where('user_id', '=', id).execute();
    await this.db.deleteFrom('access_tokens').where('user_id', '=', id).execute();
    await this.db.deleteFrom('sessions').where('user_id', '=', id).execute();
    await this.db.deleteFrom('external_identities').where('user_id', '=', id).execute();
    const r = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

export class SqlMembers implements MemberQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async role(project: string, userId: number): Promise<Role | undefined> {
    const r = await this.db.selectFrom('project_members').select('role').where('project', '=', project).where('user_id', '=', userId).executeTakeFirst();
    return r?.role as Role | undefined;
  }

  async rolesOf(userId: number): Promise<Record<string, Role>> {
    const rows = await this.db.selectFrom('project_members').select(['project', 'role']).where('user_id', '=', userId).execute();
    return Object.fromEntries(rows.map((r) => [r.project, r.role as Role]));
  }

  async list(project: string): Promise<{ user: string; role: Role }[]> {
    const rows = await this.db
      .selectFrom('project_members as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['u.name', 'm.role'])
      .where('m.project', '=', project)
      .orderBy('u.name')
      .execute();
    return rows.map((r) => ({ user: r.name, role: r.role as Role }));
  }

  async set(project: string, userId: number, role: Role, now: number): Promise<void> {
    await this.db
      .insertInto('project_members')
      .values({ project, user_id: userId, role, created_at: now })
      .onConflict((oc) => oc.columns(['project', 'user_id']).doUpdateSet({ role }))
      .execute();
  }

  async remove(project: string, userId: number): Promise<boolean> {
    const r = await this.db.deleteFrom('project_members').where('project', '=', project).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

function toToken(r: Database['access_tokens']): AccessTokenRecord {
  return {
    id: r.id,
    userId: Number(r.user_id),
    name: r.name,
    secretHash: r.secret_hash,
    scopes: JSON.parse(r.scopes) as string[],
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
    createdAt: Number(r.created_at),
  };
}

export class SqlTokens implements TokenQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<AccessTokenRecord | undefined> {
    const r = await this.db.selectFrom('access_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toToken(r);
  }

  async list(userId: number): Promise<AccessTokenRecord[]> {
    return (await this.db.selectFrom('access_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute()).map(toToken);
  }

  async insert(t: Omit<AccessTokenRecord, 'lastUsedAt'>): Promise<void> {
    await this.db
      .insertInto('access_tokens')
      .values({ id: t.id, user_id: t.userId, name: t.name, secret_hash: t.secretHash, scopes: JSON.stringify(t.scopes), expires_at: t.expiresAt, last_used_at: null, created_at: t.createdAt })
      .execute();
  }

  async delete(userId: number, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('access_tokens').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async touch(id: string, at: number): Promise<void> {
    await this.db.updateTable('access_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}

export class SqlSessions implements SessionQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async get(idHash: string): Promise<SessionRecord | undefined> {
    const r = await this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return r && { userId: Number(r.user_id), csrfToken: r.csrf_token, expiresAt: Number(r.expires_at) };
  }

  async insert(idHash: string, s: SessionRecord, now: number): Promise<void> {
    await this.db.insertInto('sessions').values({ id_hash: idHash, user_id: s.userId, csrf_token: s.csrfToken, expires_at: s.expiresAt, created_at: now }).execute();
  }

  async delete(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  async deleteForUser(userId: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  async deleteExpired(now: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<', now).execute();
  }
}

export class SqlLoginFailures implements LoginFailureQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async get(keys: string[], now: number): Promise<Map<string, { failures: number; resetAt: number }>> {
    if (keys.length === 0) return new Map();
    const rows = await this.db.selectFrom('login_failures').selectAll().where('key', 'in', keys).where('reset_at', '>', now).execute();
    return new Map(rows.map((r) => [r.key, { failures: Number(r.failures), resetAt: Number(r.reset_at) }]));
  }

  async record(key: string, windowMs: number, now: number): Promise<{ failures: number; resetAt: number }> {
    // One statement: a window that has ended starts again at 1.
    await this.db
      .insertInto('login_failures')
      .values({ key, failures: 1, reset_at: now + windowMs })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          failures: eb.case().when('login_failures.reset_at', '<=', now).then(1).else(eb('login_failures.failures', '+', 1)).end(),
          reset_at: eb.case().when('login_failures.reset_at', '<=', now).then(now + windowMs).else(eb.ref('login_failures.reset_at')).end(),
        })),
      )
      .execute();
    const r = await this.db.selectFrom('login_failures').selectAll().where('key', '=', key).executeTakeFirstOrThrow();
    return { failures: Number(r.failures), resetAt: Number(r.reset_at) };
  }

  async clear(key: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }

  async deleteExpired(now: number): Promise<number> {
    const r = await this.db.deleteFrom('login_failures').where('reset_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
