/**
 * Read-committed transactions on PostgreSQL survive being picked as a deadlock victim: two
 * transactions that lock the same two rows in opposite orders deadlock for real, PostgreSQL
 * aborts one (40P01), and `transaction(fn, { isolation: 'read-committed' })` runs it again, so
 * both commit. Garbage collection locks rows with FOR UPDATE while pushes take key locks
 * through foreign keys, so a sweep can meet exactly this. (White-box: the locks are taken
 * with SQL on the transaction's connection, which no interface method exposes.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openPostgres } from '../../src/metadata/postgres.js';
import type { SqlQueries } from '../../src/metadata/sql/store.js';
import { postgresConfig } from '../helpers/metadata.js';
import { createTestDatabase, postgresSkipReason } from '../helpers/postgres.js';

test('a PostgreSQL deadlock victim is run again and both transactions commit', async (t) => {
  const skip = await postgresSkipReason();
  if (skip) return t.skip(skip);
  const database = await createTestDatabase();
  const store = openPostgres(postgresConfig(database.url));
  try {
    await store.migrate();
    const db = store.db;
    await db.insertInto('settings').values([{ key: 'a', value: '0', created_at: 0 }, { key: 'b', value: '0', created_at: 0 }]).execute();
    let attempts = 0;
    let bothHoldFirstLock!: () => void;
    const barrier = new Promise<void>((r) => (bothHoldFirstLock = r));
    let holding = 0;
    const lockBoth = (first: string, second: string) =>
      store.transaction(
        async (tx) => {
          const trx = (tx as SqlQueries).db;
          attempts++;
          await sql`select 1 from settings where key = ${first} for update`.execute(trx);
          if (++holding === 2) bothHoldFirstLock();
          await barrier;
          await sql`select 1 from settings where key = ${second} for update`.execute(trx);
          await trx.updateTable('settings').set({ value: sql`cast(cast(value as integer) + 1 as text)` }).where('key', 'in', [first, second]).execute();
        },
        { isolation: 'read-committed' },
      );
    await Promise.all([lockBoth('a', 'b'), lockBoth('b', 'a')]);
    assert.ok(attempts >= 3, `one transaction was aborted and run again (${attempts} attempts)`);
    const rows = await db.selectFrom('settings').select(['key', 'value']).where('key', 'in', ['a', 'b']).orderBy('key').execute();
    assert.deepEqual(rows, [{ key: 'a', value: '2' }, { key: 'b', value: '2' }]);
  } finally {
    await store.close();
    await database.drop();
  }
});
