/**
 * Queries of the request path built once and run many times with new values. Building a query
 * with the query builder and compiling it to SQL costs more than the database spends running it:
 * on a blob HEAD, the builder took a quarter of the server's CPU (the blob's size in a repository,
 * a query with two subqueries). A prepared query is built once per dialect with a marker in
 * place of each value; later calls put the values where the markers were and send the same SQL
 * (which sqlite-durable.ts keeps compiled).
 *
 * Only for queries whose SQL does not depend on the values: no `in` list of varying length, no
 * clause added or left out by a value. Constants in the query stay as they were built.
 */
import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';

/** Stands for the value at `index` while the query is built. */
class Marker {
  constructor(readonly index: number) {}
}

/** A compiled query: its SQL, and for each parameter the index of its value or a constant. */
interface Template {
  sql: string;
  slots: ({ value: number } | { constant: unknown })[];
}

export class PreparedQuery<A extends unknown[], R> {
  private readonly templates = new Map<Dialect, Template>();

  /** How many values the query takes: `build`'s parameters after the database. */
  private readonly arity: number;

  /** `build` makes the query from its values; it is called once per dialect, with markers. */
  constructor(private readonly build: (db: Kysely<Database>, ...values: A) => Compilable<R>) {
    this.arity = build.length - 1;
  }

  /** The rows it returns. */
  async execute(db: Kysely<Database>, dialect: Dialect, ...values: A): Promise<R[]> {
    return (await this.query(db, dialect, values)).rows;
  }

  async executeTakeFirst(db: Kysely<Database>, dialect: Dialect, ...values: A): Promise<R | undefined> {
    return (await this.query(db, dialect, values)).rows[0];
  }

  /** Runs a write; the number of rows it changed. */
  async run(db: Kysely<Database>, dialect: Dialect, ...values: A): Promise<number> {
    return Number((await this.query(db, dialect, values)).numAffectedRows ?? 0n);
  }

  private query(db: Kysely<Database>, dialect: Dialect, values: A): Promise<QueryResult<R>> {
    const template = this.templates.get(dialect) ?? this.compile(db, dialect);
    const parameters = template.slots.map((s) => ('value' in s ? values[s.value] : s.constant));
    return db.executeQuery<R>(CompiledQuery.raw(template.sql, parameters));
  }

  private compile(db: Kysely<Database>, dialect: Dialect): Template {
    const markers = Array.from({ length: this.arity }, (_, i) => new Marker(i)) as unknown as A;
    const compiled = this.build(db, ...markers).compile();
    const slots = compiled.parameters.map((p) => (p instanceof Marker ? { value: p.index } : { constant: p }));
    // A value the builder did not pass through as a parameter (inlined, or transformed) would
    // be sent as a marker: refuse the query at its first use instead.
    const used = new Set(slots.flatMap((s) => ('value' in s ? [s.value] : [])));
    if (used.size !== this.arity) throw new Error(`prepared query: ${this.arity - used.size} of its values are not parameters of ${compiled.sql}`);
    const template = { sql: compiled.sql, slots };
    this.templates.set(dialect, template);
    return template;
  }
}
