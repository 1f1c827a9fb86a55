/**
 * Webhook delivery. The outbox consumer (`webhookConsumer`) turns each event into one
 * delivery row per matching subscription, with the exact body to send (so a retry or a
 * redelivery sends the same bytes under the same `webhook-id`), and enqueues a
 * `webhook.deliver` job in the dispatcher's transaction.
 *
 * Ordering per subscription: the deliveries of a subscription form a queue by id, and only its
 * head is ever attempted. `drain` holds the subscription's lease (one drainer per subscription
 * across the cluster), sends the head, and moves on only once the head is delivered or given
 * up; a failed head waits for its backoff (a job scheduled for then), holding back those
 * behind it. A job that finds the lease held leaves the work to the holder, which looks at the
 * queue once more after letting the lease go, so a delivery added meanwhile is never stranded;
 * and schedules itself again for when that lease runs out, in case its holder was killed.
 *
 * Failure: retried with exponential backoff (webhooks.retryBaseMs doubling to retryMaxMs) for
 * webhooks.retryForSeconds, then given up; after webhooks.disableAfterFailures deliveries in a
 * row were given up, the subscription is disabled with an audit entry.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import type { KeySealer } from '../auth/key-sealing.js';
import type { Leases } from '../lifecycle/lease.js';
import type { DeliveryRecord, WebhookRecord } from '../metadata/event-store.js';
import type { MetadataQueries, MetadataStore } from '../metadata/store.js';
import type { EventConsumer } from './dispatcher.js';
import { checkLiteralHost, guardedLookup } from './outbound.js';
import { sign, webhookBody, webhookEventOf } from './webhook-payloads.js';

export interface WebhookSettings {
  allowPrivateNetworks: boolean;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  retryForMs: number;
  disableAfterFailures: number;
}

/** Attempts of one `webhook.deliver` job (each a lease check; the real retries are the deliveries' own). */
export const DELIVER_JOB_ATTEMPTS = 10;

/**
 * How long a subscription's drain lease lasts unrenewed (its holder renews it every third of
 * this while it works): a node killed while draining holds the subscription's deliveries back
 * this long when another of its delivery jobs is waiting; the job the node was running is taken
 * over only when that job's own lease (jobs.leaseSeconds) runs out.
 */
const DRAIN_LEASE_MS = 10_000;

export function webhookConsumer(): EventConsumer {
  // The subscriptions of a project, read once per dispatcher transaction (a batch of hundreds
  // of pulls would otherwise read the same rows once per event); nothing in that transaction
  // changes them.
  const subscriptions = new WeakMap<object, Map<string | null, Promise<WebhookRecord[]>>>();
  const enabledFor = (tx: MetadataQueries, project: string | null) => {
    let byProject = subscriptions.get(tx);
    if (!byProject) subscriptions.set(tx, (byProject = new Map()));
    let list = byProject.get(project);
    if (!list) byProject.set(project, (list = tx.webhooks.enabledFor(project)));
    return list;
  };
  return {
    name: 'webhooks',
    async take(tx, event, now) {
      const name = webhookEventOf(event);
      if (name === undefined) return;
      for (const w of await enabledFor(tx, event.project)) {
        if (!w.events.includes(name)) continue;
        const id = await tx.webhooks.addDelivery({ webhookId: w.id, eventId: event.id, eventType: name, messageId: `msg_${event.id}_${w.id}`, body: webhookBody(w.format, name, event) }, now);
        await tx.jobs.enqueue({ kind: 'webhook.deliver', payload: { webhook: w.id }, maxAttempts: DELIVER_JOB_ATTEMPTS, runAt: now, dedupeKey: `webhook:${w.id}:${id}` }, now);
      }
    },
  };
}

export interface AttemptResult {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
}

const EXCERPT_BYTES = 1024;

export class WebhookDeliverer {
  private readonly draining = new Set<number>();

  constructor(
    private readonly store: MetadataStore,
    private readonly leases: Leases,
    private readonly audit: AuditLog,
    private readonly settings: WebhookSettings,
    /** Opens the sealed signing secrets. */
    private readonly sealer: KeySealer,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Delivers the subscription's due deliveries in order (see the note at the top). */
  async drain(webhookId: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      // The lease keeps other nodes off; `draining` keeps this process's other jobs off (they share its lease holder).
      if (this.draining.has(webhookId)) return;
      this.draining.add(webhookId);
      let held: { value: void } | undefined;
      try {
        held = await this.leases.with(`webhook:${webhookId}`, DRAIN_LEASE_MS, () => this.drainHeld(webhookId, signal));
      } finally {
        this.draining.delete(webhookId);
      }
      if (signal.aborted) return;
      if (held === undefined) {
        // Another holder delivers what is due and looks again when it lets go. A holder that
        // was killed never does: look again when its lease runs out (a live holder renews it,
        // and the job then finds it held again and waits for the new end).
        const lease = await this.leases.holderOf(`webhook:${webhookId}`);
        if (!lease) continue; // let go meanwhile: try again now
        await this.drainAt(webhookId, lease.expiresAt + 1, `lease:${lease.expiresAt}`);
        return;
      }
      // Look once more after letting go: a delivery may have arrived while a job found us busy.
      const head = await this.store.webhooks.head(webhookId);
      const w = await this.store.webhooks.get(webhookId);
      if (!head || !w?.enabled || head.nextAttemptAt > this.now()) return;
    }
  }

