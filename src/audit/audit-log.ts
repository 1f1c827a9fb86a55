/**
 * The audit log: who did what, when, from where, with what result. Every entry is also an
 * outbox event (`audit.<action>`, src/events/emit.ts; a pull only while a webhook consumes
 * pulls, see src/events/pull-events.ts), written in the same transaction as the audit row:
 * administrative changes in the transaction of the change (`recordIn`), request events (pulls,
 * pushes, logins) in a transaction started at once (those recorded while one is running go
 * together in the next: group commit). Under load (the last write carried BUSY_BATCH events or
 * more) the next write first gathers for GATHER_MS, so a registry answering thousands of pulls
 * a second writes a few large transactions rather than hundreds of small ones; a quiet one still
 * writes each event at once. `flush` and `query` end a gathering and wait for what is pending.
 * Identical pulls written together (same caller, source address, manifest reference and
 * outcome) are one entry whose detail carries their `count` and the last one's time (`lastAt`);
 * their outbox events stay one per pull. A client pulling the same tags over and over then
 * costs the database a row per tag per write, not per request.
 * Events older than the retention period are deleted hourly.
 *
 * What callers can make us write is bounded. Every event is a bounded summary: a long
 * resource is cut (saying how much was cut) and a large detail is replaced by a preview.
 * Events that callers without credentials cause (anonymous requests, failed logins, which
 * anyone can repeat at will) are admitted per source address and in total per minute; the
 * excess is dropped and counted, and one `audit.suppressed` event per minute records how
 * many were dropped and from where. A refused flood therefore costs a map update per
 * request, not a row.
 */
import type { AuditEvent, AuditFilter, AuditQueries, AuditRecord, AuthStore } from '../metadata/auth-store.js';
import type { EventQueries } from '../metadata/event-store.js';
import { emitEvents, type EmitInput } from '../events/emit.js';
import { GatheredEvents, type Gathering } from './gathered.js';

export type AuditInput = Omit<AuditEvent, 'at' | 'project' | 'sourceAddress' | 'detail'> & {
  project?: string | null;
  sourceAddress?: string | null;
  detail?: unknown;
  at?: number;
};

/** Longest resource kept, in characters; longest detail kept, as JSON characters. */
export const MAX_RESOURCE_CHARS = 512;
export const MAX_DETAIL_CHARS = 4096;
/** Addresses named one by one in a suppression summary (the rest are added up). */
const SUMMARY_ADDRESSES = 20;
const WINDOW_MS = 60_000;
/** Rows (and outbox events) in one transaction at most, so a large write never holds the single writer long. */
export const MAX_BATCH = 500;
/** Rows gathered for one write at most (a few MB); a gathering ends early when this many are pending. */
export const MAX_GATHERED = 10_000;
/**
 * A write that carried this many events means events arrive faster than transactions commit:
 * the log is busy, and gathers before the next write. Measured (bench/hot-ab.ts, manifest GETs
 * with a token, 32 connections): about 26 events per write without gathering; gathering 20 ms
 * took the server's CPU per pull from 125 to 103 µs, the transactions' commits, syncs and
 * checkpoints being shared by ten times as many rows. Gathering for a second lets the same
 * pulls repeated within it become one row each (gathered.ts). bench/audit-write.ts, 100,000
 * pulls at 10,000 a second into SQLite: 200 tags pulled over and over went from 20-24 to 4.7-5.2
 * µs of CPU per pull (2,300 rows); all-different pulls, one row each, from 24-25 to 19-21 µs.
 */
const BUSY_BATCH = 16;
const GATHER_MS = 1000;

export interface AuditOptions {
  retentionDays: number;
  /** How long a busy log gathers request events before its next write (GATHER_MS). */
  gatherMs?: number;
  /** Unauthenticated events admitted per source address per minute. */
  unauthenticatedPerMinute?: number;
  /** Unauthenticated events admitted per minute across all addresses. */
  unauthenticatedPerMinuteTotal?: number;
  /** Whether pulls need outbox events now (src/events/pull-events.ts); without it, always. */
  pullEvents?: () => Promise<boolean>;
}

/** A caller without verified credentials caused it: anonymous requests and failed logins. */
function unauthenticated(e: AuditInput): boolean {
  return e.actor === 'anonymous' || e.actor === '' || (e.action === 'login' && e.result === 'failure');
}

