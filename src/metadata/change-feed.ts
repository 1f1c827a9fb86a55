/**
 * Tells every process serving the registry that a repository's tags or manifests changed, so
 * read caches drop what they hold for it. The in-process feed serves one process; feeds
 * that cross processes or nodes implement the same interface (feeds/postgres.ts between
 * nodes, feeds/sqlite.ts between the processes of one host sharing a SQLite file).
 */

/**
 * Delivered instead of a repository name when changes may have been missed (a feed lost its
 * connection): every cache drops everything. Never a valid repository name.
 */
export const ALL_REPOSITORIES = '*';

export interface ChangeFeed {
  /** Announces a change to `repo` (delivered to this process's subscribers too). */
  publish(repo: string): Promise<void>;
  /** `listener` gets a repository name, or ALL_REPOSITORIES. */
  subscribe(listener: (repo: string) => void): void;
  /**
   * A read barrier: resolves true once every change announced (anywhere) before the call has
   * been delivered to this process's subscribers, so a cache checked afterwards is current.
   * False when the feed cannot promise that right now (its connection is down): callers then
   * bypass their caches. Concurrent calls share one round trip.
   */
  sync(): Promise<boolean>;
  /**
   * True for a feed that serves one process alone: a change is delivered here as it is
   * published, so its barrier always passes at once and a hot path may skip waiting for it.
   */
  readonly local?: boolean;
  close(): Promise<void>;
}

export class LocalChangeFeed implements ChangeFeed {
  readonly local = true;
  private readonly listeners: ((repo: string) => void)[] = [];

  async publish(repo: string): Promise<void> {
    for (const l of this.listeners) l(repo);
  }

  subscribe(listener: (repo: string) => void): void {
    this.listeners.push(listener);
  }

  async sync(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}

/**
 * Changes of things other than repositories (accounts, webhooks, ...) that per-process caches
 * depend on, announced on the same feed under `prefix + kind` (never a valid repository name).
 * A cache drops what it holds when its kind is announced anywhere (or when changes may have been
 * missed) and trusts itself only after the feed's read barrier (`fresh`), so a change
 * acknowledged on any node applies to every request that starts after it, on every node; a
 * warm request still costs no database read.
 */
export class ChangeTopics<K extends string> {
  private readonly listeners: { kind: K; drop: () => void }[] = [];

  constructor(
    private readonly feed: ChangeFeed,
    private readonly prefix: string,
  ) {
    feed.subscribe((message) => {
      const all = message === ALL_REPOSITORIES;
      if (!all && !message.startsWith(prefix)) return;
      for (const l of this.listeners) if (all || message === prefix + l.kind) l.drop();
    });
  }

  /** `drop` runs whenever `kind` changed anywhere (or changes may have been missed). */
  onChange(kind: K, drop: () => void): void {
    this.listeners.push({ kind, drop });
  }

  /** Announces a committed change: this process's caches drop at once, the others' by their next barrier. */
  changed(kind: K): Promise<void> {
    return this.feed.publish(this.prefix + kind);
  }

  /** Whether caches may be trusted now; false (the feed cannot promise it): read the database. */
  fresh(): Promise<boolean> {
    return this.feed.sync();
  }
}
