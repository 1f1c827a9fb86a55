/**
 * The SQLite group commit: writes resolve only after an fdatasync of the WAL that started
 * after they committed; reads never wait for one; concurrent writers share syncs and COMMITs
 * (a caller's failed transaction rolled back alone); and the
 * registry store opened over a file runs with it and keeps its data across a reopen.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { openSqlite } from '../../src/metadata/sqlite.js';
import { durableSqliteDialect } from '../../src/metadata/sqlite-durable.js';
import { SharedCommits } from '../../src/metadata/sqlite-shared-commit.js';
import { unacknowledged } from '../../src/metadata/sql/durability.js';
import type { RepoName } from '../../src/domain/names.js';

interface Db {
  t: { id: number; v: string };
}

type Durable = ReturnType<typeof durableSqliteDialect>;

async function withDb(fn: (db: Kysely<Db>, wal: Durable['wal'], dir: string, commits: Durable['commits']) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-durable-'));
  const database = new SQLite(join(dir, 'x.db'));
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  const { dialect, wal, commits } = durableSqliteDialect(database);
  const db = new Kysely<Db>({ dialect });
  try {
    await sql`create table t (id integer primary key, v text not null)`.execute(db);
    await fn(db, wal, dir, commits);
  } finally {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a write resolves after a WAL sync; a read does not sync', async () => {
  await withDb(async (db, wal) => {
    const before = wal.syncs;
    await db.insertInto('t').values({ id: 1, v: 'a' }).execute();
    assert.equal(wal.syncs, before + 1);
    const rows = await db.selectFrom('t').selectAll().execute();
    assert.deepEqual(rows, [{ id: 1, v: 'a' }]);
    assert.equal(wal.syncs, before + 1);
  });
});

test('a write marked unacknowledged resolves without a sync; the next durable write covers it', async () => {
  await withDb(async (db, wal, dir) => {
    const before = wal.syncs;
    await db.insertInto('t').values({ id: 1, v: 'session' }).modifyEnd(unacknowledged()).execute();
    await db.updateTable('t').set({ v: 'leased' }).where('id', '=', 1).modifyEnd(unacknowledged()).execute();
    assert.equal(wal.syncs, before, 'no sync for unacknowledged writes');
    // Visible at once to readers (the read connection sees every committed write).
    assert.deepEqual(await db.selectFrom('t').selectAll().execute(), [{ id: 1, v: 'leased' }]);
    await db.insertInto('t').values({ id: 2, v: 'blob' }).execute();
    assert.equal(wal.syncs, before + 1, 'an ordinary write still syncs');
    // A second connection to the file (another process) sees both.
    const other = new SQLite(join(dir, 'x.db'), { readonly: true });
    try {
      assert.deepEqual(other.prepare('select id, v from t order by id').all(), [{ id: 1, v: 'leased' }, { id: 2, v: 'blob' }]);
    } finally {
      other.close();
    }
  });
});

test('checkpoints run on their own thread: the writing connection never checkpoints, yet the database file catches up', async () => {
  await withDb(async (db, _wal, dir) => {
    const probe = new SQLite(join(dir, 'x.db'), { readonly: true });
    try {
      const size = () => statSync(join(dir, 'x.db')).size;
      const before = size();
      // About 2 MB: under SQLite's own threshold (1,000 pages), so no commit would checkpoint it anyway.
      await db.transaction().execute(async (tx) => {
        for (let i = 0; i < 2000; i++) await tx.insertInto('t').values({ id: i, v: 'x'.repeat(1000) }).execute();
      });
      assert.ok(size() < before + 1_000_000, 'the rows are in the WAL, not yet in the database file');
      const deadline = Date.now() + 5000;
      while (size() < before + 1_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(size() >= before + 1_000_000, `the checkpoint thread copied the WAL into the database file (${size()} bytes)`);
      assert.equal((probe.prepare('select count(*) as n from t').get() as { n: number }).n, 2000);
    } finally {
      probe.close();
    }
  });
});

test('under a steady stream of writes the WAL is restarted, so it stays small', { timeout: 120_000 }, async () => {
  await withDb(async (db, _wal, dir) => {
    const walPath = join(dir, 'x.db-wal');
    // The WAL header's checkpoint sequence number goes up by one each time the WAL restarts.
    const restarts = () => {
      const header = Buffer.alloc(16);
      const fd = openSync(walPath, 'r');
      try {
        readSync(fd, header, 0, 16, 0);
      } finally {
        closeSync(fd);
      }
      return header.readUInt32BE(12);
    };
    const first = restarts();
    // Four writers back to back, with no pause in which a checkpoint could copy every frame by
    // chance: without restarts the WAL holds every row written, so its largest size follows
    // the bytes written. They write at least 3 s and 20 MB, and go on (up to 30 s) until the
    // WAL has restarted and the bytes written are more than twice its largest size, so a
    // machine busy with other tests (a first restart that came late) gives the checkpoint
    // thread more turns instead of failing the test. Without restarts that never happens.
    let largest = 0;
    let written = 0;
    let id = 0;
    const start = Date.now();
    const enough = () => Date.now() - start >= 3000 && written >= 20_000_000 && restarts() > first && largest < written / 2;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!enough() && Date.now() - start < 30_000) {
          await db.insertInto('t').values({ id: id++, v: 'x'.repeat(10_000) }).execute();
          written += 10_000;
          largest = Math.max(largest, statSync(walPath).size);
        }
      }),
    );
    assert.equal((await db.selectFrom('t').select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n, id);
    assert.ok(restarts() > first, 'the WAL was restarted while the writes went on');
    assert.ok(largest < written / 2, `the WAL stayed under half of the ${written} bytes written (largest ${largest} bytes)`);
  });
});

test('a transaction syncs once at its end, and a rolled back one leaves nothing', async () => {
  await withDb(async (db, wal) => {
    const before = wal.syncs;
    await db.transaction().execute(async (tx) => {
      await tx.insertInto('t').values({ id: 1, v: 'a' }).execute();
      await tx.insertInto('t').values({ id: 2, v: 'b' }).execute();
      assert.equal(wal.syncs, before, 'no sync inside the transaction');
    });
    assert.equal(wal.syncs, before + 1);
    await assert.rejects(
      db.transaction().execute(async (tx) => {
        await tx.insertInto('t').values({ id: 3, v: 'c' }).execute();
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.deepEqual((await db.selectFrom('t').select('id').orderBy('id').execute()).map((r) => r.id), [1, 2]);
  });
});

test('concurrent writers share fdatasyncs and all their rows are there', async () => {
  await withDb(async (db, wal) => {
    const before = wal.syncs;
    await Promise.all(Array.from({ length: 40 }, (_, i) => db.insertInto('t').values({ id: i, v: `v${i}` }).execute()));
    const syncs = wal.syncs - before;
    assert.ok(syncs >= 1 && syncs < 40, `expected shared syncs, got ${syncs} for 40 writes`);
    const { n } = await db.selectFrom('t').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(n), 40);
  });
});

test('a read outside a transaction does not wait for an open transaction, and sees only what committed', async () => {
  await withDb(async (db) => {
    await db.insertInto('t').values({ id: 1, v: 'a' }).execute();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const didInsert = new Promise<void>((r) => (inserted = r));
    const tx = db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ id: 2, v: 'b' }).execute();
      inserted();
      await held; // the transaction stays open, holding the writing connection
    });
    await didInsert;
    const during = await Promise.race([db.selectFrom('t').select('id').orderBy('id').execute(), new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 2000))]);
    assert.deepEqual(during, [{ id: 1 }], 'the read answered at once, without the uncommitted row');
    release();
    await tx;
    assert.deepEqual(await db.selectFrom('t').select('id').orderBy('id').execute(), [{ id: 1 }, { id: 2 }]);
  });
});

test('writes that arrive together share one COMMIT, and each resolves once it is committed', async () => {
  await withDb(async (db, _wal, dir, commits) => {
    const probe = new SQLite(join(dir, 'x.db'), { readonly: true });
    try {
      const before = commits.count;
      const committed = (id: number) => probe.prepare('select count(*) as n from t where id = ?').get(id) as { n: number };
      const seen: number[] = [];
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          if (i % 2 === 0) await db.insertInto('t').values({ id: i, v: 'lone' }).execute();
          else await db.transaction().execute(async (tx) => void (await tx.insertInto('t').values({ id: i, v: 'tx' }).execute()));
          // Another connection (another process) sees the row by the time the write resolves.
          seen.push(committed(i).n);
        }),
      );
      assert.deepEqual(seen, Array(50).fill(1));
      assert.ok(commits.count - before <= 2, `50 writes took ${commits.count - before} COMMITs`);
    } finally {
      probe.close();
    }
  });
});

test('a caller\'s transaction that fails is rolled back alone; the writes committed with it stay', async () => {
  await withDb(async (db) => {
    const results = await Promise.allSettled([
      db.insertInto('t').values({ id: 1, v: 'before' }).execute(),
      db.transaction().execute(async (tx) => {
        await tx.insertInto('t').values({ id: 2, v: 'doomed' }).execute();
        await tx.insertInto('t').values({ id: 1, v: 'duplicate key' }).execute();
      }),
      db.transaction().execute(async (tx) => {
        await tx.insertInto('t').values({ id: 3, v: 'after' }).execute();
      }),
      db.insertInto('t').values({ id: 4, v: 'lone' }).execute(),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.deepEqual(await db.selectFrom('t').select('id').orderBy('id').execute(), [{ id: 1 }, { id: 3 }, { id: 4 }]);
  });
});

test('a write that changes no row has nothing to sync; one that does is synced', async () => {
  await withDb(async (db, wal) => {
    await db.insertInto('t').values({ id: 1, v: 'a' }).execute();
    const before = wal.syncs;
    await db.updateTable('t').set({ v: 'x' }).where('id', '=', 99).execute();
    await db.deleteFrom('t').where('id', '=', 99).execute();
    assert.equal(wal.syncs, before, 'no sync for statements that changed nothing');
    await db.updateTable('t').set({ v: 'b' }).where('id', '=', 1).execute();
    assert.equal(wal.syncs, before + 1);
  });
});

test('the metadata store over a file keeps what it acknowledged across a reopen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-durable-'));
  try {
    const path = join(dir, 'berth.db');
    const meta = openSqlite(path);
    await meta.migrate();
    await meta.transaction(async (tx) => {
      await tx.blobs.insert({ digest: `sha256:${'a'.repeat(64)}` as never, size: 3 }, 1);
      await tx.blobs.link('lib/app' as RepoName, `sha256:${'a'.repeat(64)}` as never, 'pushed', 1);
    });
    await meta.close();
    const raw = new SQLite(path, { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal((raw.prepare('select count(*) as n from repository_blobs').get() as { n: number }).n, 1);
    } finally {
      raw.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('while a WAL sync is under way, acknowledged writes wait for it and then share one COMMIT; unacknowledged ones do not wait', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-shared-commit-'));
  const database = new SQLite(join(dir, 'x.db'));
  const probe = new SQLite(join(dir, 'x.db'), { readonly: true });
  try {
    database.pragma('journal_mode = WAL');
    database.exec('create table t (id integer primary key)');
    let syncing: Promise<void> | undefined;
    let syncEnds!: () => void;
    const commits = new SharedCommits(database, (q) => database.prepare(q), { hold: (work) => work() }, () => {}, () => syncing);
    const visible = () => (probe.prepare('select id from t order by id').all() as { id: number }[]).map((r) => r.id);
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
    };
    const write = async (id: number, acknowledged: boolean) => {
      const shared = await commits.join();
      database.prepare('insert into t (id) values (?)').run(id);
      return commits.committed(shared, acknowledged);
    };

    // No sync under way: committed at the end of the turn.
    await write(1, true);
    assert.deepEqual(visible(), [1]);
    assert.equal(commits.count, 1);

    // A sync under way: the COMMIT waits for it, and a write arriving meanwhile joins it.
    syncing = new Promise<void>((r) => (syncEnds = r));
    let done = 0;
    const first = write(2, true).then(() => done++);
    await turns(5);
    const second = write(3, true).then(() => done++);
    await turns(5);
    assert.equal(done, 0, 'nothing resolves before its COMMIT');
    assert.deepEqual(visible(), [1], 'not committed while the sync runs');
    syncing = undefined;
    syncEnds();
    await Promise.all([first, second]);
    assert.deepEqual(visible(), [1, 2, 3]);
    assert.equal(commits.count, 2, 'both writes in one COMMIT');

    // Unacknowledged writes alone do not wait for the sync.
    syncing = new Promise<void>(() => {});
    await write(4, false);
    assert.deepEqual(visible(), [1, 2, 3, 4]);
    assert.equal(commits.count, 3);
  } finally {
    probe.close();
    database.close();
    await rm(dir, { recursive: true, force: true });
  }
});