function boundedResource(resource: string): string {
  if (resource.length <= MAX_RESOURCE_CHARS) return resource;
  return `${resource.slice(0, MAX_RESOURCE_CHARS)}… (+${resource.length - MAX_RESOURCE_CHARS} characters)`;
}

/** A flat object of a few short primitive values is within MAX_DETAIL_CHARS without measuring it (every pull's detail is one). */
function obviouslySmall(detail: object): boolean {
  const values = Object.values(detail);
  return values.length <= 16 && values.every((v) => typeof v === 'number' || typeof v === 'boolean' || v === null || (typeof v === 'string' && v.length <= 128));
}

function boundedDetail(detail: unknown): unknown {
  if (detail === undefined || detail === null) return null;
  if (typeof detail === 'object' && !Array.isArray(detail) && Object.getPrototypeOf(detail) === Object.prototype && obviouslySmall(detail)) return detail;
  let json: string;
  try {
    json = JSON.stringify(detail) ?? 'null';
  } catch {
    return { unserializable: true };
  }
  if (json.length <= MAX_DETAIL_CHARS) return detail;
  return { truncated: true, characters: json.length, preview: json.slice(0, MAX_DETAIL_CHARS / 2) };
}

/** The outbox event of an audit entry: `audit.<action>`, with the entry as its data. */
function auditOutboxEvent(event: AuditEvent): EmitInput {
  return {
    type: `audit.${event.action}`,
    project: event.project,
    actor: event.actor,
    at: event.at,
    data: { resource: event.resource, result: event.result, sourceAddress: event.sourceAddress, detail: event.detail },
  };
}

export class AuditLog {
  /** Request events not yet written, and the write in progress. */
  private pending = new GatheredEvents();
  private writing: Promise<void> | undefined;
  /** The last write carried BUSY_BATCH events or more: the next one gathers first (even when the queue ran dry between them). */
  private busy = false;
  /** Ends the gathering under way (flush, a full batch). */
  private endGathering: (() => void) | undefined;
  /** Flushes waiting: no gathering starts while there are any. */
  private flushing = 0;
  /** The current minute of unauthenticated events: admitted per address and in total, and what was dropped. */
  private windowStart = 0;
  private admitted = new Map<string, number>();
  private admittedTotal = 0;
  private dropped = new Map<string, number>();
  private droppedTotal = 0;
  private readonly windowTimer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout;

  constructor(
    private readonly store: AuthStore,
    private readonly options: AuditOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.windowTimer = setInterval(() => this.rollWindow(), 1000);
    this.windowTimer.unref();
    this.retentionTimer = setInterval(() => void this.prune().catch(() => {}), 3600_000);
    this.retentionTimer.unref();
  }

  private event(e: AuditInput): AuditEvent {
    return {
      at: e.at ?? this.now(),
      actor: e.actor.slice(0, 256),
      action: e.action,
      resource: boundedResource(e.resource),
      project: e.project ?? null,
      result: e.result,
      sourceAddress: e.sourceAddress ?? null,
      detail: boundedDetail(e.detail),
    };
  }

  /** Queues a request event for the next write (see `write`); unauthenticated ones may be only counted. */
  record(e: AuditInput): void {
    if (unauthenticated(e) && !this.admit(e.sourceAddress ?? 'unknown')) return;
    this.write(this.event(e));
  }

