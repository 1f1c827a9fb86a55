/**
 * The registry of job kinds (src/jobs/kinds.ts): every declared kind has a handler, a handler
 * refuses a payload its kind cannot read before calling any service, and a readable payload
 * reaches the service it names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { JOB_KINDS, jobHandlers, type JobServices } from '../../src/jobs/kinds.js';
import type { JobContext } from '../../src/jobs/worker.js';

function services(calls: string[]): JobServices {
  return {
    runs: { run: async (trigger: string) => (calls.push(`gc:${trigger}`), { id: 1, report: { bytesFreed: 0, totals: {} } }) },
    retention: { run: async (project: string) => (calls.push(`retention:${project}`), { runId: 2, tags: [] }) },
    leases: { with: async (_name: string, _ms: number, fn: () => Promise<unknown>) => ({ value: await fn() }) },
    logger: pino({ level: 'silent' }),
    proxy: { preheat: async (id: string) => void calls.push(`preheat:${id}`), evict: async (upstream: string) => (calls.push(`evict:${upstream}`), {}) },
    scrub: {
      run: async (o: { repository?: string; rateBytesPerSecond?: number }) => (
        calls.push(`scrub:${o.repository ?? '*'}:${o.rateBytesPerSecond ?? 0}`), { blobs: { checked: 0, bytes: 0 }, manifests: { checked: 0 }, problems: [], complete: true }
      ),
    },
  } as unknown as JobServices;
}

const ctx = (kind: string) => ({ job: { id: 9, kind }, signal: new AbortController().signal }) as unknown as JobContext;

describe('job kinds', () => {
  it('every declared kind has a handler, and nothing else does', () => {
    assert.deepEqual([...jobHandlers(services([])).keys()].sort(), Object.keys(JOB_KINDS).sort());
    for (const [name, k] of Object.entries(JOB_KINDS)) assert.ok(k.description.length > 0, `${name} says what it does`);
  });

  it('a readable payload reaches its service', async () => {
    const calls: string[] = [];
    const h = jobHandlers(services(calls));
    await h.get('gc.run')!({}, ctx('gc.run'));
    await h.get('retention.run')!({ project: 'team' }, ctx('retention.run'));
    await h.get('proxy.preheat')!({ id: 'p1' }, ctx('proxy.preheat'));
    await h.get('proxy.evict')!({ upstream: 'hub' }, ctx('proxy.evict'));
    await h.get('scrub.run')!({ rateBytesPerSecond: 1000 }, ctx('scrub.run'));
    await h.get('scrub.run')!({ repository: 'team/app' }, ctx('scrub.run'));
    assert.deepEqual(calls, ['gc:schedule', 'retention:team', 'preheat:p1', 'evict:hub', 'scrub:*:1000', 'scrub:team/app:0']);
  });

  it('an unreadable payload fails the attempt before any service runs', async () => {
    const calls: string[] = [];
    const h = jobHandlers(services(calls));
    await assert.rejects(h.get('retention.run')!({}, ctx('retention.run')), /job 9 \(retention\.run\): unreadable payload/);
    await assert.rejects(h.get('retention.run')!({ project: 7 }, ctx('retention.run')), /unreadable payload/);
    await assert.rejects(h.get('gc.run')!({ extra: true }, ctx('gc.run')), /unreadable payload/);
    await assert.rejects(h.get('scrub.run')!({ rateBytesPerSecond: -1 }, ctx('scrub.run')), /unreadable payload/);
    assert.deepEqual(calls, []);
  });
});
