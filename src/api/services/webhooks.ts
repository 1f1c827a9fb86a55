/**
 * Webhook subscriptions, per project (maintainers) or system-wide (admins): create (the
 * secret, generated unless given, is returned once), change, enable again, delete, the
 * delivery log, manual redelivery and a test ping. URLs are checked against the SSRF guard
 * (src/events/outbound.ts) here and again at every delivery. Secrets are stored sealed with
 * the key-encryption key (src/auth/key-sealing.ts).
 */
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../../audit/audit-log.js';
import type { KeySealer } from '../../auth/key-sealing.js';
import { WEBHOOK_EVENTS } from '../../events/emit.js';
import { BlockedAddressError, checkUrl } from '../../events/outbound.js';
import { DELIVER_JOB_ATTEMPTS } from '../../events/webhooks.js';
import { webhookBody } from '../../events/webhook-payloads.js';
import { ProblemError } from '../../errors/problem.js';
import type { AuthStore } from '../../metadata/auth-store.js';
import type { DeliveryRecord, WebhookFormat, WebhookRecord } from '../../metadata/event-store.js';
import type { MetadataStore } from '../../metadata/store.js';
import { principalName, type Principal } from '../../policy/principal.js';

/** null: the system-wide subscriptions. */
export type WebhookScope = string | null;

export interface WebhookView {
  id: number;
  project: string | null;
  url: string;
  events: string[];
  format: WebhookFormat;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
}

