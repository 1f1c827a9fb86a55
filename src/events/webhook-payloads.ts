/**
 * What a webhook receives: the outbox event as a CloudEvents 1.0 structured-mode JSON document
 * (`type` is `berth.<event name>`), or Harbor's webhook payload for receivers written for
 * Harbor; and the Standard Webhooks signature over it
 * (`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`).
 */
import { createHmac } from 'node:crypto';
import type { EventRecord, WebhookFormat } from '../metadata/event-store.js';

/** The webhook event name of an outbox event, or undefined when webhooks never see it. */
export function webhookEventOf(e: Pick<EventRecord, 'type' | 'data'>): string | undefined {
  if (e.type === 'audit.pull') return e.data.result === 'success' ? 'artifact.pulled' : undefined;
  if (e.type.startsWith('audit.') || e.type === 'blob.mounted') return undefined;
  return e.type;
}

function subjectOf(e: EventRecord): string | undefined {
  const d = e.data;
  if (e.repository && typeof d.tag === 'string') return `${e.repository}:${d.tag}`;
  if (e.repository && typeof d.digest === 'string') return `${e.repository}@${d.digest}`;
  // An audit event (a pull) names what it touched as its resource, `repo:reference`.
  if (e.type.startsWith('audit.') && typeof d.resource === 'string') return d.resource;
  return e.repository ?? undefined;
}

/** The body of a delivery, as sent (and signed). */
export function webhookBody(format: WebhookFormat, name: string, e: EventRecord, cloudEventId: string = String(e.id)): string {
  if (format === 'harbor') return JSON.stringify(harbor(name, e));
  const subject = subjectOf(e);
  return JSON.stringify({
    specversion: '1.0',
    id: cloudEventId,
    source: e.project ? `/projects/${e.project}` : '/system',
    type: `berth.${name}`,
    ...(subject !== undefined ? { subject } : {}),
    time: new Date(e.at).toISOString(),
    datacontenttype: 'application/json',
    data: { project: e.project, repository: e.repository, actor: e.actor, ...e.data },
  });
}

const HARBOR_TYPES: Record<string, string> = {
  'artifact.pushed': 'PUSH_ARTIFACT',
  'artifact.deleted': 'DELETE_ARTIFACT',
  'tag.deleted': 'DELETE_ARTIFACT',
  'artifact.pulled': 'PULL_ARTIFACT',
  'scan.completed': 'SCANNING_COMPLETED',
  'replication.completed': 'REPLICATION',
  'quota.warning': 'QUOTA_WARNING',
  ping: 'PING',
};

function harbor(name: string, e: EventRecord) {
  const repo = e.repository ?? '';
  const i = repo.indexOf('/');
  const d = e.data;
  const tag = typeof d.tag === 'string' ? d.tag : undefined;
  const digest = typeof d.digest === 'string' ? d.digest : undefined;
  return {
    type: HARBOR_TYPES[name] ?? name.toUpperCase().replace(/\./g, '_'),
    occur_at: Math.floor(e.at / 1000),
    operator: e.actor ?? 'system',
    event_data: {
      resources: repo ? [{ ...(digest ? { digest } : {}), ...(tag ? { tag } : {}), resource_url: `${repo}${tag ? `:${tag}` : digest ? `@${digest}` : ''}` }] : [],
      repository: repo ? { date_created: Math.floor(e.at / 1000), name: i < 0 ? repo : repo.slice(i + 1), namespace: e.project ?? '', repo_full_name: repo, repo_type: 'private' } : undefined,
      custom_attributes: e.data,
    },
  };
}

/** The signing key of a secret: `whsec_<base64>` is the Standard Webhooks form; any other string is used as raw UTF-8 bytes. */
export function secretKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` header value of one attempt. */
export function sign(secret: string, messageId: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', secretKey(secret)).update(`${messageId}.${timestampSeconds}.${body}`).digest('base64')}`;
}
