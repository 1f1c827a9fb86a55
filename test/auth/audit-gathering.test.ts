/**
 * How request events reach the database: a quiet log writes each event at once; a busy one
 * (its last write carried many events) gathers before the next write, so many pulls share one
 * transaction; a flush or a full gathering ends a gathering at once, and no event is lost or
 * written twice; identical pulls written together are one row with their count, while their
 * outbox events stay one per pull. Over a store double whose transactions take a few
 * milliseconds, as commits do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditLog, MAX_BATCH, MAX_GATHERED } from '../../src/audit/audit-log.js';

interface Row {
  resource: string;
  actor: string;
  sourceAddress: string | null;
  at: number;
  detail: unknown;
}

interface Write {
  startedAt: number;
  resources: string[];
  rows: Row[];
  /** Outbox events (only with `withOutbox`). */
  events: { type: string; at?: number; data: Record<string, unknown> }[];
}

function storeDouble(commitMs: number, withOutbox = false) {
  const writes: Write[] = [];
  const store = {
    transaction: async (fn: (tx: unknown) => Promise<void>) => {
      const write: Write = { startedAt: performance.now(), resources: [], rows: [], events: [] };
      writes.push(write);
      await sleep(commitMs);
      const audit = {
        insert: async (rows: Row[]) => {
          write.rows.push(...rows);
          write.resources.push(...rows.map((e) => e.resource));
        },
      };
      const events = { appendAll: async (es: Write['events']) => void write.events.push(...es) };
      await fn(withOutbox ? { audit, events } : { audit });
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
    for (let k = 0; k < MAX_GATHERED - 1; k++) pull(log, i++); // a full gathering with the one gathered
    const fullAt = performance.now();
    while (written(writes).length < i) await sleep(2);
    assert.ok(performance.now() - fullAt < 5_000, 'a full gathering is written without waiting');
    // All different: one row each, in transactions of at most MAX_BATCH rows.
    assert.equal(writes.length, before + MAX_GATHERED / MAX_BATCH, `the ${MAX_GATHERED} went in transactions of ${MAX_BATCH}`);
    assert.ok(writes.every((w) => w.rows.length <= MAX_BATCH));
    assert.deepEqual(written(writes), inOrder(i));
  } finally {
    await log.close();
  }
});

test('identical pulls written together are one row with their count; their outbox events stay one each', async () => {
  const { store, writes } = storeDouble(5, true);
  let now = 1_000_000;
  const log = new AuditLog(store as never, { retentionDays: 1, gatherMs: 60_000, pullEvents: async () => true }, () => now);
  const record = (resource: string, actor = 'ci', sourceAddress = '10.0.0.1', status = 200) =>
    log.record({ actor, action: 'pull', resource, project: 'p', result: status < 400 ? 'success' : 'failure', sourceAddress, detail: { status, route: 'get manifest' } });
  try {
    record('p/app:warm'); // written at once: the log is quiet
    for (let k = 0; k < 3; k++) {
      now += 10;
      record('p/app:v1');
    }
    now += 10;
    record('p/app:v1', 'ci', '10.0.0.2'); // another address
    record('p/app:v1', 'robot$deploy'); // another caller
    record('p/app:v1', 'ci', '10.0.0.1', 404); // another outcome
    record('p/app:v2');
    now += 10;
    log.record({ actor: 'ci', action: 'push', resource: 'p/app:v3', project: 'p', result: 'success', detail: { status: 201, route: 'push manifest' } });
    record('p/app:v2');
    await log.flush();

    const rows = writes.flatMap((w) => w.rows);
    const shape = rows.map((r) => [r.resource, r.actor, r.sourceAddress, r.at, r.detail]);
    assert.deepEqual(shape, [
      ['p/app:warm', 'ci', '10.0.0.1', 1_000_000, { status: 200, route: 'get manifest' }],
      ['p/app:v1', 'ci', '10.0.0.1', 1_000_010, { status: 200, route: 'get manifest', count: 3, lastAt: 1_000_030 }],
      ['p/app:v1', 'ci', '10.0.0.2', 1_000_040, { status: 200, route: 'get manifest' }],
      ['p/app:v1', 'robot$deploy', '10.0.0.1', 1_000_040, { status: 200, route: 'get manifest' }],
      ['p/app:v1', 'ci', '10.0.0.1', 1_000_040, { status: 404, route: 'get manifest' }],
      ['p/app:v2', 'ci', '10.0.0.1', 1_000_040, { status: 200, route: 'get manifest', count: 2, lastAt: 1_000_050 }],
      ['p/app:v3', 'ci', null, 1_000_050, { status: 201, route: 'push manifest' }],
    ]);
    // Every pull and the push are outbox events of their own, with their own times.
    const events = writes.flatMap((w) => w.events);
    assert.equal(events.length, 10);
    assert.deepEqual(
      events.filter((e) => e.data.resource === 'p/app:v1' && (e.data.sourceAddress as string) === '10.0.0.1').map((e) => e.at),
      [1_000_010, 1_000_020, 1_000_030, 1_000_040, 1_000_040],
    );
  } finally {
    await log.close();
  }
});
