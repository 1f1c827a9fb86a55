/**
 * The gauges read from the stores at scrape time (Metrics.collectFrom) share one read per
 * scrape, with or without a collect interval, and re-read on the next scrape only when the
 * interval allows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetadataStore } from '../../src/metadata/store.js';
import { Metrics } from '../../src/ops/metrics.js';

/** A store that answers the gauges' reads and counts them (job depth is read once per read). */
function countingStore() {
  const reads = { depth: 0, usage: 0 };
  const meta = {
    jobs: { depth: async () => (reads.depth++, [{ kind: 'scan.manifest', queued: 2, running: 1, oldestQueuedAt: Date.now() }]) },
    gcRuns: { list: async () => [] },
    usage: { projects: async () => ['team'], of: async () => (reads.usage++, { bytes: 42 }) },
  } as unknown as MetadataStore;
  return { meta, reads };
}

describe('gauges read from the stores', () => {
  it('one scrape reads the stores once, also with no collect interval', async () => {
    const { meta, reads } = countingStore();
    const metrics = new Metrics({ version: 'test', collectIntervalMs: 0 });
    metrics.collectFrom(meta, { version: 'test', collectIntervalMs: 0 });
    const text = await metrics.exposition();
    assert.match(text, /^berth_jobs_queued\{kind="scan\.manifest"\} 2$/m);
    assert.match(text, /^berth_storage_project_bytes\{project="team"\} 42$/m);
    assert.deepEqual(reads, { depth: 1, usage: 1 });
    await metrics.exposition();
    assert.deepEqual(reads, { depth: 2, usage: 2 }, 'with no interval the next scrape reads again');
  });

  it('scrapes within the interval reuse the last read', async () => {
    const { meta, reads } = countingStore();
    const metrics = new Metrics({ version: 'test', collectIntervalMs: 60_000 });
    metrics.collectFrom(meta, { version: 'test', collectIntervalMs: 60_000 });
    await metrics.exposition();
    const text = await metrics.exposition();
    assert.match(text, /^berth_scan_queue_length 2$/m);
    assert.deepEqual(reads, { depth: 1, usage: 1 });
  });
});
