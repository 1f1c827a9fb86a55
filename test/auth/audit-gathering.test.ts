/**
 * How request events reach the database: a quiet log writes each event at once; a busy one
 * (its last write carried many events) gathers before the next write, so many pulls share one
 * transaction; a flush or a full batch ends a gathering at once, and no event is lost or
 * written twice. Over a store double whose transactions take a few milliseconds, as commits do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditLog } from '../../src/audit/audit-log.js';

interface Write {
  startedAt: number;
  resources: string[];
}

function storeDouble(commitMs: number) {
  const writes: Write[] = [];
  const store = {
    transaction: async (fn: (tx: unknown) => Promise<void>) => {
      const write: Write = { startedAt: performance.now(), resources: [] };
      writes.push(write);
      await sleep(commitMs);
      await fn({ audit: { insert: async (events: { resource: string }[]) => void write.resources.push(...events.map((e) => e.resource)) } });
    },
  };
  return { store, writes };
}

const pull = (log: AuditLog, i: number) => log.record({ actor: 'developer', action: 'pull', resource: `p/r:${i}`, result: 'success' });
const written = (writes: Write[]) => writes.flatMap((w) => w.resources);
const inOrder = (n: number) => Array.from({ length: n }, (_, i) => `p/r:${i}`);

test('a quiet log writes every event at once, one write each', async () => {
  const { store, writes } = storeDouble(1);
  const log = new AuditLog(store as never, { retentionDays: 1, gatherMs: 5_000 });
  try {
    for (let i = 0; i < 5; i++) {
      const at = performance.now();
      pull(log, i);
      assert.equal(writes.length, i + 1, 'the write starts as the event is recorded');
      assert.ok(writes[i]!.startedAt - at < 50);
      await log.flush();
    }
    assert.deepEqual(written(writes), inOrder(5));
  } finally {
    await log.close();
  }
});

test('a busy log gathers events before its next write, and loses none', async () => {
  const { store, writes } = storeDouble(5);
  const gatherMs = 100;
  const log = new AuditLog(store as never, { retentionDays: 1, gatherMs });
  try {
    let i = 0;
    pull(log, i++); // write 1 starts at once
    for (let k = 0; k < 40; k++) pull(log, i++); // pending while write 1 commits: write 2 carries 40 (busy)
    while (writes.length < 2) await sleep(1);
    const secondStarted = writes[1]!.startedAt;
    // Events arriving from now on wait for the gathering, then go in one write.
    for (let k = 0; k < 30; k++) {
      pull(log, i++);
      await sleep(1);
    }
    while (writes.length < 3) await sleep(5);
    assert.equal(writes[1]!.resources.length, 40);
    assert.ok(writes[2]!.startedAt - secondStarted >= gatherMs - 5, `the third write waited ${(writes[2]!.startedAt - secondStarted).toFixed(0)} ms`);
    await log.flush();
    assert.equal(writes.length, 3, `30 events while gathering went in one write, not ${writes.length - 2}`);
    assert.deepEqual(written(writes), inOrder(i));
  } finally {
    await log.close();
  }
});

test('a flush or a full batch ends a gathering at once', async () => {
  const { store, writes } = storeDouble(2);
  const log = new AuditLog(store as never, { retentionDays: 1, gatherMs: 60_000 });
  try {
    let i = 0;
    // Makes the log busy (a write of 40) with one event pending as that write commits: it gathers.
    const busy = async () => {
      pull(log, i++);
      for (let k = 0; k < 40; k++) pull(log, i++);
      const n = writes.length;
      while (writes.length < n + 1) await sleep(1);
      pull(log, i++);
      await sleep(30);
      assert.ok(!written(writes).includes(`p/r:${i - 1}`), 'the last event waits for the gathering');
    };
    await busy();
    const flushAt = performance.now();
    await log.flush();
    assert.ok(performance.now() - flushAt < 5_000, 'the flush did not wait out the gathering');
    assert.deepEqual(written(writes), inOrder(i));

    await busy();
    const before = writes.length;
    for (let k = 0; k < 499; k++) pull(log, i++); // 500 pending with the one gathered
    const fullAt = performance.now();
    while (written(writes).length < i) await sleep(2);
    assert.ok(performance.now() - fullAt < 5_000, 'a full batch is written without waiting');
    assert.equal(writes.length, before + 1, 'the 500 went in one write');
    assert.deepEqual(written(writes), inOrder(i));
  } finally {
    await log.close();
  }
});
