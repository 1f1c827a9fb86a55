/** Row types of the outbox, webhook and replication tables (migration 0009-events). */
import type { Generated } from 'kysely';

export interface EventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  project: string | null;
  repository: string | null;
  actor: string | null;
  /** JSON text. */
  data: string;
}

export interface EventCursorsTable {
  consumer: string;
  position: number;
  updated_at: number;
}

export interface WebhooksTable {
  id: Generated<number>;
  project: string | null;
  url: string;
  events: string;
  secret: string;
  format: string;
  enabled: number;
  disabled_reason: string | null;
  failed_deliveries: number;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: number;
  event_id: number | null;
  event_type: string;
  message_id: string;
  body: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  response_status: number | null;
  latency_ms: number | null;
  response_excerpt: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

export interface ReplicationTargetsTable {
  name: string;
  url: string;
  username: string | null;
  password: string | null;
  insecure: number;
  created_at: number;
}

export interface ReplicationPoliciesTable {
  name: string;
  target: string;
  direction: string;
  repositories: string;
  tags: string;
  trigger: string;
  schedule: string | null;
  options: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface ReplicationRunsTable {
  id: Generated<number>;
  policy: string;
  trigger: string;
  scope: string | null;
  status: string;
  started_at: number;
  finished_at: number | null;
  summary: string | null;
  error: string | null;
}

export interface ReplicationItemsTable {
  id: Generated<number>;
  run_id: number;
  artifact: string;
  digest: string | null;
  status: string;
  bytes: number;
  error: string | null;
  at: number;
}

export interface EventTables {
  events: EventsTable;
  event_cursors: EventCursorsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  replication_targets: ReplicationTargetsTable;
  replication_policies: ReplicationPoliciesTable;
  replication_runs: ReplicationRunsTable;
  replication_items: ReplicationItemsTable;
}
