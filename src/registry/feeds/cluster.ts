/**
 * Change feed between the worker processes of one host (`berth serve --workers N` on
 * SQLite): a worker sends each change to the cluster primary over the IPC channel and the
 * primary relays it to every other worker (src/cluster/primary.ts). Processes that are not
 * cluster workers share no caches, so the feed is only local there.
 */
import type { ChangeFeed } from '../change-feed.js';

export const CHANGE_MESSAGE = 'berth:change';

export interface ChangeMessage {
  type: typeof CHANGE_MESSAGE;
  repo: string;
}

export function isChangeMessage(m: unknown): m is ChangeMessage {
  return typeof m === 'object' && m !== null && (m as ChangeMessage).type === CHANGE_MESSAGE && typeof (m as ChangeMessage).repo === 'string';
}

export class ClusterChangeFeed implements ChangeFeed {
  private readonly listeners: ((repo: string) => void)[] = [];
  private readonly onMessage = (m: unknown) => {
    if (isChangeMessage(m)) this.deliver(m.repo);
  };

  constructor(private readonly proc: NodeJS.Process = process) {
    proc.on('message', this.onMessage);
  }

  async publish(repo: string): Promise<void> {
    this.deliver(repo);
    if (this.proc.send && this.proc.connected) {
      const message: ChangeMessage = { type: CHANGE_MESSAGE, repo };
      await new Promise<void>((resolve) => this.proc.send!(message, undefined, {}, () => resolve()));
    }
  }

  subscribe(listener: (repo: string) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.proc.off('message', this.onMessage);
  }

  private deliver(repo: string): void {
    for (const l of this.listeners) l(repo);
  }
}
