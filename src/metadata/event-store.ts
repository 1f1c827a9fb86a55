/**
 * Query groups of events, webhooks and replication (the tables of migration 0009-events).
 * They hold no rules: the outbox's consumers (src/events/), the webhook services and the
 * replication engine decide; these only read and write rows, on whatever connection they
 * were built over (inside a transaction, the transaction's). Contract suite:
 * test/suites/event-store.case.ts.
 */

/** A row of the outbox: one change that happened (committed with it). */
export interface EventRecord {
  id: number;
  at: number;
  /** `artifact.pushed`, `tag.deleted`, `audit.project.create`, ... */
  type: string;
  project: string | null;
  repository: string | null;
  actor: string | null;
  data: Record<string, unknown>;
}

export type NewEvent = Omit<EventRecord, 'id'>;

export interface EventQueries {
  /** Appends an event to the outbox; returns its id (ids grow in commit order on SQLite, in insert order on PostgreSQL). */
  append(event: NewEvent): Promise<number>;
  /** Appends many events in one statement per few hundred (in the given order); for batches whose ids nobody needs. */
  appendAll(events: NewEvent[]): Promise<void>;
  /** Events with id greater than `after`, in id order, at most `limit`. */
  after(after: number, limit: number): Promise<EventRecord[]>;
  /** The consumer's position (the last event id it took); 0 when it has none yet. */
  cursor(consumer: string): Promise<number>;
  /**
   * Moves the consumer's position from `from` to `to`: false (and nothing changed) when it
   * was not at `from`, so two dispatchers racing over the same events cannot both advance.
   */
  advance(consumer: string, from: number, to: number, now: number): Promise<boolean>;
  /** Deletes events older than `at` whose id is at most `upTo` (behind every cursor); the count removed. */
  prune(at: number, upTo: number): Promise<number>;
}

export type WebhookFormat = 'cloudevents' | 'harbor';

export interface WebhookRecord {
  id: number;
  /** Null for a system-wide subscription. */
  project: string | null;
  url: string;
  events: string[];
  secret: string;
  format: WebhookFormat;
  enabled: boolean;
  disabledReason: string | null;
  /** Consecutive deliveries given up on. */
  failedDeliveries: number;
  createdAt: number;
  updatedAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  id: number;
  webhookId: number;
  eventId: number | null;
  eventType: string;
  messageId: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  responseStatus: number | null;
  latencyMs: number | null;
  responseExcerpt: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookQueries {
  insert(w: { project: string | null; url: string; events: string[]; secret: string; format: WebhookFormat }, now: number): Promise<WebhookRecord>;
  get(id: number): Promise<WebhookRecord | undefined>;
  /** Subscriptions of a project (null: the system-wide ones), by id. */
  list(project: string | null): Promise<WebhookRecord[]>;
  /** Enabled subscriptions that receive events of `project`: the project's and the system-wide ones. */
  enabledFor(project: string | null): Promise<WebhookRecord[]>;
  /** Whether any enabled subscription, of any project or system-wide, receives `event`. */
  anySubscribed(event: string): Promise<boolean>;
  /** False when absent. */
  update(id: number, changes: { url?: string; events?: string[]; secret?: string; format?: WebhookFormat; enabled?: boolean; disabledReason?: string | null; failedDeliveries?: number }, now: number): Promise<boolean>;
  /** Deletes the subscription and its delivery log; false when absent. */
  delete(id: number): Promise<boolean>;
  addDelivery(d: { webhookId: number; eventId: number | null; eventType: string; messageId: string; body: string }, now: number): Promise<number>;
  delivery(id: number): Promise<DeliveryRecord | undefined>;
  /** The subscription's oldest pending delivery (the head of its ordered queue). */
  head(webhookId: number): Promise<DeliveryRecord | undefined>;
  /** The delivery log of a subscription, newest first, ids below `before`, at most `limit`. */
  deliveries(webhookId: number, before: number | undefined, limit: number): Promise<DeliveryRecord[]>;
  /** Records an attempt's outcome. */
  recordAttempt(id: number, r: { status: DeliveryStatus; attempts: number; nextAttemptAt: number; responseStatus: number | null; latencyMs: number | null; responseExcerpt: string | null; error: string | null }, now: number): Promise<void>;
}

export interface ReplicationTargetRecord {
  name: string;
  url: string;
  username: string | null;
  password: string | null;
  insecure: boolean;
  createdAt: number;
}

export interface ReplicationPolicyRecord {
  name: string;
  target: string;
  direction: 'push' | 'pull';
  repositories: string[];
  tags: string[];
  trigger: 'event' | 'manual' | 'cron';
  schedule: string | null;
  options: Record<string, unknown>;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface ReplicationRunRecord {
  id: number;
  policy: string;
  trigger: string;
  /** The artifact an event-triggered run copies (null: every match of the policy). */
  scope: { repository: string; reference: string; deleted?: boolean } | null;
  status: RunStatus;
  startedAt: number;
  finishedAt: number | null;
  summary: Record<string, unknown> | null;
  error: string | null;
}

export interface ReplicationItemRecord {
  artifact: string;
  digest: string | null;
  status: 'copied' | 'skipped' | 'failed' | 'deleted';
  bytes: number;
  error: string | null;
  at: number;
}

export interface ReplicationQueries {
  /** Throws ConflictError when the name is taken. */
  insertTarget(t: Omit<ReplicationTargetRecord, 'createdAt'>, now: number): Promise<void>;
  target(name: string): Promise<ReplicationTargetRecord | undefined>;
  targets(): Promise<ReplicationTargetRecord[]>;
  /** False when absent; throws ConflictError while a policy uses it. */
  deleteTarget(name: string): Promise<boolean>;
  /** Throws ConflictError when the name is taken. */
  insertPolicy(p: Omit<ReplicationPolicyRecord, 'createdAt' | 'updatedAt'>, now: number): Promise<void>;
  policy(name: string): Promise<ReplicationPolicyRecord | undefined>;
  /** Every policy, or those of one trigger, by name. */
  policies(trigger?: ReplicationPolicyRecord['trigger']): Promise<ReplicationPolicyRecord[]>;
  deletePolicy(name: string): Promise<boolean>;
  createRun(r: { policy: string; trigger: string; scope: ReplicationRunRecord['scope'] }, now: number): Promise<number>;
  run(id: number): Promise<ReplicationRunRecord | undefined>;
  /** Runs of a policy, newest first, at most `limit`. */
  runs(policy: string, limit: number): Promise<ReplicationRunRecord[]>;
  /** Sets the status (and the finish time for an end state); `onlyFrom` makes it conditional. False when nothing changed. */
  setRunStatus(id: number, status: RunStatus, r: { summary?: Record<string, unknown>; error?: string | null; onlyFrom?: RunStatus[] }, now: number): Promise<boolean>;
  addItem(runId: number, item: ReplicationItemRecord): Promise<void>;
  items(runId: number, limit: number): Promise<ReplicationItemRecord[]>;
}
