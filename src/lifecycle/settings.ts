/**
 * Per-project lifecycle settings — retention policy, tag immutability rules, quota — stored
 * as JSON in `project_lifecycle`, keyed by project NAME (the first path segment of a
 * repository name) so they work with or without a projects table. The zod schemas here are
 * the API's request bodies too; patterns are picomatch globs (`*` stays within a path
 * segment, `**` crosses `/`).
 */
import picomatch from 'picomatch';
import { z } from 'zod';
import type { LifecycleSettingName } from '../metadata/lifecycle-store.js';
import type { MetadataQueries } from '../metadata/store.js';
import { ChangeTopics, type ChangeFeed } from '../metadata/change-feed.js';

const patterns = (def: string[], what: string) => z.array(z.string().min(1).max(256)).max(100).default(def).describe(what);

export const keepSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('lastPushed'), count: z.number().int().min(0).describe('Keep this many most recently pushed tags per repository.') }),
  z.strictObject({ kind: z.literal('pulledWithinDays'), days: z.number().min(0).describe('Keep tags whose manifest was pulled within this many days.') }),
  z.strictObject({ kind: z.literal('pushedWithinDays'), days: z.number().min(0).describe('Keep tags whose manifest was pushed within this many days.') }),
  z.strictObject({ kind: z.literal('all') }),
]);

export const retentionRuleSchema = z.strictObject({
  repositories: patterns(['**'], 'Repositories (path inside the project) the rule applies to.'),
  tags: patterns(['**'], 'Tags the rule considers.'),
  excludeTags: patterns([], 'Tags the rule never considers.'),
  keep: keepSchema,
});

export const protectRuleSchema = z.strictObject({
  repositories: patterns(['**'], 'Repositories (path inside the project).'),
  tags: patterns(['**'], 'Tags always kept.'),
});

export const retentionPolicySchema = z.strictObject({
  rules: z.array(retentionRuleSchema).max(50).default([]).describe('A tag in a repository matched by any rule is removed unless some rule keeps it.'),
  protect: z.array(protectRuleSchema).max(50).default([]).describe('Tags matched here are always kept, whatever the rules say.'),
  untagged: z.enum(['default', 'keep', 'remove']).default('default').describe('Untagged top-level manifests: keep them, move them to the trash on each run, or leave them to garbage collection (default).'),
  trashDays: z.number().min(0).optional().describe('Restore window in days (default: lifecycle.trashDays).'),
  schedule: z.string().nullable().default(null).describe('Cron expression for scheduled runs; null: manual only.'),
});

export const immutabilitySchema = z.strictObject({
  rules: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(100).describe('Named in the DENIED message.'),
        repositories: patterns(['**'], 'Repositories (path inside the project).'),
        tags: z.array(z.string().min(1).max(256)).min(1).max(100).describe('Tag patterns, e.g. v*'),
      }),
    )
    .max(50)
    .default([]),
});

export const quotaSchema = z.strictObject({
  bytes: z.number().int().min(0).nullable().default(null).describe('Storage limit of the project (shared blobs counted once).'),
  repositories: z.number().int().min(0).nullable().default(null).describe('Limit on repositories holding content.'),
  tags: z.number().int().min(0).nullable().default(null).describe('Limit on tags across the project.'),
});

export type RetentionPolicy = z.infer<typeof retentionPolicySchema>;
export type RetentionRule = z.infer<typeof retentionRuleSchema>;
export type ImmutabilityRules = z.infer<typeof immutabilitySchema>;
export type Quota = z.infer<typeof quotaSchema>;

type Column = LifecycleSettingName;

export interface ProjectSettings {
  retention: RetentionPolicy | null;
  immutability: ImmutabilityRules | null;
  quota: Quota | null;
}

/** Projects whose parsed settings are kept at most (a busy registry pushes to far fewer at once). */
const CACHED_PROJECTS = 10_000;

/**
 * Reads (validated) and writes the per-project settings. Every blob and manifest push reads its
 * project's settings three to five times (quota, immutability), so with a change feed they are
 * kept per project: `set` announces a change as `lifecycle:settings`, which drops them in every
 * process, and they are trusted only after the feed's barrier (change-feed.ts's ChangeTopics).
 */
export class LifecycleSettings {
  private readonly cache = new Map<string, ProjectSettings>();
  /** Bumped by every change: a read that began before one is not kept. */
  private generation = 0;
  private readonly topics: ChangeTopics<'settings'> | undefined;

  constructor(
    private readonly store: Pick<MetadataQueries, 'lifecycleSettings'>,
    private readonly now: () => number = Date.now,
    feed?: ChangeFeed,
  ) {
    if (feed) {
      this.topics = new ChangeTopics(feed, 'lifecycle:');
      this.topics.onChange('settings', () => {
        this.cache.clear();
        this.generation++;
      });
    }
  }

  /** A project's settings (shared: read them, never change them); inside a transaction, pass it as `tx`. */
  async get(project: string, tx: Pick<MetadataQueries, 'lifecycleSettings'> = this.store): Promise<ProjectSettings> {
    const fresh = this.topics !== undefined && (await this.topics.fresh());
    const hit = fresh ? this.cache.get(project) : undefined;
    if (hit) return hit;
    const generation = this.generation;
    const raw = await tx.lifecycleSettings.get(project);
    const settings: ProjectSettings = {
      retention: raw.retention === null ? null : retentionPolicySchema.parse(raw.retention),
      immutability: raw.immutability === null ? null : immutabilitySchema.parse(raw.immutability),
      quota: raw.quota === null ? null : quotaSchema.parse(raw.quota),
    };
    if (fresh && generation === this.generation) {
      if (this.cache.size >= CACHED_PROJECTS) this.cache.clear();
      this.cache.set(project, settings);
    }
    return settings;
  }

  async set(project: string, column: Column, value: unknown | null): Promise<void> {
    await this.store.lifecycleSettings.set(project, column, value, this.now());
    await this.topics?.changed('settings');
  }

  /** Every project with a retention policy. */
  async retentionPolicies(): Promise<{ project: string; policy: RetentionPolicy }[]> {
    return (await this.store.lifecycleSettings.retentionSettings()).map((r) => ({ project: r.project, policy: retentionPolicySchema.parse(r.retention) }));
  }
}

/** The repository's path inside its project, which repository patterns match against. */
export function pathInProject(repo: string): string {
  const i = repo.indexOf('/');
  return i < 0 ? repo : repo.slice(i + 1);
}

const matcherCache = new Map<string, (s: string) => boolean>();

/** True when `value` matches any of the glob `patterns`. */
export function matchesAny(patternsList: readonly string[], value: string): boolean {
  return patternsList.some((p) => {
    let m = matcherCache.get(p);
    if (!m) {
      if (matcherCache.size > 5000) matcherCache.clear();
      m = picomatch(p, { dot: true });
      matcherCache.set(p, m);
    }
    return m(value);
  });
}
