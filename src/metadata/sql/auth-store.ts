/**
 * The AuthStore over Kysely (both dialects): projects, robots, signing keys and audit events
 * here; accounts in auth-accounts.ts. Built over the metadata store's connection so that one
 * database holds everything.
 */
import type { Kysely, Selectable } from 'kysely';
import { ConflictError } from '../../errors/store.js';
import type { AuditEvent, AuditFilter, AuditRecord, AuthQueries, ProjectQueries, RobotQueries, KeyQueries, AuditQueries, AuthStore, ProjectRecord, ProjectSummary, RobotRecord, SigningKeyRecord } from '../auth-store.js';
import type { Dialect } from '../migrations/index.js';
import type { TransactionOptions } from '../store.js';
import type { Database } from '../tables.js';
import { transact } from './store.js';
import { insertRows } from './bulk-insert.js';
import { isUniqueViolation, SqlLoginFailures, SqlMembers, SqlSessions, SqlTokens, SqlUsers } from './auth-accounts.js';
import { SqlUsage } from './usage.js';
import { SqlExternalIdentities, SqlTrustPolicies } from './identity.js';
import { SqlEvents } from './events.js';

class SqlProjects implements ProjectQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async get(name: string): Promise<ProjectRecord | undefined> {
    const r = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
    return r && { name: r.name, public: Number(r.public) === 1, createdAt: Number(r.created_at) };
  }

  async list(after: string | undefined, limit: number, names?: string[]): Promise<ProjectSummary[]> {
    if (names && names.length === 0) return [];
    let q = this.db.selectFrom('projects').select('name').orderBy('name').limit(limit);
    if (after !== undefined) q = q.where('name', '>', after);
    if (names) q = q.where('name', 'in', names);
    const out: ProjectSummary[] = [];
    for (const r of await q.execute()) {
      const s = await this.summary(r.name);
      if (s) out.push(s);
    }
    return out;
  }

  async summary(name: string): Promise<ProjectSummary | undefined> {
    const p = await this.get(name);
    if (!p) return undefined;
    // The one usage query (quota enforcement, the lifecycle usage endpoint and the CLI read it too).
    const usage = await new SqlUsage(this.db).of({ project: name });
    return { ...p, repositoryCount: usage.repositories, storageBytes: usage.bytes };
  }

  async insert(p: { name: string; public: boolean }, now: number): Promise<ProjectRecord> {
    try {
      await this.db.insertInto('projects').values({ name: p.name, public: p.public ? 1 : 0, created_at: now }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError(`project ${p.name} exists`);
      throw e;
    }
    return { name: p.name, public: p.public, createdAt: now };
  }

  async update(name: string, changes: { public?: boolean }): Promise<boolean> {
    if (changes.public === undefined) return (await this.get(name)) !== undefined;
    const r = await this.db.updateTable('projects').set({ public: changes.public ? 1 : 0 }).where('name', '=', name).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(name: string): Promise<boolean> {
    await this.db.deleteFrom('project_members').where('project', '=', name).execute();
    await this.db.deleteFrom('robots').where('project', '=', name).execute();
    await this.db.deleteFrom('trust_policies').where('project', '=', name).execute();
    const r = await this.db.deleteFrom('projects').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async repositoryCount(name: string): Promise<number> {
    const r = await this.db.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('n')).where('project', '=', name).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

function toRobot(r: Selectable<Database['robots']>): RobotRecord {
  return {
    id: Number(r.id),
    name: r.name,
    project: r.project,
    secretHash: r.secret_hash,
    permissions: JSON.parse(r.permissions) as Record<string, string[]>,
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
    createdAt: Number(r.created_at),
  };
}

class SqlRobots implements RobotQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async byName(name: string): Promise<RobotRecord | undefined> {
    const r = await this.db.selectFrom('robots').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toRobot(r);
  }

  async list(project: string): Promise<RobotRecord[]> {
    return (await this.db.selectFrom('robots').selectAll().where('project', '=', project).orderBy('name').execute()).map(toRobot);
  }

  async insert(r: Omit<RobotRecord, 'id' | 'lastUsedAt'>): Promise<RobotRecord> {
    try {
      await this.db
        .insertInto('robots')
        .values({ name: r.name, project: r.project, secret_hash: r.secretHash, permissions: JSON.stringify(r.permissions), expires_at: r.expiresAt, last_used_at: null, created_at: r.createdAt })
        .execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError(`robot ${r.name} exists`);
      throw e;
    }
    return (await this.byName(r.name))!;
  }

  async delete(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('robots').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async touch(name: string, at: number): Promise<void> {
    await this.db.updateTable('robots').set({ last_used_at: at }).where('name', '=', name).execute();
  }
}

class SqlKeys implements KeyQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<SigningKeyRecord[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({ kid: r.kid, privateJwk: r.private_jwk, createdAt: Number(r.created_at), retiredAt: r.retired_at === null ? null : Number(r.retired_at) }));
  }

  async insert(k: Omit<SigningKeyRecord, 'retiredAt'>): Promise<void> {
    await this.db.insertInto('signing_keys').values({ kid: k.kid, private_jwk: k.privateJwk, created_at: k.createdAt, retired_at: null }).execute();
  }

  async retire(kid: string, at: number): Promise<void> {
    await this.db.updateTable('signing_keys').set({ retired_at: at }).where('kid', '=', kid).where('retired_at', 'is', null).execute();
  }

  async replace(kid: string, privateJwk: string): Promise<void> {
    await this.db.updateTable('signing_keys').set({ private_jwk: privateJwk }).where('kid', '=', kid).execute();
  }

  async deleteRetiredBefore(at: number): Promise<void> {
    await this.db.deleteFrom('signing_keys').where('retired_at', '<', at).execute();
  }
}

const AUDIT_COLUMNS = ['at', 'actor', 'action', 'resource', 'project', 'result', 'source_address', 'detail'];

export class SqlAudit implements AuditQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async insert(events: AuditEvent[]): Promise<void> {
    const rows = events.map((e) => [e.at, e.actor, e.action, e.resource, e.project, e.result, e.sourceAddress, e.detail === undefined || e.detail === null ? null : JSON.stringify(e.detail)]);
    await insertRows(this.db, this.dialect, 'audit_events', AUDIT_COLUMNS, rows);
  }

  async query(f: AuditFilter): Promise<AuditRecord[]> {
    // Newest first by the event's time: request events are written in batches after the
    // changes recorded in their transactions, so ids alone do not follow time.
    let q = this.db.selectFrom('audit_events').selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(f.limit);
    if (f.project !== undefined) q = q.where('project', '=', f.project);
    if (f.actor !== undefined) q = q.where('actor', '=', f.actor);
    if (f.action !== undefined) q = q.where('action', '=', f.action);
    if (f.since !== undefined) q = q.where('at', '>=', f.since);
    if (f.until !== undefined) q = q.where('at', '<', f.until);
    const b = f.before;
    if (b !== undefined) q = q.where((eb) => eb.or([eb('at', '<', b.at), eb.and([eb('at', '=', b.at), eb('id', '<', b.id)])]));
    return (await q.execute()).map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      actor: r.actor,
      action: r.action,
      resource: r.resource,
      project: r.project,
      result: r.result as 'success' | 'failure',
      sourceAddress: r.source_address,
      detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown),
    }));
  }

  async deleteBefore(at: number): Promise<number> {
    const r = await this.db.deleteFrom('audit_events').where('at', '<', at).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

class SqlAuthQueries implements AuthQueries {
  readonly users: SqlUsers;
  readonly projects: SqlProjects;
  readonly members: SqlMembers;
  readonly robots: SqlRobots;
  readonly tokens: SqlTokens;
  readonly sessions: SqlSessions;
  readonly keys: SqlKeys;
  readonly audit: SqlAudit;
  readonly loginFailures: SqlLoginFailures;
  readonly trustPolicies: SqlTrustPolicies;
  readonly externalIdentities: SqlExternalIdentities;
  readonly events: SqlEvents;

  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.users = new SqlUsers(db);
    this.projects = new SqlProjects(db);
    this.members = new SqlMembers(db);
    this.robots = new SqlRobots(db);
    this.tokens = new SqlTokens(db);
    this.sessions = new SqlSessions(db);
    this.keys = new SqlKeys(db);
    this.audit = new SqlAudit(db, dialect);
    this.loginFailures = new SqlLoginFailures(db);
    this.trustPolicies = new SqlTrustPolicies(db);
    this.externalIdentities = new SqlExternalIdentities(db);
    this.events = new SqlEvents(db, dialect);
  }
}

export class SqlAuthStore extends SqlAuthQueries implements AuthStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {
    super(db, dialect);
  }

  /** The metadata store's one transaction mechanism (sql/store.ts `transact`), serializable unless named. */
  transaction<T>(fn: (tx: AuthQueries) => Promise<T>, options: TransactionOptions = { isolation: 'serializable' }): Promise<T> {
    return transact(this.db, this.dialect, options, (trx) => fn(new SqlAuthQueries(trx, this.dialect)));
  }
}

export { ConflictError };
