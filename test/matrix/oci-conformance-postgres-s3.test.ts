/**
 * The OCI distribution-spec conformance suite (v1.1) against Berth on the scale-out stores:
 * PostgreSQL metadata (a database of its own) and S3 blob storage on the real Ceph RADOS
 * Gateway (scripts/ceph-rgw.sh), with access control on. Every spec must pass, as on the
 * default stores (test/e2e/oci-conformance.test.ts). Needs PostgreSQL, Ceph and the suite;
 * under CI=true a missing one fails, elsewhere the test skips with the reason.
 */
import { test } from 'node:test';
import { startAuthBerth } from '../helpers/auth.js';
import { assertConformance, CONFORMANCE_CONFIG, conformanceSkipReason } from '../helpers/conformance.js';
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
    const b = await startAuthBerth({ ...CONFORMANCE_CONFIG, metadata: { driver: 'postgres', postgres: { url: database.url } } as never, storage: storage.storage });
    try {
      await assertConformance(b.url);
    } finally {
      await b.close();
    }
  } finally {
    await storage.cleanup();
    await database.drop();
  }
});
