/**
 * An upload body that may be large (over 1 MiB, or of unknown length) is stored while
 * `streaming()` is on (registry/uploads.ts, ops/young-generation.ts: V8 marks all at once then,
 * so the body's socket buffers cannot set off a storm of full collections); a small one is not.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Digest, RepoName } from '../../src/domain/names.js';
import { openSqlite } from '../../src/metadata/sqlite.js';
import { streamingNow } from '../../src/ops/young-generation.js';
import { UploadService } from '../../src/registry/uploads.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { randomBlob, sha256 } from '../helpers/oci.js';

/** A body that notes whether a stream was marked running while the store read it. */
async function* noting(data: Buffer, seen: { streaming?: boolean }): AsyncIterable<Buffer> {
  seen.streaming = streamingNow();
  yield data;
}

test('a body over 1 MiB or of unknown length streams marked; a small one with its length does not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-upload-streaming-'));
  const meta = openSqlite(join(dir, 'berth.db'));
  try {
    await meta.migrate();
    const uploads = new UploadService(meta, await FsBlobStore.open(join(dir, 'storage')));
    const repo = 'streaming/app' as RepoName;
    const push = async (data: Buffer, length: number | undefined) => {
      const seen: { streaming?: boolean } = {};
      await uploads.putMonolithic(repo, sha256(data) as Digest, noting(data, seen), length);
      return seen.streaming;
    };
    const small = randomBlob(100_000, 0.61);
    const large = randomBlob(2 * 1024 * 1024, 0.62);
    assert.equal(await push(small, small.length), false);
    assert.equal(await push(large, large.length), true);
    assert.equal(await push(randomBlob(1000, 0.63), undefined), true, 'a body of unknown length may be large');
    assert.equal(streamingNow(), false, 'every stream ended with its upload');
    // A chunked upload's PATCH and its final PUT take the same path.
    const session = await uploads.start(repo);
    const seen: { streaming?: boolean } = {};
    await uploads.append(repo, session.id, noting(large, seen), undefined, large.length);
    assert.equal(seen.streaming, true);
    assert.equal(streamingNow(), false);
  } finally {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  }
});
