/**
 * Many rows into one table with few statements, for the high-volume appends of the request
 * path (audit entries and their outbox events, one per pull). The query builder spends more
 * time building a multi-row insert than the database spends running it, and a statement of a
 * new row count is compiled anew; here rows go in chunks of fixed sizes (64, 8, 1), so a
 * handful of statement shapes serve every batch and stay compiled (sqlite-durable.ts keeps
 * compiled statements; PostgreSQL's are parsed per call either way).
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';

const CHUNKS = [64, 8, 1];

/** Inserts `rows` (each one value per column, in `columns` order) into `table`, in order. */
export async function insertRows<DB>(db: Kysely<DB>, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
  const head = sql.raw(`insert into ${table} (${columns.join(', ')}) values `);
  let i = 0;
  for (const size of CHUNKS) {
    while (rows.length - i >= size) {
      const values: RawBuilder<unknown>[] = [];
      for (const row of rows.slice(i, i + size)) values.push(sql`(${sql.join(row)})`);
      await sql`${head}${sql.join(values)}`.execute(db);
      i += size;
    }
  }
}
