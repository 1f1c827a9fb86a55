/**
 * Retention: per-project rules decide which tags stay; the rest move to the trash, from which
 * they can be restored within the restore window (GC keeps their manifests until it ends).
 *
 * `plan` is a pure function of a snapshot of the project's tags and untagged manifests, and a
 * real run computes it again inside the same transaction that applies it, so a dry run and a
 * real run over the same state report exactly the same removals. Scope: only repositories
 * matched by some rule are touched; there a tag stays if any rule keeps it, a protect rule
 * matches it, or an immutability rule covers it — protection always wins.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../metadata/tables.js';
import type { ImmutabilityPolicy } from '../policy/immutability.js';
import { matchesAny, pathInProject, type LifecycleSettings, type RetentionPolicy, type RetentionRule } from './settings.js';
import { writeTransaction, type Dialect } from './tx.js';

const DAY = 86_400_000;

export interface TagInfo {
  repository: string;
  tag: string;
  digest: string;
  pushedAt: number;
  pulledAt: number | null;
  immutable: boolean;
}

export interface RetentionPlan {
  /** Tags to move to the trash, in repository/tag order. */
  tags: { repository: string; tag: string; digest: string }[];
  /** Untagged top-level manifests to move to the trash (policy `untagged: remove`). */
  untagged: { repository: string; digest: string }[];
  retained: number;
}

export interface RetentionReport extends RetentionPlan {
  runId: number;
  project: string;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  /** Until when the removed tags can be restored (real runs). */
  restorableUntil: string | null;
}