export interface DeliveryView {
  id: number;
  eventId: number | null;
  event: string;
  messageId: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  responseStatus: number | null;
  latencyMs: number | null;
  responseExcerpt: string | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookInput {
  url: string;
  events: string[];
  secret?: string | undefined;
  format?: WebhookFormat | undefined;
}

function view(w: WebhookRecord): WebhookView {
  return { id: w.id, project: w.project, url: w.url, events: w.events, format: w.format, enabled: w.enabled, disabledReason: w.disabledReason, createdAt: new Date(w.createdAt).toISOString() };
}

function deliveryView(d: DeliveryRecord): DeliveryView {
  return {
    id: d.id,
    eventId: d.eventId,
    event: d.eventType,
    messageId: d.messageId,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? new Date(d.nextAttemptAt).toISOString() : null,
    responseStatus: d.responseStatus,
    latencyMs: d.latencyMs,
    responseExcerpt: d.responseExcerpt,
    error: d.error,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

export class WebhookService {
  constructor(
    private readonly meta: MetadataStore,
    private readonly auth: AuthStore,
    private readonly audit: AuditLog,
    private readonly allowPrivateNetworks: boolean,
    /** Seals signing secrets at rest (auth.keyEncryptionKey), like the token signing keys. */
    private readonly sealer: KeySealer,
    /** Announces a committed change of subscriptions to every process (src/events/pull-events.ts). */
    private readonly changed: () => Promise<void> = async () => {},
    private readonly now: () => number = Date.now,
  ) {}

  async list(scope: WebhookScope): Promise<WebhookView[]> {
    await this.requireScope(scope);
    return (await this.meta.webhooks.list(scope)).map(view);
  }

  async get(scope: WebhookScope, id: number): Promise<WebhookView> {
    return view(await this.find(scope, id));
  }

  async create(caller: Principal, scope: WebhookScope, input: WebhookInput, address: string): Promise<WebhookView & { secret: string }> {
    await this.requireScope(scope);
    const url = await this.checkedUrl(input.url);
    const events = this.checkedEvents(input.events);
    const secret = input.secret ?? `whsec_${randomBytes(24).toString('base64')}`;
    const w = await this.meta.webhooks.insert({ project: scope, url, events, secret: this.sealer.seal(secret), format: input.format ?? 'cloudevents' }, this.now());
    await this.changed();
    this.audit.record({ actor: principalName(caller), action: 'webhook.create', resource: `webhook:${w.id}`, project: scope, result: 'success', sourceAddress: address, detail: { url, events, format: w.format } });
    return { ...view(w), secret };
  }

  async update(caller: Principal, scope: WebhookScope, id: number, input: Partial<WebhookInput> & { enabled?: boolean | undefined }, address: string): Promise<WebhookView> {
    const w = await this.find(scope, id);
    const changes: Parameters<MetadataStore['webhooks']['update']>[1] = {};
    if (input.url !== undefined) changes.url = await this.checkedUrl(input.url);
    if (input.events !== undefined) changes.events = this.checkedEvents(input.events);
    if (input.secret !== undefined) changes.secret = this.sealer.seal(input.secret);
    if (input.format !== undefined) changes.format = input.format;
    if (input.enabled !== undefined) {
      changes.enabled = input.enabled;
      if (input.enabled) Object.assign(changes, { disabledReason: null, failedDeliveries: 0 });
    }
    await this.meta.transaction(async (tx) => {
      await tx.webhooks.update(id, changes, this.now());
      // Enabled again: its held-back deliveries go out.
      if (input.enabled && !w.enabled) await this.wake(tx, id, `enable:${this.now()}`);
    });
    await this.changed();
    this.audit.record({ actor: principalName(caller), action: 'webhook.update', resource: `webhook:${id}`, project: scope, result: 'success', sourceAddress: address, detail: { ...changes, secret: changes.secret ? '(changed)' : undefined } });
    return view((await this.meta.webhooks.get(id))!);
  }

  async delete(caller: Principal, scope: WebhookScope, id: number, address: string): Promise<void> {
    await this.find(scope, id);
    await this.meta.webhooks.delete(id);
    await this.changed();
    this.audit.record({ actor: principalName(caller), action: 'webhook.delete', resource: `webhook:${id}`, project: scope, result: 'success', sourceAddress: address });
  }

  async deliveries(scope: WebhookScope, id: number, before: number | undefined, limit: number): Promise<DeliveryView[]> {
    await this.find(scope, id);
    return (await this.meta.webhooks.deliveries(id, before, limit)).map(deliveryView);
  }

  /** Sends a logged delivery again (same body and webhook-id), after the subscription's pending ones. */
  async redeliver(caller: Principal, scope: WebhookScope, id: number, deliveryId: number, address: string): Promise<DeliveryView> {
    await this.find(scope, id);
    const d = await this.meta.webhooks.delivery(deliveryId);
    if (!d || d.webhookId !== id) throw new ProblemError('NOT_FOUND', `delivery ${deliveryId} of webhook ${id} does not exist`);
    const created = await this.meta.transaction(async (tx) => {
      const nid = await tx.webhooks.addDelivery({ webhookId: id, eventId: d.eventId, eventType: d.eventType, messageId: d.messageId, body: d.body }, this.now());
      await this.wake(tx, id, `d${nid}`);
      return nid;
    });
    this.audit.record({ actor: principalName(caller), action: 'webhook.redeliver', resource: `webhook:${id}`, project: scope, result: 'success', sourceAddress: address, detail: { delivery: deliveryId, as: created } });
    return deliveryView((await this.meta.webhooks.delivery(created))!);
  }

  /** Queues a `ping` delivery (CloudEvents type `berth.ping`) to test the receiver. */
  async ping(caller: Principal, scope: WebhookScope, id: number, address: string): Promise<DeliveryView> {
    const w = await this.find(scope, id);
    const at = this.now();
    const body = webhookBody(w.format, 'ping', { id: 0, at, type: 'ping', project: w.project, repository: null, actor: principalName(caller), data: { webhook: id } }, `ping-${id}-${at}`);
    const created = await this.meta.transaction(async (tx) => {
      const nid = await tx.webhooks.addDelivery({ webhookId: id, eventId: null, eventType: 'ping', messageId: `msg_ping_${id}_${at}`, body }, at);
      await this.wake(tx, id, `d${nid}`);
      return nid;
    });
    this.audit.record({ actor: principalName(caller), action: 'webhook.ping', resource: `webhook:${id}`, project: scope, result: 'success', sourceAddress: address });
    return deliveryView((await this.meta.webhooks.delivery(created))!);
  }

  private wake(tx: Pick<MetadataStore, 'jobs'>, id: number, key: string): Promise<unknown> {
    return tx.jobs.enqueue({ kind: 'webhook.deliver', payload: { webhook: id }, maxAttempts: DELIVER_JOB_ATTEMPTS, runAt: this.now(), dedupeKey: `webhook:${id}:${key}` }, this.now());
  }

  private async requireScope(scope: WebhookScope): Promise<void> {
    if (scope !== null && !(await this.auth.projects.get(scope))) throw new ProblemError('NOT_FOUND', `project ${scope} does not exist`);
  }

  private async find(scope: WebhookScope, id: number): Promise<WebhookRecord> {
    const w = await this.meta.webhooks.get(id);
    if (!w || w.project !== scope) throw new ProblemError('NOT_FOUND', `webhook ${id} does not exist${scope === null ? ' (system-wide)' : ` in project ${scope}`}`);
    return w;
  }

  private async checkedUrl(url: string): Promise<string> {
    try {
      return (await checkUrl(url, this.allowPrivateNetworks)).toString();
    } catch (e) {
      if (e instanceof BlockedAddressError) throw new ProblemError('FORBIDDEN', e.message);
      throw new ProblemError('INVALID', `url: ${(e as Error).message}`);
    }
  }

  private checkedEvents(events: string[]): string[] {
    const bad = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (events.length === 0 || bad.length > 0) throw new ProblemError('INVALID', `events must be a non-empty list of ${WEBHOOK_EVENTS.join(', ')}${bad.length ? ` (not ${bad.join(', ')})` : ''}`);
    return [...new Set(events)];
  }
}
