/**
 * The one paging scheme of /api/v1 lists: `?limit=N&cursor=C` -> `{ items, next }`. The limit is
 * clamped to the list's maximum (never refused for being large); the cursor is opaque (base64url
 * of the last key, or of an offset for the short lists kept in memory) and `next` is null on the
 * last page.
 */
import { ProblemError } from '../errors/problem.js';

export interface Page<T> {
  items: T[];
  next: string | null;
}

export function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T extends string | number>(cursor: string | undefined, kind: 'string' | 'number'): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof v === kind && (kind === 'string' || (Number.isInteger(v) && (v as number) >= 0))) return v as T;
  } catch {
    // fall through
  }
  throw new ProblemError('INVALID', 'invalid cursor');
}

/** `?limit=`: a whole number; below 1 or above `max` it is clamped, not refused. */
export function parseLimit(limit: string | undefined, def = 50, max = 500): number {
  if (limit === undefined || limit === '') return def;
  if (!/^\d+$/.test(limit)) throw new ProblemError('INVALID', 'limit must be a whole number');
  return Math.max(1, Math.min(Number(limit), max));
}

/** Builds a page from up to limit+1 rows: the extra row only says there is more. */
export function pageOf<R, T>(rows: R[], limit: number, key: (r: R) => string | number, map: (r: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  return { items: items.map(map), next: rows.length > limit ? encodeCursor(key(items[items.length - 1]!)) : null };
}

/** A page of a short list held whole in memory (members, robots, tokens): the cursor is an offset. */
export function pageOfList<T>(all: T[], limit: number, cursor: string | undefined): Page<T> {
  const from = decodeCursor<number>(cursor, 'number') ?? 0;
  const end = from + limit;
  return { items: all.slice(from, end), next: end < all.length ? encodeCursor(end) : null };
}
