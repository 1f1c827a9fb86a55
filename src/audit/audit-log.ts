/**
 * The audit log: who did what, when, from where, with what result. Administrative changes are
 * written in the same transaction as the change (`recordIn`); request events (pulls, pushes,
 * logins) are queued and written in one batch every second, so the registry's hot path never
 * waits for an audit insert. Events older than the retention period are deleted hourly.
 */
import type { AuditEvent, AuditFilter, AuditQueries, AuditRecord, AuthStore } from '../metadata/auth-store.js';

export type AuditInput = Omit<AuditEvent, 'at' | 'project' | 'sourceAddress' | 'detail'> & {
  project?: string | null;
  sourceAddress?: string | null;
  detail?: unknown;
  at?: number;
};

export class AuditLog {
  private queue: AuditEvent[] = [];
  private readonly flushTimer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: AuthStore,
    private readonly options: { retentionDays: number; flushMs?: number },
    private readonly now: () => number = Date.now,
  ) {
    this.flushTimer = setInterval(() => void this.flush().catch(() => {}), options.flushMs ?? 1000);
    this.flushTimer.unref();
    this.retentionTimer = setInterval(() => void this.prune().catch(() => {}), 3600_000);
    this.retentionTimer.unref();
  }

  private event(e: AuditInput): AuditEvent {
    return {
      at: e.at ?? this.now(),
      actor: e.actor,
      action: e.action,
      resource: e.resource,
      project: e.project ?? null,
      result: e.result,
      sourceAddress: e.sourceAddress ?? null,
      detail: e.detail ?? null,
    };
  }

  /** Queues a request event (written within about a second). */
  record(e: AuditInput): void {
    this.queue.push(this.event(e));
    if (this.queue.length >= 500) void this.flush().catch(() => {});
  }

  /** Writes an event inside the caller's transaction, so it commits with the change. */
  async recordIn(tx: { audit: AuditQueries }, e: AuditInput): Promise<void> {
    await tx.audit.insert([this.event(e)]);
  }

  async flush(): Promise<void> {
    const run = async () => {
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      await this.store.transaction((tx) => tx.audit.insert(batch));
    };
    this.flushing = this.flushing.then(run, run);
    return this.flushing;
  }

  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    await this.flush();
    return this.store.audit.query(filter);
  }

  async prune(): Promise<number> {
    return this.store.audit.deleteBefore(this.now() - this.options.retentionDays * 86400_000);
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.retentionTimer);
    await this.flush();
  }
}
