/**
 * The signing contract of the metadata store (src/metadata/signing-store.ts): a project's
 * policy stored and replaced as JSON, and its signing keys — one active at a time, rotation
 * keeping the retired ones, newest first, sealed values stored as given, everything of a
 * project forgotten on delete. Runs unchanged on every implementation; afterEach fails a test
 * that left a row behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetadataStore } from '../../src/metadata/store.js';
import type { StoreHarness } from '../helpers/metadata.js';
import { storeHooks } from './store-fixtures.js';

export function signingStoreSuite(name: string, open: () => Promise<StoreHarness>, skip?: string): void {
  describe(`Signing store contract: ${name}`, { skip }, () => {
    let s: MetadataStore;
    storeHooks(open, (x) => void (s = x.store));

    it('stores, replaces and forgets a project policy', async () => {
      assert.equal(await s.signing.policy('p'), undefined);
      const policy = { verify: { keys: ['-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n'], certificates: [], enforce: true }, signOnPush: false };
      await s.signing.setPolicy('p', policy, 1);
      assert.deepEqual(await s.signing.policy('p'), policy);
      await s.signing.setPolicy('p', { ...policy, signOnPush: true }, 2);
      assert.deepEqual(await s.signing.policy('p'), { ...policy, signOnPush: true });
      assert.equal(await s.signing.policy('q'), undefined, 'other projects have none');
      await s.signing.delete('p');
      assert.equal(await s.signing.policy('p'), undefined);
      await s.signing.delete('p'); // no-op
    });

    it('rotates keys: one active, the retired kept newest first, per project', async () => {
      assert.deepEqual(await s.signing.keys('p'), []);
      const k1 = await s.transaction((tx) => tx.signing.rotate('p', { fingerprint: 'sha256:1', publicKey: 'pub1', sealedPrivateKey: 'sealed:v1:one' }, 10));
      assert.equal(k1.retiredAt, null);
      await s.transaction((tx) => tx.signing.rotate('other', { fingerprint: 'sha256:o', publicKey: 'pubo', sealedPrivateKey: 'sealed:v1:o' }, 11));
      const k2 = await s.transaction((tx) => tx.signing.rotate('p', { fingerprint: 'sha256:2', publicKey: 'pub2', sealedPrivateKey: 'sealed:v1:two' }, 20));
      const keys = await s.signing.keys('p');
      assert.deepEqual(
        keys.map((k) => [k.id, k.fingerprint, k.publicKey, k.sealedPrivateKey, k.createdAt, k.retiredAt]),
        [
          [k2.id, 'sha256:2', 'pub2', 'sealed:v1:two', 20, null],
          [k1.id, 'sha256:1', 'pub1', 'sealed:v1:one', 10, 20],
        ],
      );
      assert.equal((await s.signing.keys('other'))[0]!.retiredAt, null, "another project's key is untouched");
      // Concurrent rotations leave exactly one active key.
      await Promise.all([3, 4, 5].map((n) => s.transaction((tx) => tx.signing.rotate('p', { fingerprint: `sha256:${n}`, publicKey: `pub${n}`, sealedPrivateKey: `sealed:v1:${n}` }, 30 + n))));
      assert.equal((await s.signing.keys('p')).filter((k) => k.retiredAt === null).length, 1);
      await s.signing.delete('p');
      await s.signing.delete('other');
      assert.deepEqual(await s.signing.keys('p'), []);
    });
  });
}
