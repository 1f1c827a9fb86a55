/**
 * Many rows into one table with few statements, for the high-volume appends of the request
 * path (audit entries and their outbox events, one per pull). Building a multi-row insert with
 * the query builder costs more than the database spends running it, so the statement text is
 * written here once per shape and only the parameters change: rows go in chunks of fixed sizes
 * (256, 64, 8, 1), so a handful of statements serve every batch and stay compiled (sqlite-durable.ts
 * keeps compiled statements; PostgreSQL parses per call either way). Table and column names
 * come from the caller's code, never from input.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { Dialect } from '../migrations/index.js';

const CHUNKS = [256, 64, 8, 1];
const texts = new Map<string, string>();

function statement(dialect: Dialect, table: string, columns: readonly string[], rows: number): string {
  const key = `${dialect} ${table} ${columns.join(',')} ${rows}`;
  let text = texts.get(key);
  if (!text) {
    let n = 0;
    const placeholder = dialect === 'postgres' ? () => `$${++n}` : () => '?';
    const tuples = Array.from({ length: rows }, () => `(${columns.map(placeholder).join(', ')})`);
    text = `insert into ${table} (${columns.map((c) => `"${c}"`).join(', ')}) values ${tuples.join(', ')}`;
    texts.set(key, text);
  }
  return text;
}

/** Inserts `rows` (each one value per column, in `columns` order) into `table`, in order. */
export async function insertRows<DB>(db: Kysely<DB>, dialect: Dialect, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
  let i = 0;
  for (const size of CHUNKS) {
    while (rows.length - i >= size) {
      const parameters: unknown[] = [];
      for (let r = i; r < i + size; r++) for (const v of rows[r]!) parameters.push(v);
      await db.executeQuery(CompiledQuery.raw(statement(dialect, table, columns, size), parameters));
      i += size;
    }
  }
}
