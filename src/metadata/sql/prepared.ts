/**
 * Queries of the request path built once and run many times with new values. Building a query
 * with the query builder and compiling it to SQL costs more than the database spends running it:
 * on a blob HEAD, the builder took a quarter of the server's CPU (the blob's size in a repository,
 * a query with two subqueries). A prepared query is built once per dialect with a marker in
 * place of each value; later calls put the values where the markers were and send the same SQL
 * (which sqlite-durable.ts keeps compiled).
 *
 * A value may be a list (an `in` list, the rows of an insert): the SQL then depends on its
 * length, so there is one template per dialect and list length, for lists of up to
 * MAX_LIST_LENGTH items (a manifest's few blobs); a longer list is built and compiled for that
 * call alone. Otherwise only for queries whose SQL does not depend on the values: no clause
 * added or left out by a value. Constants in the query stay as they were built.
 */
import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';

/** Lists longer than this are not kept as templates (each length is a template and a compiled statement). */
export const MAX_LIST_LENGTH = 16;

/** Stands for the value at `index` (or item `item` of that list) while the query is built. */
class Marker {
  constructor(
    readonly index: number,
    readonly item = -1,
  ) {}
}

type Slot = { value: number; item: number } | { constant: unknown };

/** A compiled query: its SQL, and for each parameter where its value comes from. */
interface Template {
  sql: string;
  slots: Slot[];
}

export class PreparedQuery<A extends unknown[], R> {
  private readonly templates = new Map<string, Template>();

  /** How many values the query takes: `build`'s parameters after the database. */
  private readonly arity: number;

  /** `build` makes the query from its values; it is called once per dialect (and list length), with markers. */
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
    const key = templateKey(dialect, values);
    if (key === undefined) return db.executeQuery<R>(this.build(db, ...values).compile());
    const template = this.templates.get(key) ?? this.compile(db, key, values);
    const parameters = template.slots.map((s) => ('constant' in s ? s.constant : s.item < 0 ? values[s.value] : (values[s.value] as unknown[])[s.item]));
    return db.executeQuery<R>(CompiledQuery.raw(template.sql, parameters));
  }

  private compile(db: Kysely<Database>, key: string, values: A): Template {
    const markers = values.map((v, i) => (Array.isArray(v) ? v.map((_, j) => new Marker(i, j)) : new Marker(i))) as unknown as A;
    const compiled = this.build(db, ...markers).compile();
    const slots: Slot[] = compiled.parameters.map((p) => (p instanceof Marker ? { value: p.index, item: p.item } : { constant: p }));
    // A value the builder did not pass through as a parameter (inlined, or transformed) would
    // be sent as a marker: refuse the query at its first use instead.
    const expected = values.reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 1), 0);
    const used = new Set(slots.flatMap((s) => ('value' in s ? [`${s.value}:${s.item}`] : [])));
    if (values.length !== this.arity || used.size !== expected) throw new Error(`prepared query: ${expected - used.size} of its values are not parameters of ${compiled.sql}`);
    const template = { sql: compiled.sql, slots };
    this.templates.set(key, template);
    return template;
  }
}

/** The template a call's values use: the dialect and each list's length; undefined for a list too long to keep. */
function templateKey(dialect: Dialect, values: unknown[]): string | undefined {
  let key: string = dialect;
  for (const v of values) {
    if (!Array.isArray(v)) continue;
    if (v.length > MAX_LIST_LENGTH) return undefined;
    key += `:${v.length}`;
  }
  return key;
}
