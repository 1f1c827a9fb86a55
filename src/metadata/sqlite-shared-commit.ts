/**
 * One COMMIT for the writes that reach SQLite's writing connection in the same turn of the
 * event loop. A commit appends every page its transaction changed to the WAL, with a checksum
 * and a header each, and updates the WAL's index: an insert into a table shaped like the upload
 * sessions cost 2.5 µs inside a larger transaction and 44 µs as a transaction of its own (6-7
 * against 95-104 µs with the sessions' four extra indexes; bench/sqlite-costs.ts), and a push
 * made about a dozen such commits per image, each of a few rows.
 *
 * Here the first write of a turn begins a transaction (BEGIN IMMEDIATE) and leaves it open.
 * Each caller's transaction runs inside it as a savepoint (rolled back alone if it fails), each
 * lone write as a statement of it. Callers take the writing connection one at a time, as
 * before; the transaction commits once, at the end of the turn (`setImmediate`, after the
 * callers already waiting for the connection; while a WAL sync is under way, once it ends, see
 * scheduleCommit), or earlier when something needs it committed (a checkpoint's write fence,
 * a streamed read). Only then does each caller continue: nothing
 * is reported done before the COMMIT that holds it (and, for an acknowledged write, the WAL's
 * sync after it, sqlite-durable.ts). When SQLite abandons the transaction (a full disk, an I/O
 * error) or its COMMIT fails, every caller in it gets the error, none having been answered.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { whenNotBusy } from './sqlite-busy.js';

/** The writing connection's lock: `hold` runs work while no caller has the connection. */
export interface ConnectionLock {
  hold(work: () => Promise<void>): Promise<void>;
}

/** The callers of one shared transaction. */
export interface SharedTransaction {
  /** Callers whose changes are in it, waiting for its COMMIT. */
  waiting: { resolve: () => void; reject: (e: unknown) => void }[];
  /** Whether any of them wrote something acknowledged (the WAL must be synced after the COMMIT). */
  acknowledged: boolean;
  /** Why it was abandoned, once it was. */
  failed?: unknown;
}

export class SharedCommits {
  private open: SharedTransaction | undefined;
  private commitQueued = false;
  /** COMMITs made (for tests and diagnostics). */
  count = 0;

  constructor(
    private readonly database: BetterSqlite3.Database,
    private readonly statement: (sql: string) => BetterSqlite3.Statement,
    private readonly lock: ConnectionLock,
    /** Told after a COMMIT that holds acknowledged writes (the WAL's group commit notes it). */
    private readonly committedAcknowledged: () => void,
    /** The WAL sync under way, if one is (settles when it ends, whatever its outcome). */
    private readonly syncUnderWay: () => Promise<void> | undefined,
  ) {}

  /**
   * The open transaction, begun if there is none (the caller holds the writing connection).
   * While another connection holds SQLite's write lock (another process, or another store of
   * this one), BEGIN waits without blocking the event loop (sqlite-busy.ts).
   */
  async join(): Promise<SharedTransaction> {
    if (this.open && this.database.inTransaction) return this.open;
    if (this.open) this.abandon(this.open, new Error('SQLite ended the shared transaction without a commit'));
    await whenNotBusy(() => this.statement('begin immediate').run());
    this.open = { waiting: [], acknowledged: false };
    return this.open;
  }

  /** After a statement of `shared` failed: if SQLite rolled the whole transaction back, so it is for all its callers. */
  afterFailure(shared: SharedTransaction, error: unknown): void {
    if (this.open === shared && !this.database.inTransaction) this.abandon(shared, error);
  }

  /**
   * Resolves when `shared`, which the caller joined, has committed. Call it while still
   * holding the writing connection, so the commit cannot come first.
   */
  committed(shared: SharedTransaction, acknowledged: boolean): Promise<void> {
    if (shared.failed !== undefined) return Promise.reject(shared.failed);
    if (acknowledged) shared.acknowledged = true;
    const done = new Promise<void>((resolve, reject) => shared.waiting.push({ resolve, reject }));
    this.scheduleCommit();
    return done;
  }

  /**
   * Makes sure the open transaction commits at the end of this turn (the callers waiting for
   * the connection first), or, when it holds acknowledged writes while a WAL sync is under way,
   * once that sync has ended. Its callers wait for a sync that starts after their COMMIT either
   * way, so the wait does not delay their acknowledgement; meanwhile the writes that arrive
   * join this COMMIT, and the sync after it, instead of making their own (2.50 COMMITs per
   * image pushed 16 at once instead of 2.69; each appends its changed pages to the WAL).
   */
  private scheduleCommit(): void {
    if (this.commitQueued) return;
    this.commitQueued = true;
    const commit = () =>
      void this.lock.hold(async () => {
        this.commitQueued = false;
        this.commitNow();
      });
    setImmediate(() => {
      const syncing = this.open?.acknowledged ? this.syncUnderWay() : undefined;
      if (syncing) void syncing.then(commit);
      else commit();
    });
  }

  /** Commits the open transaction now; the caller holds the writing connection and has no transaction of its own. */
  commitNow(): void {
    const shared = this.open;
    if (!shared) return;
    this.open = undefined;
    try {
      this.statement('commit').run();
    } catch (e) {
      try {
        if (this.database.inTransaction) this.statement('rollback').run();
      } catch {
        // The connection rolls back on its own when it can; the callers are told below either way.
      }
      this.abandon(shared, e);
      return;
    }
    this.count++;
    if (shared.acknowledged) this.committedAcknowledged();
    for (const w of shared.waiting) w.resolve();
  }

  private abandon(shared: SharedTransaction, error: unknown): void {
    shared.failed = error;
    if (this.open === shared) this.open = undefined;
    for (const w of shared.waiting) w.reject(error);
    shared.waiting = [];
  }
}
