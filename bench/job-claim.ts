/**
 * What one job claim costs as the queue's backlog grows: the store on SQLite, `backlog` queued
 * jobs due now, then claims of 4 jobs each (released again, so the backlog stays), timed. A
 * claim runs on the writing connection, so its time is time the whole process waits.
 * Usage: node dist/bench/job-claim.js [backlog ...] (default 0 1000 10000 100000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../src/metadata/sqlite.js';

const backlogs = process.argv.slice(2).map(Number);
const CLAIMS = 50;
const dir = await mkdtemp(join(tmpdir(), 'bench-claim-'));
try {
  const store = openSqlite(join(dir, 'berth.db'));
  await store.migrate();
  let queued = 0;
  for (const backlog of backlogs.length ? backlogs : [0, 1000, 10_000, 100_000]) {
    for (; queued < backlog; queued += 1000) {
      await store.transaction(async (tx) => {
        for (let i = 0; i < 1000; i++) await tx.jobs.enqueue({ kind: 'scan.manifest', payload: { n: queued + i }, maxAttempts: 3, runAt: 1000 + ((queued + i) % 5000) }, 0);
      });
    }
    let ms = 0;
    for (let i = 0; i < CLAIMS; i++) {
      const t = performance.now();
      const claimed = await store.jobs.claim('bench', ['scan.manifest', 'gc', 'retention'], 4, 1e12, 10_000);
      ms += performance.now() - t;
      // Back to the queue (a failed attempt with a retry at the same time), so the backlog stays.
      for (const j of claimed) await store.jobs.fail(j.id, 'bench', j.attempts, 'bench', j.runAt, 10_000);
    }
    console.log(`backlog ${String(queued).padStart(7)}: ${((ms / CLAIMS) * 1000).toFixed(0)} µs per claim of 4`);
  }
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
