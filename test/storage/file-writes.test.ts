/**
 * The streamed upload's overlapped writes (storage/fs/file-writes.ts): the next batch is taken
 * while one write is in the thread pool, never more than one is in flight, every byte lands at
 * its position, and a failed write is reported (by the next full batch or by finish) and never
 * counted as written.
 */
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { test } from 'node:test';
import { EarlySync, OverlappedWrites } from '../../src/storage/fs/file-writes.js';

const MiB = 1024 * 1024;

/** A file handle whose writes complete only when the test says, recording what each wrote where. */
function heldFile() {
  const bytes = Buffer.alloc(8 * MiB);
  const pending: { done: (e?: Error) => void }[] = [];
  let inFlight = 0;
  let most = 0;
  const fh = {
    writev(buffers: Buffer[], position: number) {
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise((resolve, reject) => {
        pending.push({
          done: (e) => {
            inFlight--;
            if (e) return reject(e);
            let at = position;
            for (const b of buffers) at += b.copy(bytes, at);
            resolve({ bytesWritten: at - position, buffers });
          },
        });
      });
    },
  };
  return { fh: fh as unknown as FileHandle, bytes, pending, most: () => most };
}

/** Counts the bytes reported written (what background syncs are started from). */
function countingWriteBack() {
  const writeBack = new EarlySync({ datasync: async () => {} }, false);
  let reported = 0;
  const wrote = writeBack.wrote.bind(writeBack);
  writeBack.wrote = (n: number) => {
    reported += n;
    wrote(n);
  };
  return { writeBack, reported: () => reported };
}

/** Whether `p` has settled after the microtasks queued so far ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

test('the next batch is gathered while one write is in flight, and every byte lands at its position', async () => {
  const file = heldFile();
  const { writeBack, reported } = countingWriteBack();
  const writes = new OverlappedWrites(file.fh, 100, writeBack);
  const chunk = (fill: number) => Buffer.alloc(MiB / 2, fill);
  await writes.add(chunk(1));
  // A full batch goes to the pool and the caller reads on at once.
  assert.equal(await settled(writes.add(chunk(2))), true);
  assert.equal(file.pending.length, 1);
  await writes.add(chunk(3));
  // The second full batch waits for the first write: one in flight at most.
  const second = writes.add(chunk(4));
  assert.equal(await settled(second), false);
  assert.equal(reported(), 0);
  file.pending[0]!.done();
  await second;
  assert.equal(reported(), MiB);
  assert.equal(file.pending.length, 2);
  await writes.add(Buffer.alloc(10, 5));
  const finished = writes.finish();
  file.pending[1]!.done();
  await new Promise((r) => setImmediate(r));
  file.pending[2]!.done();
  await finished;
  assert.equal(file.most(), 1);
  assert.equal(reported(), 2 * MiB + 10);
  const expected = Buffer.concat([chunk(1), chunk(2), chunk(3), chunk(4), Buffer.alloc(10, 5)]);
  assert.ok(file.bytes.subarray(100, 100 + expected.length).equals(expected));
  assert.equal(file.bytes[99], 0);
});

test('a failed write is thrown by the next full batch and is not reported written', async () => {
  const file = heldFile();
  const { writeBack, reported } = countingWriteBack();
  const writes = new OverlappedWrites(file.fh, 0, writeBack);
  await writes.add(Buffer.alloc(MiB));
  const next = writes.add(Buffer.alloc(MiB));
  file.pending[0]!.done(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
  await assert.rejects(next, { code: 'ENOSPC' });
  assert.equal(reported(), 0);
  await writes.quiet();
});

test('a failed last write is thrown by finish', async () => {
  const file = heldFile();
  const { writeBack, reported } = countingWriteBack();
  const writes = new OverlappedWrites(file.fh, 0, writeBack);
  await writes.add(Buffer.alloc(1000));
  const finished = writes.finish();
  await new Promise((r) => setImmediate(r));
  file.pending[0]!.done(new Error('EIO'));
  await assert.rejects(finished, /EIO/);
  assert.equal(reported(), 0);
});
