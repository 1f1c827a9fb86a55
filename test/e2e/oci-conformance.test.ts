/**
 * The OCI distribution-spec conformance suite (v1.1: pull, push, content discovery, content
 * management) against Berth on the default stores (SQLite + filesystem), with access control
 * on: the suite signs in as a user through the Docker token flow, as real clients do. Every
 * spec must pass. test/matrix/oci-conformance-postgres-s3.test.ts runs the same on PostgreSQL + S3.
 */
import { test } from 'node:test';
import { startAuthBerth } from '../helpers/auth.js';
import { assertConformance, CONFORMANCE_CONFIG, conformanceSkipReason } from '../helpers/conformance.js';

test('the OCI distribution-spec conformance suite passes on SQLite + filesystem', { timeout: 400_000 }, async (t) => {
  const skip = conformanceSkipReason();
  if (skip) return t.skip(skip);
  const b = await startAuthBerth(CONFORMANCE_CONFIG);
  try {
    await assertConformance(b.url);
  } finally {
    await b.close();
  }
});
