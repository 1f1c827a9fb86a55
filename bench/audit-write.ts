/**
 * What recording a pull in the audit log costs the process: the audit log over SQLite, pulls of
 * `tags` tags by one caller from one address at a steady `rate` a second (as a client hammering
 * a registry sends them), then the CPU per pull (all threads: the commits' syncs and the
 * checkpoints run off the main one) and the rows written. No webhook wants pulls, so no outbox.
 * Usage: node dist/bench/audit-write.js [pulls=100000] [rate=10000] [tags=200]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { AuditLog } from '../src/audit/audit-log.js';
import { SqlAuthStore } from '../src/metadata/sql/auth-store.js';
import { openSqlite } from '../src/metadata/sqlite.js';

const [pulls = 100_000, rate = 10_000, tags = 200] = process.argv.slice(2).map(Number);
const TICK_MS = 10;
const dir = await mkdtemp(join(tmpdir(), 'bench-audit-'));
try {
  const store = openSqlite(join(dir, 'berth.db'));
  await store.migrate();
  const audit = new AuditLog(new SqlAuthStore(store.db, store.dialect), { retentionDays: 90, pullEvents: async () => false });
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      for (let k = 0; k < (rate * TICK_MS) / 1000 && sent < pulls; k++, sent++) {
        audit.record({ actor: 'developer', action: 'pull', resource: `bench/app:tag-${sent % tags}`, project: 'bench', result: 'success', sourceAddress: '10.0.0.7', detail: { status: 200, route: 'get manifest' } });
      }
      if (sent < pulls) setTimeout(tick, TICK_MS);
      else done();
    };
    tick();
  });
  await audit.flush();
  const cpu = process.cpuUsage(cpu0);
  const row = await sql<{ rows: number; pulls: number }>`select count(*) as rows, sum(coalesce(json_extract(detail, '$.count'), 1)) as pulls from audit_events where action = 'pull'`.execute(store.db);
  const { rows, pulls: counted } = row.rows[0]!;
  console.log(
    `${pulls} pulls of ${tags} tags at ${rate}/s: ${((cpu.user + cpu.system) / pulls).toFixed(2)} µs CPU per pull (user ${(cpu.user / pulls).toFixed(2)}, system ${(cpu.system / pulls).toFixed(2)}); ` +
      `${rows} rows counting ${counted} pulls; ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  await audit.close();
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
