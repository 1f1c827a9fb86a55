/**
 * The outbox: an event exists exactly when its change committed. A rolled-back change (a
 * refused push, a transaction that throws) leaves no event; a committed one survives a
 * SIGKILL of the server before anything was delivered, and after the restart every event
 * reaches the webhook, each once. Across three nodes over one PostgreSQL database every event
 * is handed off once (one delivery per event, however the nodes' dispatchers race), and each
 * replication run an event triggers is created once and run once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { emitEvent } from '../../src/events/emit.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { imageManifest, pushImage, randomBlob, sha256 } from '../helpers/oci.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { BerthProcess } from '../helpers/process.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { missingTools } from '../helpers/tools.js';
import { TEST_KEY_ENCRYPTION_KEY } from '../helpers/node-process.js';
import { eventually, Receiver } from '../helpers/receiver.js';

describe('outbox: events commit with their change', () => {
  let b: TestBerth;
  before(async () => {
    b = await startBerth({ jobs: { enabled: false } });
  });
  after(async () => b?.close());

  it('a committed push writes one event; a refused push and a rolled-back transaction write none', async () => {
    const meta = b.berth.meta;
    const { digest } = await pushImage(b.url, 'lib/app', 'v1');
    // The push's audit entry is written after its response went out (see below): wait for it, so
    // that what follows is measured after everything the push wrote.
    const pushAudited = async () => (await meta.events.after(0, 100)).some((e) => e.type === 'audit.push' && e.data.result === 'success');
    await eventually(pushAudited, 10_000, "the push's audit event");
    const events = await meta.events.after(0, 100);
    const pushed = events.filter((e) => e.type === 'artifact.pushed');
    assert.equal(pushed.length, 1);
    assert.equal(pushed[0]!.repository, 'lib/app');
    assert.equal(pushed[0]!.project, 'lib');
    assert.deepEqual([pushed[0]!.data.digest, pushed[0]!.data.tag], [digest, 'v1']);
    const last = events.at(-1)!.id;

    // A manifest whose layer was never pushed: refused, so no event.
    const config = Buffer.from('{}');
    const r = await fetch(`${b.url}/v2/lib/app/manifests/v2`, { method: 'PUT', body: new Uint8Array(imageManifest(config, [randomBlob(10)])), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(r.status, 404); // MANIFEST_BLOB_UNKNOWN
    // A transaction that emits and then fails.
    await assert.rejects(
      meta.transaction(async (tx) => {
        await emitEvent(tx, { type: 'quota.warning', project: 'lib', data: { percent: 91 } });
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    // Only the refusal's audit entry (an event of the audit log) was written; no change event.
    // The entry is written after the response went out (the audit log's own transaction), so
    // it may land a moment after the rolled-back one: wait for it, then nothing else may be there.
    const afterRefusal = async () => (await meta.events.after(last, 100)).map((e) => [e.type, e.data.result]);
    await eventually(async () => (await afterRefusal()).length > 0, 10_000, "the refusal's audit event");
    assert.deepEqual(await afterRefusal(), [['audit.push', 'failure']]);
    const lastAudit = (await meta.events.after(last, 100)).at(-1)!.id;

    // Tag delete and manifest delete are events too, and so is a blob mount.
    const layer = randomBlob(50);
    await pushImage(b.url, 'lib/app', 'v3', { layers: [layer] });
    const m = await fetch(`${b.url}/v2/lib/other/blobs/uploads/?mount=${sha256(layer)}&from=lib/app`, { method: 'POST' });
    assert.equal(m.status, 201);
    assert.equal((await fetch(`${b.url}/v2/lib/app/manifests/v3`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${b.url}/v2/lib/app/manifests/${digest}`, { method: 'DELETE' })).status, 202);
    const types = (await meta.events.after(lastAudit, 100)).map((e) => e.type).filter((t) => !t.startsWith('audit.'));
    assert.deepEqual(types, ['artifact.pushed', 'blob.mounted', 'tag.deleted', 'artifact.deleted']);
  });
});

describe('outbox: a SIGKILL between the change and its delivery loses nothing', () => {
  const rx = new Receiver();
  let p: BerthProcess;
  const env: Record<string, string> = { BERTH_JOBS__ENABLED: 'false', BERTH_WEBHOOKS__ALLOW_PRIVATE_NETWORKS: 'true', BERTH_EVENTS__POLL_MS: '50', BERTH_JOBS__POLL_MS: '50', BERTH_WEBHOOKS__RETRY_BASE_MS: '100', BERTH_WEBHOOKS__RETRY_MAX_MS: '200' };
  before(async () => {
    await rx.start();
    p = await BerthProcess.start({ env });
  });
  after(async () => {
    await p?.dispose();
    await rx.stop();
  });

  it('delivers every acknowledged change after restarts', async () => {
    const created = await fetch(`${p.url}/api/v1/system/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: rx.url, events: ['artifact.pushed'] }) });
    assert.equal(created.status, 201, await created.text());
    // Phase 1: no dispatcher, no worker: the pushes are acknowledged and only the outbox has them.
    const digests: string[] = [];
    for (let i = 0; i < 5; i++) digests.push((await pushImage(p.url, 'crash/app', `a${i}`)).digest);
    await p.restart(); // SIGKILL, then start again...
    // Phase 2: ...now with jobs: the events become deliveries, but the receiver is down.
    await rx.stop();
    await p.kill('SIGKILL');
    env.BERTH_JOBS__ENABLED = 'true';
    await p.restart();
    for (let i = 5; i < 8; i++) digests.push((await pushImage(p.url, 'crash/app', `a${i}`)).digest);
    await new Promise((r) => setTimeout(r, 500)); // deliveries are failing and backing off
    await p.restart(); // SIGKILL in the middle of the retries
    await rx.start();
    await rx.waitFor((r) => new Set(r.filter((x) => x.status === 200).map((x) => x.headers['webhook-id'])).size >= 8, 20_000, 'all eight events');
    const got = rx.delivered().map((e) => e.data.digest);
    assert.deepEqual([...new Set(got)].sort(), [...digests].sort());
    // In push order (first arrivals).
    const firsts: string[] = [];
    for (const d of got) if (!firsts.includes(d)) firsts.push(d);
    assert.deepEqual(firsts, digests);
  });
});

const pgSkip = await postgresSkipReason();
describe('outbox: three nodes over one PostgreSQL database hand each event off once', { skip: pgSkip ?? missingTools('docker-registry') }, () => {
  const rx = new Receiver();
  let dist: Distribution;
  let db: TestDatabase;
  let dir: string;
  const nodes: TestBerth[] = [];
  before(async () => {
    await rx.start();
    dist = await startDistribution();
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'berth-events-nodes-'));
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await startBerth({
          metadata: { driver: 'postgres', postgres: { url: db.url } },
          storage: { driver: 'filesystem', filesystem: { root: join(dir, 'storage') } },
          events: { pollMs: 20 },
          jobs: { pollMs: 20, concurrency: 4 },
          webhooks: { allowPrivateNetworks: true },
          auth: { enabled: false, keyEncryptionKey: TEST_KEY_ENCRYPTION_KEY },
        }),
      );
    }
  });
  after(async () => {
    for (const n of nodes) await n.close();
    await dist?.stop();
    await db?.drop();
    await rx.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('delivers every push from every node exactly once, and runs each triggered replication once', async () => {
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${nodes[0]!.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.ok(r.status === 201, `${path}: ${r.status} ${await r.text()}`);
    };
    await post('/system/webhooks', { url: rx.url, events: ['artifact.pushed'] });
    await post('/replication/targets', { name: 'dist', url: dist.url });
    await post('/replication/policies', { name: 'copy', target: 'dist', direction: 'push', repositories: ['multi/**'], trigger: 'event' });
    const pushes = Array.from({ length: 30 }, (_, i) => ({ node: nodes[i % 3]!, tag: `t${i}` }));
    await Promise.all(pushes.map(({ node, tag }) => pushImage(node.url, 'multi/app', tag)));
    await rx.waitFor((r) => r.length >= 30, 20_000, '30 deliveries');
    await new Promise((r) => setTimeout(r, 500)); // any duplicate would arrive by now
    const tags = rx.delivered().map((e) => e.subject);
    assert.equal(tags.length, 30, `deliveries: ${tags.length}`);
    assert.deepEqual([...new Set(tags)].sort(), pushes.map((p) => `multi/app:${p.tag}`).sort());
    const ids = new Set((await nodes[1]!.berth.meta.events.after(0, 1000)).filter((e) => e.type === 'artifact.pushed').map((e) => e.id));
    assert.equal(ids.size, 30);
    // A node that found the subscription's drain lease held comes back when that lease would run
    // out (in case its holder was killed), so the last delivery jobs end up to one lease (10 s) later.
    await eventually(async () => (await nodes[2]!.berth.jobs.list({ kind: 'webhook.deliver', status: 'queued' })).length === 0, 20_000, 'the delivery jobs to finish');
    // One replication run per push, each run once (one result each), all copied.
    const meta = nodes[1]!.berth.meta;
    const runs = await eventually(async () => {
      const rs = await meta.replication.runs('copy', 1000);
      return rs.length === 30 && rs.every((r) => r.status === 'succeeded') && rs;
    }, 30_000, '30 succeeded replication runs');
    assert.deepEqual(runs.map((r) => r.scope!.reference).sort(), pushes.map((p) => p.tag).sort());
    for (const r of runs) assert.deepEqual((await meta.replication.items(r.id, 10)).map((i) => [i.artifact, i.status]), [[`multi/app:${r.scope!.reference}`, 'copied']]);
    const jobs = await nodes[0]!.berth.jobs.list({ kind: 'replication.run', limit: 1000 });
    assert.equal(jobs.length, 30);
    assert.ok(jobs.every((j) => j.status === 'succeeded' && j.attempts === 1), JSON.stringify(jobs.map((j) => [j.status, j.attempts, j.lockedBy])));
    assert.ok(new Set(jobs.map((j) => j.payload && (j.payload as { run: number }).run)).size === 30);
  });
});
