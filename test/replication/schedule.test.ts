/**
 * Cron-triggered replication and cancellation, without any copying (jobs are off, so runs stay
 * queued): a schedule time that passed starts exactly one run however many nodes look (two
 * schedulers over one database race for it), a time that has not come starts none, and a
 * queued run can be cancelled once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ReplicationScheduler } from '../../src/replication/scheduler.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';

describe('replication: cron schedule and cancellation', () => {
  let b: TestBerth;
  before(async () => {
    b = await startBerth({ jobs: { enabled: false } });
  });
  after(async () => b?.close());

  const post = async (path: string, body?: unknown) => {
    const r = await fetch(`${b.url}/api/v1${path}`, { method: 'POST', ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
    return { status: r.status, body: (await r.json()) as any };
  };

  it('starts one run per passed schedule time across nodes, none before it', async () => {
    assert.equal((await post('/replication/targets', { name: 'somewhere', url: 'http://127.0.0.1:9' })).status, 201);
    assert.equal((await post('/replication/policies', { name: 'hourly', target: 'somewhere', direction: 'pull', repositories: ['lib/app'], trigger: 'cron', schedule: '0 * * * *' })).status, 201);
    const hour = 3600_000;
    const base = Math.floor(Date.now() / hour) * hour;
    let now = base + 10 * 60_000; // 10 past: the last fire was on the hour, before the schedulers started
    const log = pino({ level: 'silent' });
    const a = new ReplicationScheduler(b.berth.meta, log, 1000, () => now);
    const c = new ReplicationScheduler(b.berth.meta, log, 1000, () => now);
    now += 5 * 60_000;
    assert.deepEqual([...(await a.tick()), ...(await c.tick())], [], 'no schedule time passed');
    now = base + hour + 30_000; // just past the next hour
    const started = [...(await Promise.all([a.tick(), c.tick()])).flat()];
    assert.equal(started.length, 1, `runs started: ${JSON.stringify(started)}`);
    const run = (await b.berth.meta.replication.run(started[0]!))!;
    assert.deepEqual([run.policy, run.trigger, run.status], ['hourly', 'cron', 'queued']);
    const jobs = await b.berth.jobs.list({ kind: 'replication.run' });
    assert.equal(jobs.filter((j) => (j.payload as { run: number }).run === run.id).length, 1);
    now += 60_000;
    assert.deepEqual([...(await a.tick()), ...(await c.tick())], [], 'the same hour does not fire twice');
  });

  it('cancels a queued run once', async () => {
    const { body } = await post('/replication/policies/hourly/runs');
    const cancelled = await post(`/replication/runs/${body.id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
    assert.equal((await post(`/replication/runs/${body.id}/cancel`)).status, 409);
  });
});
