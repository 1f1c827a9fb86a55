/** The BlobStore contract suite over the filesystem store, in a fresh temp folder. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { faultyFs } from '../helpers/faults.js';
import { blobStoreSuite } from '../suites/blob-store.case.js';

blobStoreSuite('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-store-'));
  const store = await FsBlobStore.open(root);
  return {
    store,
    openPeer: () => FsBlobStore.open(root),
    openFaulty: (faults) => FsBlobStore.open(root, faultyFs(faults)),
    partSize: 1024 * 1024,
    // Empty folders may stay; any file is a leftover.
    async leftovers() {
      const entries = await readdir(root, { recursive: true, withFileTypes: true });
      return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath ?? e.path, e.name));
    },
    async close() {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});