  private async drainHeld(webhookId: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const w = await this.store.webhooks.get(webhookId);
      if (!w || !w.enabled) return;
      const d = await this.store.webhooks.head(webhookId);
      if (!d) return;
      if (d.nextAttemptAt > this.now()) {
        // The head is backing off: wake up then (one job per attempt).
        await this.drainAt(webhookId, d.nextAttemptAt, `${d.id}:retry${d.attempts}`);
        return;
      }
      await this.deliver(w, d, signal);
    }
  }

  /** A job that drains the subscription at `runAt`; one per `reason` (a retry, a lease's end). */
  private async drainAt(webhookId: number, runAt: number, reason: string): Promise<void> {
    await this.store.jobs.enqueue({ kind: 'webhook.deliver', payload: { webhook: webhookId }, maxAttempts: DELIVER_JOB_ATTEMPTS, runAt, dedupeKey: `webhook:${webhookId}:${reason}` }, this.now());
  }

  /** One attempt of the head delivery `d`, and what follows from its outcome. */
  private async deliver(w: WebhookRecord, d: DeliveryRecord, signal: AbortSignal): Promise<void> {
    const r = await this.post(w, d, signal);
    const now = this.now();
    const attempts = d.attempts + 1;
    const base = { attempts, responseStatus: r.status, latencyMs: r.latencyMs, responseExcerpt: r.excerpt, error: r.error };
    if (r.ok) {
      await this.store.transaction(async (tx) => {
        await tx.webhooks.recordAttempt(d.id, { ...base, status: 'delivered', nextAttemptAt: now }, now);
        if (w.failedDeliveries > 0) await tx.webhooks.update(w.id, { failedDeliveries: 0 }, now);
      });
      return;
    }
    const giveUp = now - d.createdAt >= this.settings.retryForMs;
    if (!giveUp) {
      const delay = Math.min(this.settings.retryMaxMs, this.settings.retryBaseMs * 2 ** (attempts - 1));
      await this.store.webhooks.recordAttempt(d.id, { ...base, status: 'pending', nextAttemptAt: now + delay }, now);
      this.logger.warn({ webhook: w.id, delivery: d.id, attempts, status: r.status, err: r.error }, 'webhook delivery failed; will retry');
      return;
    }
    const failures = w.failedDeliveries + 1;
    const disable = failures >= this.settings.disableAfterFailures;
    const reason = `disabled after ${failures} deliveries in a row failed (last: ${r.error ?? `HTTP ${r.status}`})`;
    await this.store.transaction(async (tx) => {
      await tx.webhooks.recordAttempt(d.id, { ...base, status: 'failed', nextAttemptAt: now }, now);
      await tx.webhooks.update(w.id, disable ? { failedDeliveries: failures, enabled: false, disabledReason: reason } : { failedDeliveries: failures }, now);
    });
    this.logger.warn({ webhook: w.id, delivery: d.id, attempts, disabled: disable }, 'webhook delivery given up');
    if (disable) {
      this.audit.record({ actor: 'system', action: 'webhook.disable', resource: `webhook:${w.id}`, project: w.project, result: 'success', detail: { reason, url: w.url } });
      await this.audit.flush();
    }
  }

  /** POSTs the delivery's body, signed, and reports the outcome (never throws). */
  post(w: Pick<WebhookRecord, 'url' | 'secret' | 'format'>, d: Pick<DeliveryRecord, 'messageId' | 'body'>, signal: AbortSignal): Promise<AttemptResult> {
    const { url, secret, format } = w;
    const started = performance.now();
    const done = (r: Omit<AttemptResult, 'latencyMs'>): AttemptResult => ({ ...r, latencyMs: Math.round(performance.now() - started) });
    return new Promise<AttemptResult>((resolve) => {
      let u: URL;
      try {
        u = new URL(url);
        checkLiteralHost(u, this.settings.allowPrivateNetworks);
      } catch (e) {
        resolve(done({ ok: false, status: null, excerpt: null, error: (e as Error).message }));
        return;
      }
      const ts = Math.floor(this.now() / 1000);
      const body = Buffer.from(d.body);
      const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
        u,
        {
          method: 'POST',
          lookup: guardedLookup(this.settings.allowPrivateNetworks),
          timeout: this.settings.timeoutMs,
          signal,
          headers: {
            'content-type': format === 'cloudevents' ? 'application/cloudevents+json' : 'application/json',
            'content-length': body.length,
            'user-agent': 'Berth-Webhooks/1',
            'webhook-id': d.messageId,
            'webhook-timestamp': String(ts),
            'webhook-signature': sign(this.sealer.open(secret), d.messageId, ts, d.body),
          },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let n = 0;
          res.on('data', (c: Buffer) => {
            if (n < EXCERPT_BYTES) chunks.push(c.subarray(0, EXCERPT_BYTES - n));
            n += c.length;
          });
          res.on('error', () => {});
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            resolve(done({ ok: status >= 200 && status < 300, status, excerpt: Buffer.concat(chunks).toString('utf8'), error: status >= 200 && status < 300 ? null : `HTTP ${status}` }));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.settings.timeoutMs} ms`)));
      req.on('error', (e) => resolve(done({ ok: false, status: null, excerpt: null, error: e.message })));
      req.end(body);
    });
  }
}
