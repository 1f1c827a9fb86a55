/**
 * Anonymous callers cannot grow the database: a flood of anonymous token requests with huge
 * scope strings writes bounded summaries, at most the per-address allowance of rows per
 * minute plus one summary of what was dropped; failed logins (and the 429s that follow them)
 * are limited the same way. Signed-in callers' events are all recorded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqlMetadataStore } from '../../src/metadata/sql/store.js';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';

test('a flood of anonymous token requests with huge scopes writes a bounded summary', { timeout: 120_000 }, async () => {
  const b = await startAuthBerth();
  const db = (b.berth.meta as SqlMetadataStore).db;
  try {
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'pub', public: true }));
    // ~60 kB of scopes per request (the form limit is 64 kB), 300 requests.
    const scope = Array.from({ length: 1200 }, (_, i) => `repository:pub/r${i}-${'x'.repeat(30)}:pull`).join(' ');
    const form = new URLSearchParams({ grant_type: 'password', service: 'berth', scope }).toString();
    const started = Date.now();
    for (let i = 0; i < 300; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const r = await fetch(`${b.url}/auth/token?service=berth&scope=${encodeURIComponent(scope.slice(0, 6000))}`);
          await r.arrayBuffer();
          assert.equal(r.status, 200);
          // The OAuth2 form without a password counts as a failed login attempt from this address.
          const p = await fetch(`${b.url}/auth/token`, { method: 'POST', body: form, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
          await p.arrayBuffer();
        }),
      );
    }
    // Failed logins with a real name: 429 after a few, and the 429s are not each a row.
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${b.url}/v2/`, { headers: { Authorization: basic('admin', `wrong-${i}`) } });
      await r.arrayBuffer();
      assert.ok(r.status === 401 || r.status === 429, String(r.status));
    }
    const elapsedMinutes = Math.ceil((Date.now() - started) / 60_000);
    // Signed in, everything is recorded.
    for (let i = 0; i < 70; i++) await ok(api(b.url, 'GET', '/projects', ADMIN));
    await ok(api(b.url, 'GET', '/audit?limit=1', ADMIN)); // flushes the queue
    const rows = await db.selectFrom('audit_events').select(['actor', 'action', 'resource', 'detail', 'result']).execute();
    const unauthenticated = rows.filter((r) => r.actor === 'anonymous' || (r.action === 'login' && r.result === 'failure'));
    const suppressed = rows.filter((r) => r.action === 'audit.suppressed');
    assert.ok(unauthenticated.length - suppressed.length <= 60 * (elapsedMinutes + 1), `unauthenticated rows: ${unauthenticated.length}`);
    const bytes = rows.reduce((n, r) => n + r.resource.length + (r.detail?.length ?? 0), 0);
    assert.ok(bytes < 2 * 1024 * 1024, `audit rows hold ${bytes} bytes`);
    for (const r of rows) {
      assert.ok(r.resource.length <= 600, `resource of ${r.action} is ${r.resource.length} characters`);
      assert.ok((r.detail?.length ?? 0) <= 5000, `detail of ${r.action} is ${r.detail?.length} characters`);
    }
  } finally {
    await b.close();
  }
});

test('dropped unauthenticated events are summarized, signed-in events are all kept', async () => {
  const b = await startAuthBerth({ audit: { unauthenticatedPerMinute: 5, unauthenticatedPerMinuteTotal: 50 } as never });
  const db = (b.berth.meta as SqlMetadataStore).db;
  try {
    for (let i = 0; i < 40; i++) await (await fetch(`${b.url}/auth/token?service=berth&scope=repository:a/b:pull`)).arrayBuffer();
    for (let i = 0; i < 20; i++) await (await fetch(`${b.url}/auth/token?service=berth&scope=repository:a/b:pull`, { headers: { Authorization: ADMIN } })).arrayBuffer();
    await ok(api(b.url, 'GET', '/audit?limit=1', ADMIN));
    const issued = await db.selectFrom('audit_events').select(['actor']).where('action', '=', 'token.issue').execute();
    assert.equal(issued.filter((r) => r.actor === 'anonymous').length, 5, 'five per address per minute');
    assert.equal(issued.filter((r) => r.actor === 'admin').length, 20, 'signed-in events are not limited');
  } finally {
    await b.close();
  }
  // Closing writes the summary of the minute (the database is gone with the test server, so
  // check through a fresh log over a store double instead).
  const { AuditLog } = await import('../../src/audit/audit-log.js');
  const written: { action: string; detail: unknown }[] = [];
  const store = { transaction: async (fn: (tx: unknown) => Promise<void>) => fn({ audit: { insert: async (events: { action: string; detail: unknown }[]) => void written.push(...events) } }) };
  const log = new AuditLog(store as never, { retentionDays: 1, unauthenticatedPerMinute: 2, unauthenticatedPerMinuteTotal: 3 });
  for (let i = 0; i < 10; i++) log.record({ actor: 'anonymous', action: 'token.issue', resource: 'x'.repeat(10_000), result: 'success', sourceAddress: i < 6 ? '10.0.0.1' : '10.0.0.2', detail: { big: 'y'.repeat(10_000) } });
  await log.close();
  assert.equal(written.filter((e) => e.action === 'token.issue').length, 3, 'two from the first address, one more within the total');
  const summary = written.find((e) => e.action === 'audit.suppressed');
  assert.ok(summary, 'a summary of what was dropped');
  assert.equal((summary!.detail as { dropped: number }).dropped, 7);
  assert.deepEqual((summary!.detail as { top: unknown[] }).top, [{ address: '10.0.0.1', count: 4 }, { address: '10.0.0.2', count: 3 }]);
  const kept = written.find((e) => e.action === 'token.issue') as unknown as { resource: string; detail: { truncated: boolean } };
  assert.ok(kept.resource.length < 600);
  assert.equal(kept.detail.truncated, true);
});
