/**
 * Tells every process serving the registry that a repository's tags or manifests changed, so
 * read caches drop what they hold for it. The in-process feed serves one process; feeds
 * that cross processes or nodes implement the same interface.
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

  async close(): Promise<void> {}
}
