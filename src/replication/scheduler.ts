/**
 * Cron-triggered replication: every node looks at the cron policies every `checkMs`, and for
 * each schedule time that passed since it last looked (at most one per look, so a node that
 * was down does not replay a backlog) starts one run. Exactly one node starts it: the run is
 * created in the transaction that claims the fire time (a settings row keyed by policy and
 * time, `getOrCreate`), so the nodes that lose the claim create nothing.
 */
import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';
import { startRun } from './engine.js';

export class ReplicationScheduler {
  private readonly me = randomUUID();
  private since: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly logger: Logger,
    private readonly checkMs = 15_000,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
  }

  start(): void {
    this.timer = setInterval(() => void this.tick().catch((err: unknown) => this.logger.error({ err }, 'replication schedule check failed')), this.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Starts the runs whose schedule time passed since the last look; returns their ids. */
  async tick(): Promise<number[]> {
    const now = this.now();
    const since = this.since;
    this.since = now;
    const started: number[] = [];
    for (const p of await this.store.replication.policies('cron')) {
      if (!p.enabled || !p.schedule) continue;
      const due = new Cron(p.schedule, { paused: true }).nextRun(new Date(since));
      if (!due || due.getTime() > now) continue;
      const at = due.getTime();
      const id = await this.store.transaction(async (tx) => {
        if ((await tx.settings.getOrCreate(`replication.cron:${p.name}:${at}`, this.me)) !== this.me) return undefined;
        return startRun(tx, p.name, 'cron', null, now);
      });
      if (id !== undefined) started.push(id);
    }
    return started;
  }
}
