/**
 * The collector's settings for streams (src/ops/young-generation.ts) are on while any stream
 * runs: nested streams are counted, and each end counts once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { streaming, streamingNow } from '../../src/ops/young-generation.js';

test('streams nest and each end counts once', () => {
  assert.equal(streamingNow(), false);
  const first = streaming();
  const second = streaming();
  assert.equal(streamingNow(), true);
  first();
  first(); // ending twice counts once
  assert.equal(streamingNow(), true, 'the second stream still runs');
  second();
  assert.equal(streamingNow(), false);
});
