/**
 * Change feed between processes sharing one SQLite file (`berth serve --workers N`): a
 * change is a row appended to the `changes` table; each process remembers the last row it
 * delivered. `sync` (the read barrier) first asks SQLite for `PRAGMA data_version`, which
 * moves only when another connection committed, so the common case (nothing written since)
 * costs no query; otherwise it delivers the rows added since. It runs on a connection of its
 * own, synchronously: both statements take microseconds. Its writes wait for the write lock
 * without blocking the event loop (sqlite-busy.ts).
 */
import SQLite from 'better-sqlite3';
import type { ChangeFeed } from '../change-feed.js';
import { isBusy, whenNotBusy } from '../sqlite-busy.js';

/** Rows kept in the log; older ones are pruned now and then (every process has read them long ago). */
const KEEP = 10_000;

export class SqliteChangeFeed implements ChangeFeed {
  private readonly listeners: ((repo: string) => void)[] = [];
  private version: number;
  private last: number;
  private published = 0;
  private readonly readSince: SQLite.Statement<[number], { id: number; repository: string }>;
  private readonly insert: SQLite.Statement<[string, number]>;
  /** Prepared once: `db.pragma()` would parse the statement on every read. */
  private readonly version$: SQLite.Statement<[], number>;

  private constructor(private readonly db: SQLite.Database) {
    db.pragma('busy_timeout = 0');
    this.readSince = db.prepare('select id, repository from changes where id > ? order by id');
    this.insert = db.prepare('insert into changes (repository, created_at) values (?, ?)');
    this.version$ = db.prepare<[], number>('pragma data_version').pluck();
    this.last = (db.prepare('select coalesce(max(id), 0) as id from changes').get() as { id: number }).id;
    this.version = this.dataVersion();
  }

  static open(path: string): SqliteChangeFeed {
    return new SqliteChangeFeed(new SQLite(path));
  }

  async publish(repo: string): Promise<void> {
    this.deliver(repo);
    const id = await whenNotBusy(() => Number(this.insert.run(repo, Date.now()).lastInsertRowid));
    if (++this.published % 1000 === 0) await whenNotBusy(() => this.db.prepare('delete from changes where id <= ?').run(id - KEEP));
  }

  subscribe(listener: (repo: string) => void): void {
    this.listeners.push(listener);
  }

  async sync(): Promise<boolean> {
    try {
      const version = this.dataVersion();
      if (version === this.version) return true;
      for (const row of this.readSince.all(this.last)) {
        this.last = row.id;
        this.deliver(row.repository);
      }
      this.version = version;
      return true;
    } catch (e) {
      // A WAL reader is refused only while another connection recovers or resets the WAL: the
      // feed cannot promise it is current right now, and callers bypass their caches.
      if (isBusy(e)) return false;
      throw e;
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private dataVersion(): number {
    return this.version$.get()!;
  }

  private deliver(repo: string): void {
    for (const l of this.listeners) l(repo);
  }
}
