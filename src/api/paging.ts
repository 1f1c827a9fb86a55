/** Keyset pagination for /api lists: `?limit=N&cursor=C` -> `{ items, next }`; cursors are opaque. */
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
    if (typeof v === kind) return v as T;
  } catch {
    // fall through
  }
  throw new ProblemError(400, 'Bad Request', 'invalid cursor');
}

export function parseLimit(limit: string | undefined, def = 50, max = 500): number {
  if (limit === undefined || limit === '') return def;
  if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1) throw new ProblemError(400, 'Bad Request', 'limit must be a positive integer');
  return Math.min(Number(limit), max);
}

/** Builds a page from up to limit+1 rows: the extra row only says there is more. */
export function pageOf<R, T>(rows: R[], limit: number, key: (r: R) => string | number, map: (r: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  return { items: items.map(map), next: rows.length > limit ? encodeCursor(key(items[items.length - 1]!)) : null };
}