  /**
   * Writes at once: the first event starts a transaction, and events recorded while it runs go
   * together in the next one (group commit), so a busy registry does not queue one write
   * transaction per request behind the single writer. Only a busy log waits (see BUSY_BATCH).
   */
  private write(event: AuditEvent): void {
    this.pending.add(event);
    if (this.pending.rows >= MAX_GATHERED) this.endGathering?.();
    this.writing ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.pending.rows > 0) {
      if (this.busy && this.flushing === 0 && this.pending.rows < MAX_GATHERED) await this.gather();
      const gathered = this.pending.take();
      this.busy = gathered.events >= BUSY_BATCH;
      await this.writeGathered(gathered);
    }
    this.writing = undefined;
  }

  /**
   * The gathered rows (identical pulls as one) and the events' own outbox events, in
   * transactions of up to MAX_BATCH of each. A transaction that fails loses its share only.
   */
  private async writeGathered(gathered: Gathering): Promise<void> {
    const rows = gathered.rows();
    // Asked before the transactions (only when there is something to ask, so a quiet log's write
    // starts at once); if the question fails, the pulls' events are kept.
    const asked = this.askPullEvents(gathered.hasPulls());
    const withPulls = asked ? await asked.catch(() => true) : true;
    const outbox = gathered.outbox(withPulls);
    for (let i = 0; i < Math.max(rows.length, outbox.length); i += MAX_BATCH) {
      const part = rows.slice(i, i + MAX_BATCH);
      const emitted = outbox.slice(i, i + MAX_BATCH);
      await this.store
        .transaction(async (tx) => {
          if (part.length) await tx.audit.insert(part);
          if (emitted.length && tx.events) await emitEvents(tx as { events: EventQueries }, emitted.map(auditOutboxEvent));
        })
        .catch(() => {});
    }
  }

  /** Waits GATHER_MS, or until `endGathering` is called. */
  private gather(): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.endGathering = undefined;
        resolve();
      };
      const timer = setTimeout(end, this.options.gatherMs ?? GATHER_MS);
      this.endGathering = end;
    });
  }

  /**
   * Whether pulls become outbox events: only while a webhook consumes them. Undefined when there
   * is nothing to ask (no pulls, or no such question: then every event is one).
   */
  private askPullEvents(hasPulls: boolean): Promise<boolean> | undefined {
    return hasPulls && this.options.pullEvents ? this.options.pullEvents() : undefined;
  }

  /** The audit row and its outbox event (a pull's only while a webhook consumes pulls), in `tx`. */
  private async insert(tx: { audit: AuditQueries; events?: EventQueries }, event: AuditEvent): Promise<void> {
    await tx.audit.insert([event]);
    const asked = this.askPullEvents(event.action === 'pull');
    if (!tx.events || (asked && !(await asked))) return;
    await emitEvents(tx as { events: EventQueries }, [auditOutboxEvent(event)]);
  }

  /** Whether an unauthenticated event from `address` may be written in this minute. */
  private admit(address: string): boolean {
    this.rollWindow();
    const perAddress = this.options.unauthenticatedPerMinute ?? 60;
    const total = this.options.unauthenticatedPerMinuteTotal ?? 600;
    const n = this.admitted.get(address) ?? 0;
    if (n < perAddress && this.admittedTotal < total) {
      this.admitted.set(address, n + 1);
      this.admittedTotal++;
      return true;
    }
    this.droppedTotal++;
    // The map of addresses is bounded too: past its size, new addresses are only added up.
    if (this.dropped.has(address) || this.dropped.size < 10_000) this.dropped.set(address, (this.dropped.get(address) ?? 0) + 1);
    return false;
  }

  /** Starts a new minute when the current one is over, queueing the summary of what it dropped. */
  private rollWindow(): void {
    const now = this.now();
    if (now - this.windowStart < WINDOW_MS) return;
    if (this.droppedTotal > 0) {
      const top = [...this.dropped].sort((a, b) => b[1] - a[1]).slice(0, SUMMARY_ADDRESSES);
      this.write(
        this.event({
          at: now,
          actor: 'anonymous',
          action: 'audit.suppressed',
          resource: 'audit',
          result: 'failure',
          detail: {
            reason: 'unauthenticated events over the per-minute limit (audit.unauthenticatedPerMinute, audit.unauthenticatedPerMinuteTotal) were counted, not recorded',
            since: new Date(this.windowStart).toISOString(),
            dropped: this.droppedTotal,
            addresses: this.dropped.size,
            top: top.map(([address, count]) => ({ address, count })),
          },
        }),
      );
    }
    this.windowStart = now;
    this.admitted = new Map();
    this.admittedTotal = 0;
    this.dropped = new Map();
    this.droppedTotal = 0;
  }

  /**
   * Writes an event inside the caller's transaction, so it commits with the change; with the
   * transaction's outbox (every AuthStore and MetadataStore transaction has one) its event too.
   */
  async recordIn(tx: { audit: AuditQueries; events?: EventQueries }, e: AuditInput): Promise<void> {
    await this.insert(tx, this.event(e));
  }

  /** Resolves when every request event recorded so far is written. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.endGathering?.();
      while (this.writing) await this.writing;
    } finally {
      this.flushing--;
    }
  }

  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    this.rollWindow();
    await this.flush();
    return this.store.audit.query(filter);
  }

  async prune(): Promise<number> {
    return this.store.audit.deleteBefore(this.now() - this.options.retentionDays * 86400_000);
  }

  async close(): Promise<void> {
    clearInterval(this.windowTimer);
    clearInterval(this.retentionTimer);
    this.windowStart = 0; // the last minute's summary is written too
    this.rollWindow();
    await this.flush();
  }
}
