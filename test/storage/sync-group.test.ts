/**
 * The group commit behind the SQLite WAL's and the blob folders' fsyncs: callers that arrive
 * together share a flush, nobody is released by a flush that started before their change,
 * and a failed flush fails exactly the callers it was to cover.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SyncGroup } from '../../src/storage/fs/sync-group.js';

/** A flush that waits until released, recording which changes had been noted when it started. */
function controlledFlush() {
  const started: number[] = [];
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let noted = 0;
  const group = new SyncGroup(
    () =>
      new Promise<void>((resolve, reject) => {
        started.push(noted);
        pending.push({ resolve, reject });
      }),
  );
  return {
    group,
    started,
    note: () => {
      noted++;
      group.note();
    },
    finish: async (error?: Error) => {
      const p = pending.shift()!;
      if (error) p.reject(error);
      else p.resolve();
      await new Promise((r) => setImmediate(r));
    },
  };
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

test('callers that arrive while a flush runs share the next one', async () => {
  const f = controlledFlush();
  f.note();
  const first = f.group.sync();
  const rest = Array.from({ length: 4 }, () => {
    f.note();
    return f.group.sync();
  });
  await f.finish();
  await first;
  await f.finish();
  await Promise.all(rest);
  assert.equal(f.group.syncs, 2, 'five callers, two flushes');
  assert.deepEqual(f.started, [1, 5]);
});

test('a change noted while a flush runs waits for the next flush', async () => {
  const f = controlledFlush();
  f.note();
  const first = f.group.sync();
  await new Promise((r) => setImmediate(r));
  f.note();
  const second = f.group.sync();
  await f.finish();
  await first;
  assert.equal(await settled(second), false, 'released by a flush that started before its change');
  assert.equal(f.started.length, 2, 'a second flush started for it');
  await f.finish();
  await second;
  assert.deepEqual(f.started, [1, 2]);
});

test('a failed flush fails the callers it covered; the next sync flushes again', async () => {
  const f = controlledFlush();
  f.note();
  const failing = assert.rejects(f.group.sync(), /EIO/);
  await f.finish(new Error('EIO'));
  await failing;
  const retry = f.group.sync();
  await new Promise((r) => setImmediate(r));
  assert.equal(f.started.length, 2, 'the change is flushed again, not counted as done');
  await f.finish();
  await retry;
  assert.equal(f.group.syncs, 1);
});

test('a sync with nothing noted since the last flush returns without flushing', async () => {
  const f = controlledFlush();
  f.note();
  const p = f.group.sync();
  await f.finish();
  await p;
  await f.group.sync();
  assert.equal(f.started.length, 1);
});
