/**
 * Request events waiting for the audit log's next write (audit-log.ts). Identical pulls (same
 * caller, source address, manifest reference, outcome and detail: all but their time) share one
 * entry as they arrive, which keeps only each later pull's time. A write makes one row of such
 * an entry, whose detail carries the `count` and the last one's time (`lastAt`), and one outbox
 * event per pull with its own time. A client pulling the same tags over and over then costs a
 * row per tag per write, and holds a number per pull until then rather than an object.
 */
import type { AuditEvent } from '../metadata/auth-store.js';

interface Entry {
  event: AuditEvent;
  /** The times of the identical pulls after the first (`event.at`), in arrival order. */
  later?: number[];
}

/** What one write takes: the rows to insert, and the events behind them for the outbox. */
export class Gathering {
  constructor(
    private readonly entries: readonly Entry[],
    /** How many events were gathered (rows plus the pulls folded into them). */
    readonly events: number,
  ) {}

  /** One row per entry; an entry of several pulls carries their count and the last one's time. */
  rows(): AuditEvent[] {
    return this.entries.map(({ event, later }) => {
      if (!later) return event;
      let lastAt = event.at;
      for (const at of later) if (at > lastAt) lastAt = at;
      return { ...event, detail: { ...(event.detail as object | null), count: 1 + later.length, lastAt } };
    });
  }

  /** Every event, one per pull with its own time; pulls left out unless `withPulls`. */
  outbox(withPulls: boolean): AuditEvent[] {
    const out: AuditEvent[] = [];
    for (const { event, later } of this.entries) {
      if (event.action === 'pull' && !withPulls) continue;
      out.push(event);
      for (const at of later ?? []) out.push({ ...event, at });
    }
    return out;
  }

  hasPulls(): boolean {
    return this.entries.some((e) => e.event.action === 'pull');
  }
}

export class GatheredEvents {
  private entries: Entry[] = [];
  /** The pending pulls' entries by everything but their time. */
  private pulls = new Map<string, Entry>();
  private count = 0;

  /** Rows the next write would insert. */
  get rows(): number {
    return this.entries.length;
  }

  add(event: AuditEvent): void {
    this.count++;
    if (event.action !== 'pull') {
      this.entries.push({ event });
      return;
    }
    const key = `${event.actor}\0${event.resource}\0${event.project}\0${event.result}\0${event.sourceAddress}\0${JSON.stringify(event.detail)}`;
    const same = this.pulls.get(key);
    if (same) (same.later ??= []).push(event.at);
    else {
      const entry: Entry = { event };
      this.pulls.set(key, entry);
      this.entries.push(entry);
    }
  }

  /** Takes everything gathered so far. */
  take(): Gathering {
    const taken = new Gathering(this.entries, this.count);
    this.entries = [];
    this.pulls = new Map();
    this.count = 0;
    return taken;
  }
}
