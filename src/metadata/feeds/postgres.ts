/**
 * Change feed over PostgreSQL LISTEN/NOTIFY: every node listens on one channel on a
 * connection of its own; a change is announced with `pg_notify` through the shared pool.
 * When the listening connection drops, notifications may have been missed, so after it is
 * back every subscriber is told to drop everything (ALL_REPOSITORIES).
 *
 * `sync` is a read barrier: a `select 1` on the listening connection. PostgreSQL signals
 * listeners when a NOTIFY commits and sends pending notifications before answering the
 * next query, so once the reply arrives every change committed before the barrier started
 * has been delivered (pg emits notifications before resolving the query).
 */
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { clientConfig, type PostgresConfig } from '../postgres.js';
import { ALL_REPOSITORIES, type ChangeFeed } from '../change-feed.js';
import { Barrier } from './barrier.js';

const CHANNEL = 'berth_changes';

/**
 * How long a (re)connect may wait for the server: a host that accepts and never answers (a
 * stalled server, a half-open path) fails the attempt, and the next one is scheduled, instead
 * of holding the listener forever.
 */
const CONNECT_TIMEOUT_MS = 10_000;

export class PostgresChangeFeed implements ChangeFeed {
  private readonly listeners: ((repo: string) => void)[] = [];
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly barrier = new Barrier(async () => {
    const client = this.client;
    if (!client) return false;
    await client.query('select 1');
    return this.client === client;
  });

  private constructor(
    private readonly cfg: PostgresConfig,
    private readonly db: Kysely<any>,
    private readonly log: Logger,
  ) {}

  /** Resolves once this node is listening, so no change committed after it is missed. */
  static async open(cfg: PostgresConfig, db: Kysely<any>, log: Logger): Promise<PostgresChangeFeed> {
    const feed = new PostgresChangeFeed(cfg, db, log);
    await feed.connect();
    return feed;
  }

  async publish(repo: string): Promise<void> {
    this.deliver(repo);
    await sql`select pg_notify(${CHANNEL}, ${repo})`.execute(this.db);
  }

  subscribe(listener: (repo: string) => void): void {
    this.listeners.push(listener);
  }

  sync(): Promise<boolean> {
    return this.barrier.wait();
  }

  /**
   * Stops listening for good: no reconnect is scheduled or kept after it (a retry left behind
   * would go on reconnecting, and keep the process alive, after the node shut down). A
   * reconnect in flight ends its connection itself when it settles.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...clientConfig(this.cfg), statement_timeout: 0, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on('notification', (n) => {
      if (n.payload) this.deliver(n.payload);
    });
    client.on('error', (e) => this.lost(client, e));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
    } catch (e) {
      // Not awaited: ending a connection that never opened waits for a server that may not answer.
      void client.end().catch(() => {});
      throw e;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      throw new Error('change feed closed');
    }
    this.client = client;
  }

  private lost(client: pg.Client, e: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.log.warn({ err: e.message }, 'change feed lost its database connection; reconnecting');
    const attempt = (delay: number) => {
      if (this.closed) return;
      this.retry = setTimeout(() => {
        this.connect().then(
          () => this.deliver(ALL_REPOSITORIES),
          () => attempt(Math.min(delay * 2, 5000)),
        );
      }, delay);
    };
    this.deliver(ALL_REPOSITORIES);
    attempt(100);
  }

  private deliver(repo: string): void {
    for (const l of this.listeners) l(repo);
  }
}
