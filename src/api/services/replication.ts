/**
 * Replication management (system admins): targets (any OCI registry, Basic or token
 * credentials; the password is never returned), policies (push or pull, repository and tag
 * patterns, triggered by events, cron or by hand), runs (start, read with their per-artifact
 * history, cancel). A run is a row plus a `replication.run` job, so any node runs it.
 */
import { Cron } from 'croner';
import type { AuditLog } from '../../audit/audit-log.js';
import type { KeySealer } from '../../auth/key-sealing.js';
import { ProblemError } from '../../errors/problem.js';
import { ConflictError } from '../../errors/store.js';
import type { ReplicationItemRecord, ReplicationPolicyRecord, ReplicationRunRecord, ReplicationTargetRecord } from '../../metadata/event-store.js';
import type { MetadataStore } from '../../metadata/store.js';
import { principalName, type Principal } from '../../policy/principal.js';
import { startRun } from '../../replication/engine.js';
import { checkPatterns } from '../../replication/patterns.js';

export interface TargetInput {
  name: string;
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  insecure?: boolean | undefined;
}

export interface PolicyInput {
  name: string;
  target: string;
  direction: 'push' | 'pull';
  repositories: string[];
  tags?: string[] | undefined;
  trigger: 'event' | 'manual' | 'cron';
  schedule?: string | undefined;
  platforms?: string[] | undefined;
  referrers?: boolean | undefined;
  deletes?: boolean | undefined;
  enabled?: boolean | undefined;
}

const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function targetView(t: ReplicationTargetRecord) {
  return { name: t.name, url: t.url, username: t.username, insecure: t.insecure, createdAt: new Date(t.createdAt).toISOString() };
}

export function policyView(p: ReplicationPolicyRecord) {
  return { name: p.name, target: p.target, direction: p.direction, repositories: p.repositories, tags: p.tags, trigger: p.trigger, schedule: p.schedule, options: p.options, enabled: p.enabled, createdAt: new Date(p.createdAt).toISOString() };
}

export function runView(r: ReplicationRunRecord, items?: ReplicationItemRecord[]) {
  return {
    id: r.id,
    policy: r.policy,
    trigger: r.trigger,
    scope: r.scope,
    status: r.status,
    startedAt: new Date(r.startedAt).toISOString(),
    finishedAt: iso(r.finishedAt),
    summary: r.summary,
    error: r.error,
    ...(items ? { results: items.map((i) => ({ ...i, at: new Date(i.at).toISOString() })) } : {}),
  };
}

export class ReplicationService {
  constructor(
    private readonly meta: MetadataStore,
    private readonly audit: AuditLog,
    /** Seals target passwords at rest (auth.keyEncryptionKey). */
    private readonly sealer: KeySealer,
    private readonly now: () => number = Date.now,
  ) {}

  async targets() {
    return (await this.meta.replication.targets()).map(targetView);
  }

