/**
 * Waiting for SQLite's write lock without blocking the event loop. SQLite's own busy handler
 * (`busy_timeout`) sleeps on the calling thread, which here is the event loop's: a write lock
 * held by this process's own writing connection, whose shared transaction commits at the end
 * of the current turn (sqlite-shared-commit.ts), would then never be released meanwhile.
 */

/** How long a write waits for another connection's write lock before it fails with SQLITE_BUSY. */
const BUSY_MS = 10_000;

/** Whether SQLite refused because another connection holds a lock it needs. */
export function isBusy(e: unknown): boolean {
  return (e as { code?: string } | null)?.code === 'SQLITE_BUSY';
}

/** Runs `statement`, trying again after growing pauses while it fails with SQLITE_BUSY, up to BUSY_MS. */
export async function whenNotBusy<T>(statement: () => T): Promise<T> {
  const deadline = Date.now() + BUSY_MS;
  for (let pause = 1; ; pause = Math.min(2 * pause, 50)) {
    try {
      return statement();
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}
