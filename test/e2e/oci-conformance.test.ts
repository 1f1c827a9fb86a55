/**
 * The OCI distribution-spec conformance suite (v1.1: pull, push, content discovery, content
 * management) against Berth on the default stores (SQLite + filesystem), with access control
 * on: the suite signs in as a user through the Docker token flow, as real clients do. Every
 * spec must pass. test/matrix/oci-conformance-postgres-s3.test.ts runs the same on PostgreSQL + S3.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, ADMIN_PASSWORD, api, ok, startAuthBerth } from '../helpers/auth.js';
import { conformanceSkipReason, runConformance } from '../helpers/conformance.js';

test('the OCI distribution-spec conformance suite passes on SQLite + filesystem', { timeout: 400_000 }, async (t) => {
  const skip = conformanceSkipReason();
  if (skip) return t.skip(skip);
  const b = await startAuthBerth();
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
});
