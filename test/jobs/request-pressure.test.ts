/**
 * The request pressure background work yields to: a loop kept busy while it answers requests
 * is saturated; a loop kept busy without requests (jobs alone) or an idle one answering a few
 * requests is not. And the rule both the job worker and the event dispatcher follow: hold
 * back while saturated, for at most yieldMs in a row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { BurstYield, LoopPressure } from '../../src/jobs/request-pressure.js';

/** Keeps the loop busy for `ms` in short synchronous stretches, calling `each` after every one. */
async function busy(ms: number, each: () => void): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const stretch = performance.now() + 10;
    while (performance.now() < stretch) {
      // spin: the event loop is busy
    }
    each();
    await turn();
  }
}

test('a loop busy answering requests is saturated; busy without requests, or idle, is not', async () => {
  const pressure = new LoopPressure(50);
  try {
    await busy(300, () => pressure.answer());
    assert.equal(pressure.saturated(), true, 'busy with requests');
    await busy(300, () => {});
    assert.equal(pressure.saturated(), false, 'busy with no request answered');
    pressure.answer();
    await sleep(120);
    pressure.answer();
    await sleep(120);
    assert.equal(pressure.saturated(), false, 'idle, answering now and then');
    await busy(300, () => pressure.answer());
    assert.equal(pressure.saturated(), true, 'busy with requests again');
  } finally {
    pressure.close();
  }
});

test('background work waits while requests saturate the loop, at most yieldMs in a row, and again only after a window with room', async () => {
  const pressure = { windowMs: 10, busy: false, saturated() { return this.busy; } };
  const burst = new BurstYield(pressure, 300);
  const signal = new AbortController().signal;
  const timed = async () => {
    const t = performance.now();
    await burst.wait(signal);
    return performance.now() - t;
  };
  assert.ok((await timed()) < 50, 'no pressure: no wait');
  pressure.busy = true;
  setTimeout(() => (pressure.busy = false), 100);
  const released = await timed();
  assert.ok(released >= 90 && released < 250, `waited ${released} ms for a 100 ms burst`);
  pressure.busy = true;
  const capped = await timed();
  assert.ok(capped >= 290 && capped < 600, `waited ${capped} ms under lasting pressure, not about yieldMs`);
  assert.ok((await timed()) < 50, 'once spent, no wait while the pressure lasts');
  pressure.busy = false;
  await timed(); // a window with room: the next burst is waited for again
  pressure.busy = true;
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 50);
  const t = performance.now();
  await burst.wait(stop.signal);
  assert.ok(performance.now() - t < 200, 'an abort ends the wait');
});
