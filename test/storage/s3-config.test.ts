/** The `storage.driver: s3` configuration: defaults, BERTH_* environment keys, and refusals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';

test('storage.driver s3 gets a default for every key', () => {
  const { storage } = parseConfig({ storage: { driver: 's3' } });
  assert.deepEqual(storage, {
    driver: 's3',
    s3: { region: 'us-east-1', bucket: 'berth', prefix: '', forcePathStyle: false, redirect: false, redirectExpirySeconds: 600, partSizeBytes: 16 * 1024 * 1024 },
    verifyReads: false,
  });
});

test('S3 settings come from BERTH_STORAGE__S3__* variables', () => {
  const { storage } = loadConfig({
    env: {
      BERTH_STORAGE__DRIVER: 's3',
      BERTH_STORAGE__S3__ENDPOINT: 'http://127.0.0.1:9000',
      BERTH_STORAGE__S3__FORCE_PATH_STYLE: 'true',
      BERTH_STORAGE__S3__PART_SIZE_BYTES: '8388608',
      BERTH_TEST_STORAGE: 's3', // a test switch, not a configuration key
    },
  });
  assert.equal(storage.driver, 's3');
  assert.equal(storage.driver === 's3' && storage.s3.endpoint, 'http://127.0.0.1:9000');
  assert.equal(storage.driver === 's3' && storage.s3.forcePathStyle, true);
  assert.equal(storage.driver === 's3' && storage.s3.partSizeBytes, 8 * 1024 * 1024);
});

test('parts below the S3 minimum, unknown keys and bad endpoints are refused by name', () => {
  assert.throws(() => parseConfig({ storage: { driver: 's3', s3: { partSizeBytes: 1000 } } }), /storage\.s3\.partSizeBytes/);
  assert.throws(() => parseConfig({ storage: { driver: 's3', s3: { bukket: 'x' } } }), /unknown configuration key storage\.s3\.bukket/);
  assert.throws(() => parseConfig({ storage: { driver: 's3', s3: { endpoint: 'not a url' } } }), /storage\.s3\.endpoint/);
});
