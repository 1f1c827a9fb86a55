/**
 * Records when manifests were last pulled without a database write per pull: pulls are
 * collected in memory and written in one batch every few seconds (and on close).
 */
import type { MetadataStore } from '../metadata/store.js';
import type { Digest, RepoName } from '../domain/names.js';

export class PullRecorder {
  private pending = new Map<string, { repo: RepoName; digest: Digest; at: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly meta: MetadataStore,
    intervalMs = 5000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => {}), intervalMs);
    this.timer.unref();
  }

  record(repo: RepoName, digest: Digest): void {
    this.pending.set(`${repo}@${digest}`, { repo, digest, at: this.now() });
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    await this.meta.transaction((tx) => tx.manifests.touchPulled(batch), { isolation: 'serializable' });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
