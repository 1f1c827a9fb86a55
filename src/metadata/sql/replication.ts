/** Replication targets, policies, runs and their per-artifact results (see ../event-store.ts). */
import type { Kysely, Selectable } from 'kysely';
import { ConflictError } from '../../errors/store.js';
import type { ReplicationItemRecord, ReplicationPolicyRecord, ReplicationQueries, ReplicationRunRecord, ReplicationTargetRecord, RunStatus } from '../event-store.js';
import type { ReplicationPoliciesTable, ReplicationRunsTable } from '../event-tables.js';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';
import { isUniqueViolation } from './auth-accounts.js';
import { PreparedQuery } from './prepared.js';

/** The policies of one trigger (every push asks for the event-triggered ones; prepared.ts). */
const POLICIES_OF_TRIGGER = new PreparedQuery((db: Kysely<Database>, trigger: string) => db.selectFrom('replication_policies').selectAll().where('trigger', '=', trigger).orderBy('name'));

function toPolicy(r: Selectable<ReplicationPoliciesTable>): ReplicationPolicyRecord {
  return {
    name: r.name,
    target: r.target,
    direction: r.direction as 'push' | 'pull',
    repositories: JSON.parse(r.repositories) as string[],
    tags: JSON.parse(r.tags) as string[],
    trigger: r.trigger as ReplicationPolicyRecord['trigger'],
    schedule: r.schedule,
    options: JSON.parse(r.options) as Record<string, unknown>,
    enabled: Number(r.enabled) === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function toRun(r: Selectable<ReplicationRunsTable>): ReplicationRunRecord {
  return {
    id: Number(r.id),
    policy: r.policy,
    trigger: r.trigger,
    scope: r.scope === null ? null : (JSON.parse(r.scope) as ReplicationRunRecord['scope']),
    status: r.status as RunStatus,
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    summary: r.summary === null ? null : (JSON.parse(r.summary) as Record<string, unknown>),
    error: r.error,
  };
}

export class SqlReplication implements ReplicationQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async insertTarget(t: Omit<ReplicationTargetRecord, 'createdAt'>, now: number): Promise<void> {
    try {
      await this.db.insertInto('replication_targets').values({ name: t.name, url: t.url, username: t.username, password: t.password, insecure: t.insecure ? 1 : 0, created_at: now }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError(`replication target ${t.name} exists`);
      throw e;
    }
  }

  async target(name: string): Promise<ReplicationTargetRecord | undefined> {
    const r = await this.db.selectFrom('replication_targets').selectAll().where('name', '=', name).executeTakeFirst();
    return r && { name: r.name, url: r.url, username: r.username, password: r.password, insecure: Number(r.insecure) === 1, createdAt: Number(r.created_at) };
  }

  async targets(): Promise<ReplicationTargetRecord[]> {
    const rows = await this.db.selectFrom('replication_targets').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, url: r.url, username: r.username, password: r.password, insecure: Number(r.insecure) === 1, createdAt: Number(r.created_at) }));
  }

  async deleteTarget(name: string): Promise<boolean> {
    const used = await this.db.selectFrom('replication_policies').select('name').where('target', '=', name).limit(1).executeTakeFirst();
    if (used) throw new ConflictError(`replication target ${name} is used by policy ${used.name}`);
    const r = await this.db.deleteFrom('replication_targets').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async insertPolicy(p: Omit<ReplicationPolicyRecord, 'createdAt' | 'updatedAt'>, now: number): Promise<void> {
    try {
      await this.db
        .insertInto('replication_policies')
        .values({ name: p.name, target: p.target, direction: p.direction, repositories: JSON.stringify(p.repositories), tags: JSON.stringify(p.tags), trigger: p.trigger, schedule: p.schedule, options: JSON.stringify(p.options), enabled: p.enabled ? 1 : 0, created_at: now, updated_at: now })
        .execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError(`replication policy ${p.name} exists`);
      throw e;
    }
  }

  async policy(name: string): Promise<ReplicationPolicyRecord | undefined> {
    const r = await this.db.selectFrom('replication_policies').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toPolicy(r);
  }

  async policies(trigger?: ReplicationPolicyRecord['trigger']): Promise<ReplicationPolicyRecord[]> {
    const rows = trigger === undefined ? await this.db.selectFrom('replication_policies').selectAll().orderBy('name').execute() : await POLICIES_OF_TRIGGER.execute(this.db, this.dialect, trigger);
    return rows.map(toPolicy);
  }

  async deletePolicy(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('replication_policies').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async createRun(r: { policy: string; trigger: string; scope: ReplicationRunRecord['scope'] }, now: number): Promise<number> {
    const row = await this.db
      .insertInto('replication_runs')
      .values({ policy: r.policy, trigger: r.trigger, scope: r.scope === null ? null : JSON.stringify(r.scope), status: 'queued', started_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async run(id: number): Promise<ReplicationRunRecord | undefined> {
    const r = await this.db.selectFrom('replication_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRun(r);
  }

  async runs(policy: string, limit: number): Promise<ReplicationRunRecord[]> {
    return (await this.db.selectFrom('replication_runs').selectAll().where('policy', '=', policy).orderBy('id', 'desc').limit(limit).execute()).map(toRun);
  }

  async setRunStatus(id: number, status: RunStatus, r: { summary?: Record<string, unknown>; error?: string | null; onlyFrom?: RunStatus[] }, now: number): Promise<boolean> {
    const end = status === 'succeeded' || status === 'failed' || status === 'cancelled';
    let q = this.db
      .updateTable('replication_runs')
      .set({
        status,
        finished_at: end ? now : null,
        ...(r.summary !== undefined ? { summary: JSON.stringify(r.summary) } : {}),
        ...(r.error !== undefined ? { error: r.error === null ? null : r.error.slice(0, 4000) } : {}),
      })
      .where('id', '=', id);
    if (r.onlyFrom) q = q.where('status', 'in', r.onlyFrom);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  }

  async addItem(runId: number, item: ReplicationItemRecord): Promise<void> {
    await this.db.insertInto('replication_items').values({ run_id: runId, artifact: item.artifact, digest: item.digest, status: item.status, bytes: item.bytes, error: item.error === null ? null : item.error.slice(0, 2000), at: item.at }).execute();
  }

  async items(runId: number, limit: number): Promise<ReplicationItemRecord[]> {
    const rows = await this.db.selectFrom('replication_items').selectAll().where('run_id', '=', runId).orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ artifact: r.artifact, digest: r.digest, status: r.status as ReplicationItemRecord['status'], bytes: Number(r.bytes), error: r.error, at: Number(r.at) }));
  }
}
