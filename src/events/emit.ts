/**
 * The one way to emit an event: append it to the outbox inside the transaction of the change
 * that causes it, so it exists exactly when the change does (a rolled-back change emits
 * nothing; a committed one cannot lose its event to a crash). Consumers (webhooks,
 * replication, the audit log) read the outbox through the dispatcher (dispatcher.ts).
 *
 * Later features emit their own events the same way, with a type from EVENT_TYPES:
 *
 *     await emitEvent(tx, { type: 'scan.completed', project, repository, data: { digest, summary } });
 */
import type { EventQueries } from '../metadata/event-store.js';

/** Events a webhook may subscribe to (the contract of POST .../webhooks `events`). */
export const WEBHOOK_EVENTS = ['artifact.pushed', 'artifact.deleted', 'tag.deleted', 'artifact.pulled', 'scan.completed', 'replication.completed', 'quota.warning'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/**
 * Every event type written to the outbox: the webhook events, blob mounts, and `audit.<action>`
 * for each audit log entry (administrative changes and request events).
 */
export type EventType = WebhookEvent | 'blob.mounted' | `audit.${string}`;

export interface EmitInput {
  type: EventType;
  project?: string | null;
  repository?: string | null;
  actor?: string | null;
  data: Record<string, unknown>;
  at?: number;
}

/** Appends `e` to the outbox in `tx` (any transaction of the metadata or auth store). Returns the event id. */
export function emitEvent(tx: { events: EventQueries }, e: EmitInput, now: () => number = Date.now): Promise<number> {
  return tx.events.append({ at: e.at ?? now(), type: e.type, project: e.project ?? null, repository: e.repository ?? null, actor: e.actor ?? null, data: e.data });
}

/** Appends several events in `tx` at once (a batch of audit entries), in order. */
export function emitEvents(tx: { events: EventQueries }, es: EmitInput[], now: () => number = Date.now): Promise<void> {
  const at = now();
  return tx.events.appendAll(es.map((e) => ({ at: e.at ?? at, type: e.type, project: e.project ?? null, repository: e.repository ?? null, actor: e.actor ?? null, data: e.data })));
}

/** The project of a repository name (its first path component). */
export function projectOf(repository: string): string {
  const i = repository.indexOf('/');
  return i < 0 ? repository : repository.slice(0, i);
}
