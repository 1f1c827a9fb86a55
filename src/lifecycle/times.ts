/**
 * Times as the lifecycle's API shows them: stores keep epoch milliseconds, views show ISO 8601
 * (UTC). One conversion, so every record's view is its stored shape with the times swapped.
 */

/** `T` with the epoch-millisecond fields `K` as ISO strings (null stays null). */
export type WithIsoTimes<T, K extends keyof T> = Omit<T, K> & { [P in K]: null extends T[P] ? string | null : string };

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The record with its time fields `keys` converted; every other field as it is. */
export function withIsoTimes<T extends object, K extends keyof T>(record: T, keys: readonly K[]): WithIsoTimes<T, K> {
  const out = { ...record } as Record<string, unknown>;
  for (const k of keys) {
    const v = record[k] as number | null;
    out[k as string] = v === null ? null : iso(v);
  }
  return out as WithIsoTimes<T, K>;
}
