/**
 * The rescan of the scan benchmark in a process of its own, as a server's `scan.rescan` job runs
 * it: over a database prepared by the benchmark (advisories imported, inventories stored), and
 * nothing else in memory. Prints one JSON line: how many inventories were matched, in how many
 * seconds (and CPU seconds of the process, every thread: steadier than the time on a shared
 * machine), the resident memory at the start and its peak (sampled every 100 ms, MiB).
 * Usage: node dist/bench/scan-rescan.js DATABASE
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { AuditLog } from '../src/audit/audit-log.js';
import { SqlAuthStore } from '../src/metadata/sql/auth-store.js';
import { SqlScanStore } from '../src/metadata/sql/scans.js';
import { openSqlite } from '../src/metadata/sqlite.js';
import { ScanService } from '../src/scanning/service.js';
import type { BlobStore } from '../src/storage/blob-store.js';

const path = process.argv[2];
if (!path) throw new Error('usage: scan-rescan.js DATABASE');
const meta = openSqlite(path);
const store = new SqlScanStore(meta.db, meta.dialect);
const audit = new AuditLog(new SqlAuthStore(meta.db, meta.dialect), { retentionDays: 1 });
const scans = new ScanService({ meta, store, blobs: undefined as unknown as BlobStore, audit, logger: pino({ level: 'silent' }) });
const start = process.memoryUsage().rss;
let peak = start;
let heapAtPeak = 0;
let externalAtPeak = 0;
const sample = () => {
  const m = process.memoryUsage();
  if (m.rss > peak) [peak, heapAtPeak, externalAtPeak] = [m.rss, m.heapTotal, m.external + m.arrayBuffers];
};
const sampler = setInterval(sample, 100);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const r = await scans.database.rescanAll();
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
sample();
await audit.close();
await meta.close();
process.stdout.write(`${JSON.stringify({ inventories: r.inventories, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, startMiB: start / 1048576, peakMiB: peak / 1048576, heapMiB: heapAtPeak / 1048576, externalMiB: externalAtPeak / 1048576 })}\n`);
