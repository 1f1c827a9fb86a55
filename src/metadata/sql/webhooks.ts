/** Webhook subscriptions and their delivery log (see ../event-store.ts). */
import type { Kysely, Selectable } from 'kysely';
import type { DeliveryRecord, DeliveryStatus, WebhookFormat, WebhookQueries, WebhookRecord } from '../event-store.js';
import type { WebhookDeliveriesTable, WebhooksTable } from '../event-tables.js';
import type { Database } from '../tables.js';

function toWebhook(r: Selectable<WebhooksTable>): WebhookRecord {
  return {
    id: Number(r.id),
    project: r.project,
    url: r.url,
    events: JSON.parse(r.events) as string[],
    secret: r.secret,
    format: r.format as WebhookFormat,
    enabled: Number(r.enabled) === 1,
    disabledReason: r.disabled_reason,
    failedDeliveries: Number(r.failed_deliveries),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function toDelivery(r: Selectable<WebhookDeliveriesTable>): DeliveryRecord {
  return {
    id: Number(r.id),
    webhookId: Number(r.webhook_id),
    eventId: r.event_id === null ? null : Number(r.event_id),
    eventType: r.event_type,
    messageId: r.message_id,
    body: r.body,
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    responseStatus: r.response_status === null ? null : Number(r.response_status),
    latencyMs: r.latency_ms === null ? null : Number(r.latency_ms),
    responseExcerpt: r.response_excerpt,
    error: r.error,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export class SqlWebhooks implements WebhookQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(w: { project: string | null; url: string; events: string[]; secret: string; format: WebhookFormat }, now: number): Promise<WebhookRecord> {
    const row = await this.db
      .insertInto('webhooks')
      .values({ project: w.project, url: w.url, events: JSON.stringify(w.events), secret: w.secret, format: w.format, enabled: 1, disabled_reason: null, failed_deliveries: 0, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toWebhook(row);
  }

  async get(id: number): Promise<WebhookRecord | undefined> {
    const r = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toWebhook(r);
  }

  async list(project: string | null): Promise<WebhookRecord[]> {
    const q = this.db.selectFrom('webhooks').selectAll().orderBy('id');
    return (await (project === null ? q.where('project', 'is', null) : q.where('project', '=', project)).execute()).map(toWebhook);
  }

  async enabledFor(project: string | null): Promise<WebhookRecord[]> {
    const rows = await this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('enabled', '=', 1)
      .where((eb) => (project === null ? eb('project', 'is', null) : eb.or([eb('project', 'is', null), eb('project', '=', project)])))
      .orderBy('id')
      .execute();
    return rows.map(toWebhook);
  }

  async anySubscribed(event: string): Promise<boolean> {
    const rows = await this.db.selectFrom('webhooks').select('events').where('enabled', '=', 1).execute();
    return rows.some((r) => (JSON.parse(r.events) as string[]).includes(event));
  }

  async update(id: number, c: { url?: string; events?: string[]; secret?: string; format?: WebhookFormat; enabled?: boolean; disabledReason?: string | null; failedDeliveries?: number }, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('webhooks')
      .set({
        updated_at: now,
        ...(c.url !== undefined ? { url: c.url } : {}),
        ...(c.events !== undefined ? { events: JSON.stringify(c.events) } : {}),
        ...(c.secret !== undefined ? { secret: c.secret } : {}),
        ...(c.format !== undefined ? { format: c.format } : {}),
        ...(c.enabled !== undefined ? { enabled: c.enabled ? 1 : 0 } : {}),
        ...(c.disabledReason !== undefined ? { disabled_reason: c.disabledReason } : {}),
        ...(c.failedDeliveries !== undefined ? { failed_deliveries: c.failedDeliveries } : {}),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: number): Promise<boolean> {
    await this.db.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
    const r = await this.db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async addDelivery(d: { webhookId: number; eventId: number | null; eventType: string; messageId: string; body: string }, now: number): Promise<number> {
    const row = await this.db
      .insertInto('webhook_deliveries')
      .values({ webhook_id: d.webhookId, event_id: d.eventId, event_type: d.eventType, message_id: d.messageId, body: d.body, status: 'pending', attempts: 0, next_attempt_at: now, created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async delivery(id: number): Promise<DeliveryRecord | undefined> {
    const r = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toDelivery(r);
  }

  async head(webhookId: number): Promise<DeliveryRecord | undefined> {
    const r = await this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).where('status', '=', 'pending').orderBy('id').limit(1).executeTakeFirst();
    return r && toDelivery(r);
  }

  async deliveries(webhookId: number, before: number | undefined, limit: number): Promise<DeliveryRecord[]> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('id', 'desc').limit(limit);
    if (before !== undefined) q = q.where('id', '<', before);
    return (await q.execute()).map(toDelivery);
  }

  async recordAttempt(id: number, r: { status: DeliveryStatus; attempts: number; nextAttemptAt: number; responseStatus: number | null; latencyMs: number | null; responseExcerpt: string | null; error: string | null }, now: number): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status: r.status, attempts: r.attempts, next_attempt_at: r.nextAttemptAt, response_status: r.responseStatus, latency_ms: r.latencyMs, response_excerpt: r.responseExcerpt, error: r.error, updated_at: now })
      .where('id', '=', id)
      .execute();
  }
}
