/**
 * The young generation while a large body streams: kept at its initial size outside, grown at
 * once inside `streaming()`, and given back (shrunk by V8 at the full collection asked for
 * after the idle time) once the last stream ended. Runs in its own process (one test file),
 * since the flags are the process's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { keepYoungGenerationSmall, streaming } from '../../src/ops/young-generation.js';

const youngMiB = () => (getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 1024 / 1024;

/** Allocation whose objects live a little while, as buffers in flight do. */
function churn(): void {
  let keep: object[] = [];
  for (let i = 0; i < 2_000_000; i++) {
    keep.push({ i, a: [i] });
    if (keep.length > 50_000) keep = [];
  }
}

test('the young generation stays small, grows while streaming, and is given back when idle', { timeout: 60_000 }, async () => {
  keepYoungGenerationSmall();
  churn();
  assert.ok(youngMiB() <= 2, `small outside streaming (${youngMiB()} MiB)`);
  const end = streaming();
  churn();
  assert.ok(youngMiB() >= 16, `grown while streaming (${youngMiB()} MiB)`);
  end();
  end(); // ending twice counts once
  const deadline = Date.now() + 45_000;
  while (youngMiB() > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  assert.ok(youngMiB() <= 2, `given back after the idle time (${youngMiB()} MiB)`);
});
