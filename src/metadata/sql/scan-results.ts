/**
 * How long a scan result lives: results are keyed by manifest digest (one result serves every
 * repository holding the image), so they are deleted when the last manifest row with that
 * digest goes, in the transaction that deletes it (an API delete or garbage collection both
 * go through `deleteManifestRows`). Kept apart from scans.ts so the manifest queries need not
 * import the whole scanning store.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../tables.js';

const CHUNK = 400;

/** Deletes the results and findings of those of `digests` no manifest row holds any more. */
export async function forgetUnheldResults(db: Kysely<Database>, digests: string[]): Promise<void> {
  const all = [...new Set(digests)];
  for (let i = 0; i < all.length; i += CHUNK) {
    const part = all.slice(i, i + CHUNK);
    const held = new Set((await db.selectFrom('manifests').select('digest').where('digest', 'in', part).execute()).map((r) => r.digest));
    const gone = part.filter((d) => !held.has(d));
    if (!gone.length) continue;
    await db.deleteFrom('scan_findings').where('digest', 'in', gone).execute();
    await db.deleteFrom('scan_results').where('digest', 'in', gone).execute();
  }
}
