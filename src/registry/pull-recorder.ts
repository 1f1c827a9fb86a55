/**
 * Records when manifests were last pulled without a database write per pull: pulls are
 * collected in memory and written in one batch every few seconds (and on close).
 */
import type { MetadataStore } from '../metadata/store.js';
import type { Digest, RepoName } from '../domain/names.js';

export class PullRecorder {
  /**
   * The last pull time by repository, then digest. Two lookups by the strings a read already
   * holds (a digest string keeps its hash) cost less than joining them into a key to hash on
   * every pull.
   */
  private pending = new Map<RepoName, Map<Digest, number>>();
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
    let digests = this.pending.get(repo);
    if (!digests) this.pending.set(repo, (digests = new Map()));
    digests.set(digest, this.now());
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch: { repo: RepoName; digest: Digest; at: number }[] = [];
    for (const [repo, digests] of this.pending) for (const [digest, at] of digests) batch.push({ repo, digest, at });
    this.pending = new Map();
    await this.meta.transaction((tx) => tx.manifests.touchPulled(batch), { isolation: 'serializable' });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
