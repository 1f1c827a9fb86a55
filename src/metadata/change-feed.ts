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

/**
 * The prefix of the messages delivered when who may do what changed (`access:accounts`,
 * `access:facts`): caches of access facts and verified credentials drop what they hold (see
 * src/policy/access-changes.ts). Never a valid repository name.
 */
export const ACCESS_CHANGED = 'access:';

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
  close(): Promise<void>;
}

export class LocalChangeFeed implements ChangeFeed {
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
