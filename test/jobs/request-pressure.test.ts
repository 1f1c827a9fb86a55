/**
 * The request pressure the job worker yields to: a loop kept busy while it answers requests
 * is saturated; a loop kept busy without requests (jobs alone) or an idle one answering a few
 * requests is not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { LoopPressure } from '../../src/jobs/request-pressure.js';

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
