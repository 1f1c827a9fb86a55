/**
 * The contract of the event, webhook and replication query groups (src/metadata/event-store.ts),
 * run unchanged on every implementation through interface methods only; afterEach fails a test
 * that left a row behind (cursors and run history are kept by contract).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError } from '../../src/errors/store.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import type { StoreHarness } from '../helpers/metadata.js';
import { storeHooks } from './store-fixtures.js';

const HISTORY: ReadonlySet<string> = new Set(['gc_runs', 'retention_runs', 'event_cursors', 'replication_runs', 'replication_items']);

export function eventStoreSuite(name: string, open: () => Promise<StoreHarness>, skip?: string): void {
  describe(`Event store contract: ${name}`, { skip }, () => {
    let s: MetadataStore;
    storeHooks(open, (x) => void (s = x.store), HISTORY);

    it('appends events in id order, reads them after a position, and prunes only behind the cursor', async () => {
      const start = (await s.events.after(0, 10_000)).at(-1)?.id ?? 0;
      const a = await s.events.append({ at: 10, type: 'artifact.pushed', project: 'p', repository: 'p/r', actor: 'alice', data: { digest: 'sha256:1', tag: 't' } });
      const b = await s.transaction((tx) => tx.events.append({ at: 20, type: 'tag.deleted', project: 'p', repository: 'p/r', actor: null, data: { tag: 't' } }));
      assert.ok(b > a);
      const got = await s.events.after(start, 10);
      assert.deepEqual(got, [
        { id: a, at: 10, type: 'artifact.pushed', project: 'p', repository: 'p/r', actor: 'alice', data: { digest: 'sha256:1', tag: 't' } },
        { id: b, at: 20, type: 'tag.deleted', project: 'p', repository: 'p/r', actor: null, data: { tag: 't' } },
      ]);
      assert.deepEqual((await s.events.after(a, 10)).map((e) => e.id), [b]);
      assert.deepEqual(await s.events.after(b, 10), []);
      // A rolled-back append leaves nothing.
      await assert.rejects(s.transaction(async (tx) => {
        await tx.events.append({ at: 30, type: 'quota.warning', project: null, repository: null, actor: null, data: {} });
        throw new Error('rollback');
      }));
      assert.deepEqual(await s.events.after(b, 10), []);
      // Prune: old enough and at most upTo.
      assert.equal(await s.events.prune(15, b), 1);
      assert.deepEqual((await s.events.after(start, 10)).map((e) => e.id), [b]);
      assert.equal(await s.events.prune(100, a), 0);
      assert.equal(await s.events.prune(100, b), 1);
    });

    it('moves a cursor only from where it is (compare and set)', async () => {
      const c = `test-${Math.random()}`;
      assert.equal(await s.events.cursor(c), 0);
      assert.equal(await s.events.advance(c, 5, 7, 1), false);
      assert.equal(await s.events.advance(c, 0, 7, 1), true);
      assert.equal(await s.events.advance(c, 0, 9, 1), false, 'a second first move loses');
      assert.equal(await s.events.cursor(c), 7);
      assert.equal(await s.events.advance(c, 7, 9, 2), true);
      assert.equal(await s.events.advance(c, 7, 12, 2), false);
      assert.equal(await s.events.cursor(c), 9);
    });

    it('keeps webhook subscriptions and an ordered delivery queue per subscription', async () => {
      const w = await s.webhooks.insert({ project: 'p', url: 'https://example.com/h', events: ['artifact.pushed'], secret: 'whsec_x', format: 'cloudevents' }, 5);
      const sys = await s.webhooks.insert({ project: null, url: 'https://example.com/s', events: ['tag.deleted'], secret: 's', format: 'harbor' }, 5);
      assert.deepEqual(await s.webhooks.get(w.id), { id: w.id, project: 'p', url: 'https://example.com/h', events: ['artifact.pushed'], secret: 'whsec_x', format: 'cloudevents', enabled: true, disabledReason: null, failedDeliveries: 0, createdAt: 5, updatedAt: 5 });
      assert.deepEqual((await s.webhooks.list('p')).map((x) => x.id), [w.id]);
      assert.deepEqual((await s.webhooks.list(null)).map((x) => x.id), [sys.id]);
      assert.deepEqual((await s.webhooks.enabledFor('p')).map((x) => x.id).sort(), [w.id, sys.id].sort());
      assert.deepEqual((await s.webhooks.enabledFor('q')).map((x) => x.id), [sys.id]);
      assert.equal(await s.webhooks.anySubscribed('artifact.pushed'), true);
      assert.equal(await s.webhooks.anySubscribed('tag.deleted'), true);
      assert.equal(await s.webhooks.anySubscribed('artifact.pulled'), false);
      assert.equal(await s.webhooks.update(w.id, { enabled: false, disabledReason: 'x', failedDeliveries: 3 }, 6), true);
      assert.deepEqual((await s.webhooks.enabledFor('p')).map((x) => x.id), [sys.id]);
      assert.equal(await s.webhooks.anySubscribed('artifact.pushed'), false, 'a disabled subscription receives nothing');
      assert.equal(await s.webhooks.update(999_999, { enabled: true }, 6), false);

      const d1 = await s.webhooks.addDelivery({ webhookId: w.id, eventId: 1, eventType: 'artifact.pushed', messageId: 'm1', body: '{"a":1}' }, 7);
      const d2 = await s.webhooks.addDelivery({ webhookId: w.id, eventId: 2, eventType: 'artifact.pushed', messageId: 'm2', body: '{"a":2}' }, 8);
      assert.equal((await s.webhooks.head(w.id))!.id, d1);
      await s.webhooks.recordAttempt(d1, { status: 'pending', attempts: 1, nextAttemptAt: 100, responseStatus: 500, latencyMs: 3, responseExcerpt: 'no', error: 'HTTP 500' }, 9);
      assert.equal((await s.webhooks.head(w.id))!.id, d1, 'a failing head stays the head');
      await s.webhooks.recordAttempt(d1, { status: 'delivered', attempts: 2, nextAttemptAt: 9, responseStatus: 200, latencyMs: 4, responseExcerpt: 'ok', error: null }, 10);
      assert.equal((await s.webhooks.head(w.id))!.id, d2);
      const d = (await s.webhooks.delivery(d1))!;
      assert.deepEqual([d.status, d.attempts, d.responseStatus, d.latencyMs, d.responseExcerpt, d.error, d.messageId, d.body], ['delivered', 2, 200, 4, 'ok', null, 'm1', '{"a":1}']);
      assert.deepEqual((await s.webhooks.deliveries(w.id, undefined, 10)).map((x) => x.id), [d2, d1]);
      assert.deepEqual((await s.webhooks.deliveries(w.id, d2, 10)).map((x) => x.id), [d1]);
      assert.equal(await s.webhooks.delete(w.id), true);
      assert.equal(await s.webhooks.delivery(d2), undefined, 'deleting a subscription deletes its log');
      assert.equal(await s.webhooks.delete(w.id), false);
      assert.equal(await s.webhooks.delete(sys.id), true);
    });

    it('keeps replication targets, policies, runs and their results', async () => {
      await s.replication.insertTarget({ name: 't1', url: 'https://r.example', username: 'u', password: 'p', insecure: false }, 1);
      await assert.rejects(s.replication.insertTarget({ name: 't1', url: 'x', username: null, password: null, insecure: true }, 1), ConflictError);
      assert.deepEqual(await s.replication.target('t1'), { name: 't1', url: 'https://r.example', username: 'u', password: 'p', insecure: false, createdAt: 1 });
      const policy = { name: 'p1', target: 't1', direction: 'push' as const, repositories: ['team/**'], tags: ['v*'], trigger: 'event' as const, schedule: null, options: { referrers: true }, enabled: true };
      await s.replication.insertPolicy(policy, 2);
      await assert.rejects(s.replication.insertPolicy(policy, 2), ConflictError);
      assert.deepEqual(await s.replication.policy('p1'), { ...policy, createdAt: 2, updatedAt: 2 });
      assert.deepEqual((await s.replication.policies('event')).map((p) => p.name), ['p1']);
      assert.deepEqual(await s.replication.policies('cron'), []);
      await assert.rejects(s.replication.deleteTarget('t1'), ConflictError);

      const id = await s.replication.createRun({ policy: 'p1', trigger: 'event', scope: { repository: 'team/a', reference: 'v1' } }, 3);
      assert.equal((await s.replication.run(id))!.status, 'queued');
      assert.equal(await s.replication.setRunStatus(id, 'running', { onlyFrom: ['queued'] }, 4), true);
      assert.equal(await s.replication.setRunStatus(id, 'running', { onlyFrom: ['queued'] }, 4), false);
      await s.replication.addItem(id, { artifact: 'team/a:v1', digest: 'sha256:x', status: 'copied', bytes: 10, error: null, at: 5 });
      assert.equal(await s.replication.setRunStatus(id, 'succeeded', { summary: { copied: 1 }, error: null, onlyFrom: ['running'] }, 6), true);
      const r = (await s.replication.run(id))!;
      assert.deepEqual([r.status, r.finishedAt, r.summary, r.scope], ['succeeded', 6, { copied: 1 }, { repository: 'team/a', reference: 'v1' }]);
      assert.deepEqual(await s.replication.items(id, 10), [{ artifact: 'team/a:v1', digest: 'sha256:x', status: 'copied', bytes: 10, error: null, at: 5 }]);
      assert.deepEqual((await s.replication.runs('p1', 10)).map((x) => x.id)[0], id);
      assert.equal(await s.replication.deletePolicy('p1'), true);
      assert.equal(await s.replication.deleteTarget('t1'), true);
      assert.equal(await s.replication.deleteTarget('t1'), false);
    });
  });
}
