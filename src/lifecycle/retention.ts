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
import type { RetentionRunRecord } from '../metadata/lifecycle-store.js';
import type { MetadataQueries, MetadataStore } from '../metadata/store.js';
import type { ImmutabilityPolicy } from '../policy/immutability.js';
import { matchesAny, pathInProject, type LifecycleSettings, type RetentionPolicy, type RetentionRule } from './settings.js';
import { iso, withIsoTimes, type WithIsoTimes } from './times.js';

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

/** A retention run as the API lists it. */
/** A retention run as the API shows it. */
export type RetentionRun = WithIsoTimes<RetentionRunRecord, 'startedAt' | 'finishedAt'>;

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
    private readonly meta: MetadataStore,
    private readonly settings: LifecycleSettings,
    private readonly immutability: ImmutabilityPolicy,
    private readonly defaultTrashDays: number,
    private readonly onChange: (repo: string) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tags (with whether an immutability rule covers each) and untagged top-level manifests of a project, as `plan` reads them. */
  async snapshot(q: MetadataQueries, project: string): Promise<{ tags: TagInfo[]; untagged: { repository: string; digest: string }[] }> {
    const snap = await q.retention.snapshot(project, this.now());
    const tags: TagInfo[] = [];
    for (const t of snap.tags) tags.push({ ...t, immutable: (await this.immutability.ruleFor(q, t.repository, t.tag)) !== undefined });
    return { tags, untagged: snap.untagged };
  }

  async run(project: string, opts: { dryRun: boolean; trigger: string }): Promise<RetentionReport> {
    const policy = (await this.settings.get(project)).retention;
    if (!policy) throw new Error(`project ${project} has no retention policy`);
    const started = this.now();
    const runId = await this.meta.retention.insertRun({ project, trigger: opts.trigger, dryRun: opts.dryRun, startedAt: started });
    const expiresAt = started + (policy.trashDays ?? this.defaultTrashDays) * DAY;
    try {
      const p = opts.dryRun
        ? await this.computePlan(this.meta, project, policy, started)
        : // Planned and applied in one transaction, so the removals are those of the state they were planned on.
          await this.meta.transaction(
            async (tx) => {
              const p = await this.computePlan(tx, project, policy, started);
              await tx.retention.moveToTrash({ runId, project, now: started, expiresAt }, p.tags, p.untagged);
              return p;
            },
            { isolation: 'read-committed' },
          );
      const report: RetentionReport = {
        runId,
        project,
        dryRun: opts.dryRun,
        startedAt: iso(started),
        finishedAt: iso(this.now()),
        restorableUntil: opts.dryRun ? null : iso(expiresAt),
        ...p,
      };
      if (!opts.dryRun) for (const repo of new Set(p.tags.map((t) => t.repository))) await this.onChange(repo);
      await this.meta.retention.finishRun(runId, { status: 'succeeded', finishedAt: this.now(), result: report });
      return report;
    } catch (e) {
      await this.meta.retention.finishRun(runId, { status: 'failed', finishedAt: this.now(), error: (e as Error).message });
      throw e;
    }
  }

  /** Runs newest first, of one project when given, keyset-paginated by id. */
  async runs(filter: { project?: string | undefined; before?: number | undefined; limit: number }): Promise<RetentionRun[]> {
    return (await this.meta.retention.listRuns(filter)).map((r) => withIsoTimes(r, ['startedAt', 'finishedAt']));
  }

  private async computePlan(q: MetadataQueries, project: string, policy: RetentionPolicy, now: number): Promise<RetentionPlan> {
    const snap = await this.snapshot(q, project);
    return plan(policy, snap.tags, snap.untagged, now);
  }
}
