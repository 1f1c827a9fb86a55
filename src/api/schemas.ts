/**
 * The response shapes of /api/v1, declared once as zod schemas. Routes name them in the route
 * table; the OpenAPI document (src/api/openapi.ts) and from it the web UI's client types
 * (ui/src/api-types.gen.ts) are generated from them. They describe what the services return;
 * they are not enforced on the way out.
 */
import { z } from 'zod';

const time = z.string().describe('ISO 8601 time');
const nullableTime = time.nullable();

/** `{ items, next }`: one page of a list; `next` is the opaque cursor of the next page, or null. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next: z.string().nullable() });
}

export const Role = z.enum(['admin', 'maintainer', 'developer', 'guest']);

export const User = z.object({ name: z.string(), admin: z.boolean() });
export const Session = z.object({ user: User, csrfToken: z.string() });
export const Me = z.object({ user: User.nullable(), csrfToken: z.string().nullable(), signedIn: z.boolean() });

export const Project = z.object({
  name: z.string(),
  public: z.boolean(),
  repositoryCount: z.number().int(),
  storageBytes: z.number().int(),
  quotaBytes: z.number().int().nullable(),
  role: Role.nullable(),
  createdAt: time,
});
export const Member = z.object({ user: z.string(), role: Role });

export const Robot = z.object({ name: z.string(), permissions: z.array(z.string()), expiresAt: nullableTime, lastUsedAt: nullableTime, createdAt: time });
export const RobotCreated = z.object({ name: z.string(), secret: z.string(), permissions: z.array(z.string()), expiresAt: nullableTime });

export const TrustPolicy = z.object({ id: z.number().int(), issuer: z.string(), audience: z.string(), claims: z.record(z.string(), z.string()), permissions: z.array(z.string()), createdBy: z.string(), createdAt: time });

export const UserRow = z.object({ name: z.string(), admin: z.boolean(), disabled: z.boolean(), createdAt: time });
export const TokenRow = z.object({ id: z.string(), name: z.string(), scopes: z.array(z.string()).nullable(), expiresAt: nullableTime, lastUsedAt: nullableTime, createdAt: time });
export const TokenCreated = z.object({ id: z.string(), name: z.string(), token: z.string(), scopes: z.array(z.string()), expiresAt: nullableTime });

export const Platform = z.object({ os: z.string().optional(), architecture: z.string().optional(), variant: z.string().optional() });
export const RepositorySummary = z.object({
  name: z.string(),
  project: z.string(),
  tagCount: z.number().int(),
  manifestCount: z.number().int(),
  sizeBytes: z.number().int(),
  pushedAt: nullableTime,
  pulledAt: nullableTime,
});
export const RepositoryInfo = z.object({ name: z.string(), project: z.string(), tagCount: z.number().int(), sizeBytes: z.number().int(), permissions: z.array(z.string()) });
export const Tag = z.object({ name: z.string(), digest: z.string(), mediaType: z.string(), size: z.number().int(), platforms: z.array(Platform), pushedAt: nullableTime, pulledAt: nullableTime });
export const Descriptor = z.object({ digest: z.string(), mediaType: z.string(), size: z.number().int() });
const Json = z.record(z.string(), z.unknown());
export const ManifestDetail = z.object({
  digest: z.string(),
  mediaType: z.string(),
  artifactType: z.string().nullable(),
  /** The manifest document's own bytes. */
  size: z.number().int(),
  /** The image: manifest, config and layers (an index: every platform), each blob once. */
  totalSize: z.number().int(),
  tags: z.array(z.string()),
  manifest: Json,
  config: Json.nullable(),
  layers: z.array(Descriptor),
  children: z.array(Descriptor.extend({ platform: Platform.nullable().optional() })),
  referrers: z.array(Descriptor.extend({ artifactType: z.string().nullable(), annotations: z.record(z.string(), z.string()).nullable().optional() })),
});

export const AuditEntry = z.object({
  id: z.number().int(),
  at: time,
  actor: z.string(),
  action: z.string(),
  resource: z.string(),
  project: z.string().nullable(),
  result: z.enum(['success', 'failure']),
  sourceAddress: z.string().nullable(),
  detail: z.unknown(),
});

export const SigningKeyRotated = z.object({ kid: z.string() });

export const ReadOnlyState = z.object({
  enabled: z.boolean(),
  reason: z.string(),
  source: z.enum(['config', 'switch']),
  changedBy: z.string().optional(),
  changedAt: z.number().int().optional(),
});
export const ReadOnlyChange = z.strictObject({
  enabled: z.boolean(),
  reason: z.string().max(500).optional(),
});

// Lifecycle: settings, figures, runs, trash.

export const Usage = z.object({
  bytes: z.number().int(),
  blobBytes: z.number().int(),
  manifestBytes: z.number().int(),
  blobs: z.number().int(),
  manifests: z.number().int(),
  repositories: z.number().int(),
  tags: z.number().int(),
  uploadBytes: z.number().int(),
});
/** The settings bodies are validated by src/lifecycle/settings.ts; here only their outline. */
const Setting = z.record(z.string(), z.unknown());
export const QuotaSetting = z.object({ bytes: z.number().int().nullable(), repositories: z.number().int().nullable(), tags: z.number().int().nullable() });
export const RetentionSetting = z.object({ project: z.string(), policy: Setting.nullable(), next: nullableTime.optional() });
export const ImmutabilitySetting = z.object({ project: z.string(), rules: z.array(Setting) });
export const ProjectQuota = z.object({ project: z.string(), quota: QuotaSetting.nullable(), usage: Usage });
export const ProjectUsage = ProjectQuota.extend({ repositories: z.array(Usage.extend({ name: z.string() })) });
export const UsageRow = z.object({ project: z.string(), usage: Usage, quota: QuotaSetting.nullable() });

export const RetentionReport = z.object({
  runId: z.number().int(),
  project: z.string(),
  dryRun: z.boolean(),
  startedAt: time,
  finishedAt: time,
  restorableUntil: nullableTime,
  tags: z.array(z.object({ repository: z.string(), tag: z.string(), digest: z.string() })),
  untagged: z.array(z.object({ repository: z.string(), digest: z.string() })),
  retained: z.number().int(),
});
export const RetentionRun = z.object({
  id: z.number().int(),
  project: z.string(),
  trigger: z.string(),
  dryRun: z.boolean(),
  status: z.string(),
  startedAt: time,
  finishedAt: nullableTime,
  result: z.unknown(),
  error: z.string().nullable(),
});
export const GcRun = z.object({
  id: z.number().int(),
  trigger: z.string(),
  dryRun: z.boolean(),
  status: z.enum(['running', 'succeeded', 'failed']),
  startedAt: time,
  finishedAt: nullableTime,
  progress: z.object({ phase: z.string(), done: z.number().int(), total: z.number().int() }).nullable(),
  result: Setting.nullable(),
  error: z.string().nullable(),
});
export const GcRuns = pageOf(GcRun).extend({ schedule: nullableTime });
export const TrashEntry = z.object({
  id: z.number().int(),
  runId: z.number().int(),
  project: z.string(),
  repository: z.string(),
  tag: z.string().nullable(),
  digest: z.string(),
  removedAt: time,
  expiresAt: time,
  restoredAt: nullableTime,
});
export const RestoreResult = z.object({ restored: z.array(TrashEntry), skipped: z.array(z.object({ entry: TrashEntry, reason: z.string() })) });

export const Problem = z.object({ type: z.string(), title: z.string(), status: z.number().int(), code: z.string(), detail: z.string().optional() });