function ruleKeeps(rule: RetentionRule, candidates: TagInfo[], now: number): Set<TagInfo> {
  const k = rule.keep;
  switch (k.kind) {
    case 'all':
      return new Set(candidates);
    case 'lastPushed': {
      const sorted = [...candidates].sort((a, b) => b.pushedAt - a.pushedAt || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
      return new Set(sorted.slice(0, k.count));
    }
    case 'pulledWithinDays':
      return new Set(candidates.filter((t) => t.pulledAt !== null && t.pulledAt >= now - k.days * DAY));
    case 'pushedWithinDays':
      return new Set(candidates.filter((t) => t.pushedAt >= now - k.days * DAY));
  }
}

export function plan(policy: RetentionPolicy, tags: TagInfo[], untagged: { repository: string; digest: string }[], now: number): RetentionPlan {
  const byRepo = new Map<string, TagInfo[]>();
  for (const t of tags) {
    const list = byRepo.get(t.repository);
    if (list) list.push(t);
    else byRepo.set(t.repository, [t]);
  }
  const removed: RetentionPlan['tags'] = [];
  let retained = 0;
  const inScope = (repo: string) => policy.rules.some((r) => matchesAny(r.repositories, pathInProject(repo)));
  for (const [repo, list] of [...byRepo.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!inScope(repo)) {
      retained += list.length;
      continue;
    }
    const path = pathInProject(repo);
    const kept = new Set<TagInfo>();
    for (const rule of policy.rules) {
      if (!matchesAny(rule.repositories, path)) continue;
      const candidates = list.filter((t) => matchesAny(rule.tags, t.tag) && !matchesAny(rule.excludeTags, t.tag));
      for (const t of ruleKeeps(rule, candidates, now)) kept.add(t);
    }
    for (const t of [...list].sort((a, b) => (a.tag < b.tag ? -1 : 1))) {
      const protectedTag = t.immutable || policy.protect.some((p) => matchesAny(p.repositories, path) && matchesAny(p.tags, t.tag));
      if (kept.has(t) || protectedTag) retained++;
      else removed.push({ repository: repo, tag: t.tag, digest: t.digest });
    }
  }
  const untaggedOut = policy.untagged === 'remove' ? untagged.filter((u) => inScope(u.repository)) : [];
  return { tags: removed, untagged: untaggedOut, retained };
}

export class RetentionService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly settings: LifecycleSettings,
    private readonly immutability: ImmutabilityPolicy,
    private readonly defaultTrashDays: number,
    private readonly onChange: (repo: string) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tags and untagged top-level manifests of a project, as `plan` reads them. */
  async snapshot(db: Kysely<Database>, project: string): Promise<{ tags: TagInfo[]; untagged: { repository: string; digest: string }[] }> {
    const rows = await db
      .selectFrom('tags as t')
      .innerJoin('repositories as r', 'r.id', 't.repository_id')
      .innerJoin('manifests as m', 'm.id', 't.manifest_id')
      .select(['r.name as repository', 't.name as tag', 'm.digest', 'm.pushed_at', 'm.last_pulled_at'])
      .where('r.project', '=', project)
      .execute();
    const tags: TagInfo[] = [];
    for (const r of rows) {
      tags.push({
        repository: r.repository,
        tag: r.tag,
        digest: r.digest,
        pushedAt: Number(r.pushed_at),
        pulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
        immutable: (await this.immutability.ruleFor(db, r.repository, r.tag)) !== undefined,
      });
    }
    const now = this.now();
    const untagged = await db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['r.name as repository', 'm.digest'])
      .where('r.project', '=', project)
      .where('m.subject_digest', 'is', null)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('tags as t').select('t.name').whereRef('t.manifest_id', '=', 'm.id'))))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('manifest_children as c').select('c.parent_id').whereRef('c.child_id', '=', 'm.id'))))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('trash as x').select('x.id').whereRef('x.repository', '=', 'r.name').whereRef('x.digest', '=', 'm.digest').where((eb) => eb.or([eb('x.expires_at', '>', now), eb('x.restored_at', 'is not', null)])))),
      )
      .orderBy('r.name')
      .orderBy('m.digest')
      .execute();
    return { tags, untagged };
  }

  async run(project: string, opts: { dryRun: boolean; trigger: string }): Promise<RetentionReport> {
    const policy = (await this.settings.get(this.db, project)).retention;
    if (!policy) throw new Error(`project ${project} has no retention policy`);
    const started = this.now();
    const inserted = await this.db
      .insertInto('retention_runs')
      .values({ project, trigger: opts.trigger, dry_run: opts.dryRun ? 1 : 0, status: 'running', started_at: started, finished_at: null, result: null, error: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    const runId = Number(inserted.id);
    const expiresAt = started + (policy.trashDays ?? this.defaultTrashDays) * DAY;
    try {
      const p = opts.dryRun
        ? await this.computePlan(this.db, project, policy, started)
        : await writeTransaction(this.db, this.dialect, async (trx) => {
            const p = await this.computePlan(trx, project, policy, started);
            await this.apply(trx, runId, project, p, started, expiresAt);
            return p;
          });
      const report: RetentionReport = {
        runId,
        project,
        dryRun: opts.dryRun,
        startedAt: new Date(started).toISOString(),
        finishedAt: new Date(this.now()).toISOString(),
        restorableUntil: opts.dryRun ? null : new Date(expiresAt).toISOString(),
        ...p,
      };
      if (!opts.dryRun) for (const repo of new Set(p.tags.map((t) => t.repository))) await this.onChange(repo);
      await this.db.updateTable('retention_runs').set({ status: 'succeeded', finished_at: this.now(), result: JSON.stringify(report) }).where('id', '=', runId).execute();
      return report;
    } catch (e) {
      await this.db.updateTable('retention_runs').set({ status: 'failed', finished_at: this.now(), error: (e as Error).message }).where('id', '=', runId).execute();
      throw e;
    }
  }

  private async computePlan(db: Kysely<Database>, project: string, policy: RetentionPolicy, now: number): Promise<RetentionPlan> {
    const snap = await this.snapshot(db, project);
    return plan(policy, snap.tags, snap.untagged, now);
  }

  private async apply(db: Kysely<Database>, runId: number, project: string, p: RetentionPlan, now: number, expiresAt: number): Promise<void> {
    for (const t of p.tags) {
      const repo = await db.selectFrom('repositories').select('id').where('name', '=', t.repository).executeTakeFirstOrThrow();
      await db.deleteFrom('tags').where('repository_id', '=', repo.id).where('name', '=', t.tag).execute();
    }
    const entries = [...p.tags.map((t) => ({ ...t })), ...p.untagged.map((u) => ({ ...u, tag: null }))];
    for (let i = 0; i < entries.length; i += 500) {
      await db
        .insertInto('trash')
        .values(entries.slice(i, i + 500).map((e) => ({ run_id: runId, project, repository: e.repository, tag: e.tag, digest: e.digest, removed_at: now, expires_at: expiresAt, restored_at: null })))
        .execute();
    }
  }
}
