/**
 * Scheduled and API-started garbage collection: a cron schedule triggers runs, runs are
 * visible with status and report in /api/v1/gc, a second concurrent run is refused (lease),
 * and leases serialize holders across "nodes" sharing one database.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Leases } from '../../src/lifecycle/lease.js';
import { startBerth } from '../helpers/berth.js';
import { pushImage } from '../helpers/oci.js';

async function waitFor<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a cron schedule runs GC; runs show up in the API', async () => {
  const t = await startBerth({ lifecycle: { gc: { schedule: '* * * * * *', graceSeconds: 0 }, schedulerEnabled: true } });
  try {
    const img = await pushImage(t.url, 's/app', 'x');
    await fetch(`${t.url}/v2/s/app/manifests/x`, { method: 'DELETE' });
    const run = await waitFor(async () => {
      const r = (await (await fetch(`${t.url}/api/v1/gc`)).json()) as { items: { trigger: string; status: string; result: { items: { manifest: { digest: string }[] } } | null }[] };
      return r.items.find((i) => i.trigger === 'schedule' && i.status === 'succeeded' && i.result?.items.manifest.some((m) => m.digest === img.digest));
    }, 10_000);
    assert.ok(run);
  } finally {
    await t.close();
  }
});

test('POST /api/v1/gc starts a run whose progress and report can be polled', async () => {
  const t = await startBerth({ lifecycle: { gc: { schedule: null }, schedulerEnabled: false } });
  try {
    await pushImage(t.url, 's/app', 'y');
    await fetch(`${t.url}/v2/s/app/manifests/y`, { method: 'DELETE' });
    const start = await fetch(`${t.url}/api/v1/gc`, { method: 'POST', body: JSON.stringify({ dryRun: true, graceSeconds: 0 }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(start.status, 202);
    const { id } = (await start.json()) as { id: number };
    assert.equal(start.headers.get('location'), `/api/v1/gc/${id}`);
    const done = await waitFor(async () => {
      const r = (await (await fetch(`${t.url}/api/v1/gc/${id}`)).json()) as { status: string; dryRun: boolean; result: { totals: { manifest: { count: number } } } };
      return r.status === 'running' ? undefined : r;
    }, 10_000);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.dryRun, true);
    assert.equal(done.result.totals.manifest.count, 1);
    assert.equal((await fetch(`${t.url}/api/v1/gc/999999`)).status, 404);
    const usage = (await (await fetch(`${t.url}/api/v1/usage`)).json()) as { items: { project: string; usage: { bytes: number } }[] };
    assert.equal(usage.items[0]!.project, 's');
    assert.ok(usage.items[0]!.usage.bytes > 0);

    // While one node holds the GC lease, another run is refused with 409.
    const other = new Leases(t.berth.meta);
    assert.ok(await other.acquire('gc', 60_000));
    const refused = await fetch(`${t.url}/api/v1/gc`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(refused.status, 409);
    await other.release('gc');
  } finally {
    await t.close();
  }
});

test('leases: one holder at a time; an expired lease can be taken over', async () => {
  const t = await startBerth({ lifecycle: { gc: { schedule: null }, schedulerEnabled: false } });
  try {
    let clock = 1_000_000;
    const a = new Leases(t.berth.meta, () => clock);
    const b = new Leases(t.berth.meta, () => clock);
    assert.equal(await a.acquire('retention:p', 1000), true);
    assert.equal(await b.acquire('retention:p', 1000), false);
    assert.equal(await a.acquire('retention:p', 1000), true, 'the holder renews');
    clock += 5000;
    assert.equal(await b.acquire('retention:p', 1000), true, 'an expired lease is taken over');
    assert.equal(await a.acquire('retention:p', 1000), false);
    const ran = await a.with('retention:p', 1000, async () => 1);
    assert.equal(ran, undefined);
  } finally {
    await t.close();
  }
});
