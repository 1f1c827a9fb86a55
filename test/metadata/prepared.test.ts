/**
 * Prepared queries (src/metadata/sql/prepared.ts): built once, then run with new values, they
 * return what the query builder's own query returns for those values, keep the constants they
 * were built with, and refuse a query whose values were not all bound as parameters. A list
 * value (an `in` list, an insert's rows) gets a template per length, and a list too long to keep
 * is built for its call alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { MAX_LIST_LENGTH, PreparedQuery } from '../../src/metadata/sql/prepared.js';

interface Db {
  items: { id: number; name: string; status: string; size: number };
}

async function database(): Promise<Kysely<Db>> {
  const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
  await db.schema.createTable('items').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('name', 'text').addColumn('status', 'text').addColumn('size', 'integer').execute();
  const rows = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `n${i % 5}`, status: i % 2 ? 'queued' : 'done', size: i * 10 }));
  await db.insertInto('items').values(rows).execute();
  return db;
}

// The production class is typed for the registry's schema; the test's own schema stands in.
const prepared = <A extends unknown[], R>(build: (db: Kysely<Db>, ...values: A) => { compile(): unknown }) => new PreparedQuery(build as never) as unknown as PreparedQuery<A, R>;

test('a prepared query returns what the built query returns, for every set of values', async () => {
  const db = await database();
  const build = (d: Kysely<Db>, name: string, min: number) => d.selectFrom('items').select(['id', 'size']).where('name', '=', name).where('status', '=', 'queued').where('size', '>=', min).orderBy('id');
  const q = prepared<[string, number], { id: number; size: number }>(build);
  for (const [name, min] of [['n1', 0], ['n3', 50], ['n1', 120], ['nobody', 0]] as const) {
    assert.deepEqual(await q.execute(db as never, 'sqlite', name, min), await build(db, name, min).execute(), `${name} ${min}`);
  }
  assert.equal((await q.executeTakeFirst(db as never, 'sqlite', 'n3', 50))?.id, 13);
  await db.destroy();
});

test('a value used twice fills both of its places', async () => {
  const db = await database();
  const build = (d: Kysely<Db>, n: number) => d.selectFrom('items').select('id').where('size', '>=', n).where('id', '<=', n).orderBy('id');
  const q = prepared<[number], { id: number }>(build);
  for (const n of [0, 10, 15]) assert.deepEqual(await q.execute(db as never, 'sqlite', n), await build(db, n).execute(), String(n));
  assert.equal((await q.execute(db as never, 'sqlite', 10)).length, 10);
  await db.destroy();
});

test('a prepared write reports the rows it changed', async () => {
  const db = await database();
  const q = prepared<[string, string], never>((d: Kysely<Db>, status: string, name: string) => d.updateTable('items').set({ status }).where('name', '=', name));
  assert.equal(await q.run(db as never, 'sqlite', 'held', 'n2'), 4);
  assert.equal(await q.run(db as never, 'sqlite', 'held', 'nobody'), 0);
  assert.equal((await db.selectFrom('items').select('id').where('status', '=', 'held').execute()).length, 4);
  await db.destroy();
});

test('a query whose value is not a parameter is refused at its first use', async () => {
  const db = await database();
  // A value the builder drops (here: never used) would leave its place unfilled.
  const q = prepared<[string, number], never>((d: Kysely<Db>, name: string, _size: number) => d.selectFrom('items').selectAll().where('name', '=', name).where('size', '>', sql.lit(0)));
  await assert.rejects(q.execute(db as never, 'sqlite', 'n1', 5), /1 of its values are not parameters/);
  await db.destroy();
});

test('a list value: each length has its template, used twice or as rows, and a long list is built for its call', async () => {
  const db = await database();
  // The list is used twice (as in the manifests' union) beside a plain value.
  const build = (d: Kysely<Db>, status: string, ids: number[]) =>
    d.selectFrom('items').select('id').where('status', '=', status).where('id', 'in', ids).union(d.selectFrom('items').select('id').where('size', 'in', ids)).orderBy('id');
  const q = prepared<[string, number[]], { id: number }>(build);
  const lists = [[1, 3], [2, 4, 10], [3, 5], [0, 1, 2, 3, 20], Array.from({ length: MAX_LIST_LENGTH + 5 }, (_, i) => i)];
  for (const ids of lists) assert.deepEqual(await q.execute(db as never, 'sqlite', 'queued', ids), await build(db, 'queued', ids).execute(), ids.join(','));
  // The same length again with other values: the template's slots take the new items
  // (id 10 is done; id 1 has size 10).
  assert.deepEqual(await q.execute(db as never, 'sqlite', 'done', [10, 11]), [{ id: 1 }, { id: 10 }]);

  const insert = prepared<[number, number[]], never>((d: Kysely<Db>, size: number, ids: number[]) => d.insertInto('items').values(ids.map((id) => ({ id, name: 'new', status: 'new', size }))));
  assert.equal(await insert.run(db as never, 'sqlite', 7, [100, 101]), 2);
  assert.equal(await insert.run(db as never, 'sqlite', 8, [102, 103]), 2);
  assert.equal(await insert.run(db as never, 'sqlite', 9, Array.from({ length: MAX_LIST_LENGTH + 1 }, (_, i) => 200 + i)), MAX_LIST_LENGTH + 1);
  const added = await db.selectFrom('items').select(['id', 'size']).where('status', '=', 'new').orderBy('id').execute();
  assert.deepEqual(added.slice(0, 4), [
    { id: 100, size: 7 },
    { id: 101, size: 7 },
    { id: 102, size: 8 },
    { id: 103, size: 8 },
  ]);
  assert.equal(added.length, 4 + MAX_LIST_LENGTH + 1);
  await db.destroy();
});
