/**
 * PostgreSQL aborts a transaction to keep its promises: SERIALIZABLE ones with a
 * serialization failure, any of them (FOR UPDATE in garbage collection included) as the victim
 * of a deadlock. Such a transaction may succeed when run again, so it is, a bounded number of
 * times, after an exponentially growing, fully random pause: many pushes into one repository
 * at once keep aborting each other when they all come straight back (16 concurrent image
 * pushes used up 20 quick retries in the benchmark). The transaction body must not have
 * effects outside the database.
 */
const MAX_ATTEMPTS = 30;
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 250;

/** serialization_failure and deadlock_detected. */
function isRetryable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

export async function retryAborted<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (attempt >= MAX_ATTEMPTS || !isRetryable(e)) throw e;
      const ceiling = Math.min(LONGEST_PAUSE_MS, FIRST_PAUSE_MS * 2 ** attempt);
      await new Promise((r) => setTimeout(r, Math.random() * ceiling));
    }
  }
}
