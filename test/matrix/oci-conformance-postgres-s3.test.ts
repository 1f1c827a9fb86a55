/**
 * The OCI distribution-spec conformance suite (v1.1) against Berth on the scale-out stores:
 * PostgreSQL metadata (a database of its own) and S3 blob storage on the real Ceph RADOS
 * Gateway (scripts/ceph-rgw.sh), with access control on. Every spec must pass, as on the
 * default stores (test/e2e/oci-conformance.test.ts). Needs PostgreSQL, Ceph and the suite;
 * under CI=true a missing one fails, elsewhere the test skips with the reason.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, ADMIN_PASSWORD, api, ok, startAuthBerth } from '../helpers/auth.js';
import { conformanceSkipReason, runConformance } from '../helpers/conformance.js';
import { createTestDatabase, postgresSkipReason } from '../helpers/postgres.js';
import { cephEndpoint } from '../helpers/s3.js';
import { testStorage } from '../helpers/storage.js';

test('the OCI distribution-spec conformance suite passes on PostgreSQL + S3 (Ceph RGW)', { timeout: 600_000 }, async (t) => {
  const missing = conformanceSkipReason();
  const ceph = await cephEndpoint(); // throws under CI=true when Ceph cannot start
  const pg = await postgresSkipReason();
  const skip = missing ?? pg ?? (typeof ceph === 'string' ? ceph : undefined);
  if (skip) return t.skip(skip);
  const database = await createTestDatabase();
  const storage = (await testStorage('s3'))!;
  try {
    const b = await startAuthBerth({ metadata: { driver: 'postgres', postgres: { url: database.url } } as never, storage: storage.storage });
    try {
      await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'conformance', public: false }));
      const r = await runConformance(b.url, 'admin', ADMIN_PASSWORD, `conformance/r${Date.now()}`);
      assert.ok(r.tests > 50, `expected the whole suite to run, got ${r.tests} specs:\n${r.output}`);
      assert.deepEqual(r.failed, [], `failed specs:\n${r.failed.join('\n')}\n${r.output}`);
      assert.equal(r.failures + r.errors, 0, r.output);
      assert.equal(r.exitCode, 0, r.output);
    } finally {
      await b.close();
    }
  } finally {
    await storage.cleanup();
    await database.drop();
  }
});
