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

/** Reads (validated) and writes the per-project settings. */
export class LifecycleSettings {
  constructor(
    private readonly store: Pick<MetadataQueries, 'lifecycleSettings'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A project's settings; inside a transaction, pass it as `tx`. */
  async get(project: string, tx: Pick<MetadataQueries, 'lifecycleSettings'> = this.store): Promise<ProjectSettings> {
    const raw = await tx.lifecycleSettings.get(project);
    return {
      retention: raw.retention === null ? null : retentionPolicySchema.parse(raw.retention),
      immutability: raw.immutability === null ? null : immutabilitySchema.parse(raw.immutability),
      quota: raw.quota === null ? null : quotaSchema.parse(raw.quota),
    };
  }

  async set(project: string, column: Column, value: unknown | null): Promise<void> {
    await this.store.lifecycleSettings.set(project, column, value, this.now());
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
