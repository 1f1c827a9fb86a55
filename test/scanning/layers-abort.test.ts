/**
 * A scan stopped in the middle of a layer (the server shutting down aborts its jobs): the walk
 * rejects with the abort, and no stream is left to raise the abort as an unhandled error. The
 * entry being read when the abort comes is destroyed with it; without a listener for its error,
 * that error ended the process (seen as an uncaught AbortError after a server closed mid-scan).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { wantFile } from '../../src/scanning/inventory.js';
import { walkLayers } from '../../src/scanning/layers.js';
import { tarOf } from './fixtures.js';

for (const [what, name, size] of [
  ['a file the scan keeps', 'etc/os-release', 2048],
  ['a file the scan skips', 'usr/share/big.bin', 4 * 1024 * 1024],
] as const) {
  test(`an abort while reading ${what} rejects the walk and leaves no error unhandled`, async () => {
    const layer = await tarOf([{ name, data: Buffer.alloc(size, 65) }]);
    assert.equal(wantFile(name) >= size, name === 'etc/os-release', 'the entry is kept or skipped as the case says');
    // The layer's first bytes (its header and part of the entry), then nothing until the abort.
    const source = new Readable({ read() {} });
    source.push(layer.subarray(0, 512 + Math.min(1024, size / 2)));
    const uncaught: unknown[] = [];
    const record = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', record);
    try {
      const controller = new AbortController();
      const walk = walkLayers([{ open: async () => source }], (p) => wantFile(p), controller.signal);
      await new Promise((r) => setTimeout(r, 50));
      controller.abort();
      await assert.rejects(walk, { name: 'AbortError' });
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(uncaught, []);
    } finally {
      process.off('uncaughtException', record);
    }
  });
}
