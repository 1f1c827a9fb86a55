/**
 * What SQLite itself charges the event loop for the two things the durable driver arranges
 * around (src/metadata/sqlite-durable.ts), on a WAL database with `synchronous=NORMAL` as Berth
 * runs it, measured on one connection with no Berth code in the way:
 * - a COMMIT: an insert into a table shaped like the upload sessions, with 0, 1 and 4 extra
 *   indexes, as a transaction of its own against inside one transaction of many
 *   (sqlite-shared-commit.ts);
 * - a point read on a second connection right after another connection wrote, against one on
 *   a connection whose page cache is current (the read connection loses its cache to every
 *   write; reads go to the writing connection while it is free).
 * Usage: node dist/bench/sqlite-costs.js [rows=5000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';

const rows = Number(process.argv[2] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'bench-sqlite-'));
const microseconds = (ns: bigint, n: number) => (Number(ns) / n / 1000).toFixed(1);

function open(name: string): SQLite.Database {
  const db = new SQLite(join(dir, name));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

try {
  for (const extra of [0, 1, 4]) {
    const db = open(`commit-${extra}.db`);
    db.exec('create table uploads (id text primary key, repository text not null, byte_offset bigint not null, handle text not null, started_at bigint not null, updated_at bigint not null, writer text, writer_until bigint, project text, owner text)');
    for (const column of ['updated_at', 'project', 'repository', 'owner'].slice(0, extra)) db.exec(`create index uploads_${column} on uploads (${column})`);
    const insert = db.prepare('insert into uploads (id, repository, byte_offset, handle, started_at, updated_at, project, owner) values (?, ?, 0, ?, ?, ?, ?, ?)');
    const add = (id: string) => insert.run(id, 'bench/push', '', Date.now(), Date.now(), 'bench', 'developer');
    let t = process.hrtime.bigint();
    for (let i = 0; i < rows; i++) add(`alone-${i}`);
    const alone = process.hrtime.bigint() - t;
    t = process.hrtime.bigint();
    db.transaction(() => {
      for (let i = 0; i < rows; i++) add(`shared-${i}`);
    })();
    const shared = process.hrtime.bigint() - t;
    console.log(`insert, ${extra} extra indexes: ${microseconds(alone, rows)} µs as its own transaction, ${microseconds(shared, rows)} µs in a shared one`);
    db.close();
  }

  const writer = open('reads.db');
  writer.exec('create table t (id text primary key, v text)');
  writer.exec('create table big (id integer primary key, name text unique, payload text)');
  const fill = writer.prepare('insert into big (name, payload) values (?, ?)');
  writer.transaction(() => {
    for (let i = 0; i < 50_000; i++) fill.run(`n${i}`, 'x'.repeat(200));
  })();
  const reader = new SQLite(join(dir, 'reads.db'), { readonly: true });
  const write = writer.prepare('insert into t values (?, ?)');
  const onReader = reader.prepare('select * from big where name = ?');
  const onWriter = writer.prepare('select * from big where name = ?');
  let afterWrite = 0n;
  let current = 0n;
  for (let i = 0; i < rows; i++) {
    write.run(`k${i}`, 'v');
    let t = process.hrtime.bigint();
    onReader.get(`n${(i * 7) % 50_000}`);
    afterWrite += process.hrtime.bigint() - t;
    t = process.hrtime.bigint();
    onWriter.get(`n${(i * 13) % 50_000}`);
    current += process.hrtime.bigint() - t;
  }
  console.log(`point read after another connection's write: ${microseconds(afterWrite, rows)} µs on the read connection, ${microseconds(current, rows)} µs on the writing one`);
  reader.close();
  writer.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