  async createTarget(caller: Principal, input: TargetInput, address: string) {
    if (!NAME.test(input.name)) throw new ProblemError('INVALID', 'name must be lowercase letters and digits, optionally separated by . _ or -');
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw new ProblemError('INVALID', `url: not a URL: ${input.url}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProblemError('INVALID', 'url must be http or https');
    const t = { name: input.name, url: url.toString().replace(/\/$/, ''), username: input.username ?? null, password: input.password === undefined ? null : this.sealer.seal(input.password), insecure: input.insecure ?? false };
    try {
      await this.meta.replication.insertTarget(t, this.now());
    } catch (e) {
      if (e instanceof ConflictError) throw new ProblemError('CONFLICT', `replication target ${input.name} already exists`);
      throw e;
    }
    this.audit.record({ actor: principalName(caller), action: 'replication.target.create', resource: `replication-target:${t.name}`, result: 'success', sourceAddress: address, detail: { url: t.url, username: t.username } });
    return targetView((await this.meta.replication.target(t.name))!);
  }

  async deleteTarget(caller: Principal, name: string, address: string): Promise<void> {
    try {
      if (!(await this.meta.replication.deleteTarget(name))) throw new ProblemError('NOT_FOUND', `replication target ${name} does not exist`);
    } catch (e) {
      if (e instanceof ConflictError) throw new ProblemError('CONFLICT', e.message);
      throw e;
    }
    this.audit.record({ actor: principalName(caller), action: 'replication.target.delete', resource: `replication-target:${name}`, result: 'success', sourceAddress: address });
  }

  async policies() {
    return (await this.meta.replication.policies()).map(policyView);
  }

  async policy(name: string) {
    const p = await this.meta.replication.policy(name);
    if (!p) throw new ProblemError('NOT_FOUND', `replication policy ${name} does not exist`);
    return { ...policyView(p), runs: (await this.meta.replication.runs(name, 20)).map((r) => runView(r)) };
  }

  async createPolicy(caller: Principal, input: PolicyInput, address: string) {
    if (!NAME.test(input.name)) throw new ProblemError('INVALID', 'name must be lowercase letters and digits, optionally separated by . _ or -');
    if (!(await this.meta.replication.target(input.target))) throw new ProblemError('INVALID', `target: replication target ${input.target} does not exist`);
    const tags = input.tags ?? ['**'];
    try {
      checkPatterns(input.repositories);
      checkPatterns(tags);
    } catch (e) {
      throw new ProblemError('INVALID', (e as Error).message);
    }
    if (input.trigger === 'event' && input.direction !== 'push') throw new ProblemError('INVALID', 'trigger: event-triggered policies push (changes here go there); a pull policy runs by hand or on a cron schedule');
    if (input.trigger === 'cron') {
      if (!input.schedule) throw new ProblemError('INVALID', 'schedule: a cron policy needs a schedule (cron syntax)');
      try {
        new Cron(input.schedule, { paused: true }).stop();
      } catch (e) {
        throw new ProblemError('INVALID', `schedule: ${(e as Error).message}`);
      }
    }
    const options = { ...(input.platforms ? { platforms: input.platforms } : {}), ...(input.referrers !== undefined ? { referrers: input.referrers } : {}), ...(input.deletes !== undefined ? { deletes: input.deletes } : {}) };
    try {
      await this.meta.replication.insertPolicy({ name: input.name, target: input.target, direction: input.direction, repositories: input.repositories, tags, trigger: input.trigger, schedule: input.schedule ?? null, options, enabled: input.enabled ?? true }, this.now());
    } catch (e) {
      if (e instanceof ConflictError) throw new ProblemError('CONFLICT', `replication policy ${input.name} already exists`);
      throw e;
    }
    this.audit.record({ actor: principalName(caller), action: 'replication.policy.create', resource: `replication-policy:${input.name}`, result: 'success', sourceAddress: address, detail: { ...input } });
    return policyView((await this.meta.replication.policy(input.name))!);
  }

  async deletePolicy(caller: Principal, name: string, address: string): Promise<void> {
    if (!(await this.meta.replication.deletePolicy(name))) throw new ProblemError('NOT_FOUND', `replication policy ${name} does not exist`);
    this.audit.record({ actor: principalName(caller), action: 'replication.policy.delete', resource: `replication-policy:${name}`, result: 'success', sourceAddress: address });
  }

  async startRun(caller: Principal, name: string, address: string): Promise<{ id: number }> {
    const id = await this.meta.transaction(async (tx) => {
      if (!(await tx.replication.policy(name))) throw new ProblemError('NOT_FOUND', `replication policy ${name} does not exist`);
      return startRun(tx, name, 'manual', null, this.now());
    });
    this.audit.record({ actor: principalName(caller), action: 'replication.run', resource: `replication-policy:${name}`, result: 'success', sourceAddress: address, detail: { run: id } });
    return { id };
  }

  async run(id: number) {
    const r = await this.meta.replication.run(id);
    if (!r) throw new ProblemError('NOT_FOUND', `replication run ${id} does not exist`);
    return runView(r, await this.meta.replication.items(id, 10_000));
  }

  async cancel(caller: Principal, id: number, address: string) {
    const r = await this.meta.replication.run(id);
    if (!r) throw new ProblemError('NOT_FOUND', `replication run ${id} does not exist`);
    if (!(await this.meta.replication.setRunStatus(id, 'cancelled', { error: `cancelled by ${principalName(caller)}`, onlyFrom: ['queued', 'running'] }, this.now()))) throw new ProblemError('CONFLICT', `replication run ${id} is over (${r.status})`);
    this.audit.record({ actor: principalName(caller), action: 'replication.cancel', resource: `replication-run:${id}`, result: 'success', sourceAddress: address });
    return runView((await this.meta.replication.run(id))!);
  }
}
