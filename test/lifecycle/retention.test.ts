/**
 * Retention through the management API on a real server: every rule kind, include/exclude
 * patterns, protect rules (and immutable tags) win, dry run == real run, trash holds the
 * manifests from GC, restore brings back exactly what was removed, untagged handling.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { sqlOf } from '../helpers/metadata.js';
import { pushImage, randomBlob } from '../helpers/oci.js';

const lifecycle = { gc: { schedule: null }, schedulerEnabled: false };
const DAY = 86_400_000;

async function api(t: TestBerth, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${t.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function tagMap(t: TestBerth, project: string): Promise<Record<string, string>> {
  const rows = await sqlOf(t.berth.meta)
    .selectFrom('tags as t')
    .innerJoin('repositories as r', 'r.id', 't.repository_id')
    .innerJoin('manifests as m', 'm.id', 't.manifest_id')
    .select(['r.name', 't.name as tag', 'm.digest'])
    .where('r.project', '=', project)
    .execute();
  return Object.fromEntries(rows.map((r) => [`${r.name}:${r.tag}`, r.digest]).sort());
}

/** Pushes tags in order, each "pushed" a day after the previous (oldest first). */
async function pushTags(t: TestBerth, repo: string, tags: string[]): Promise<void> {
  let i = 0;
  for (const tag of tags) {
    const img = await pushImage(t.url, repo, tag, { layers: [randomBlob(300, Math.random())] });
    await sqlOf(t.berth.meta).updateTable('manifests').set({ pushed_at: Date.now() - (tags.length - i) * DAY }).where('digest', '=', img.digest).execute();
    i++;
  }
}

async function runRetention(t: TestBerth, project: string, dryRun: boolean) {
  const r = await api(t, 'POST', `/api/v1/projects/${project}/retention/runs`, { dryRun });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json as { runId: number; tags: { repository: string; tag: string; digest: string }[]; untagged: { repository: string; digest: string }[]; retained: number };
}

test('keep N most recently pushed, protect wins, dry run equals the real run, restore is exact', async () => {
  const t = await startBerth({ lifecycle });
  try {
    await pushTags(t, 'p/app', ['v1', 'v2', 'v3', 'v4', 'latest', 'prod']);
    await pushTags(t, 'p/other', ['a', 'b']); // not in the rule's scope
    const put = await api(t, 'PUT', '/api/v1/projects/p/retention', {
      rules: [{ repositories: ['app'], tags: ['v*'], keep: { kind: 'lastPushed', count: 2 } }],
      protect: [{ tags: ['prod'] }],
      trashDays: 7,
    });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    await api(t, 'PUT', '/api/v1/projects/p/immutability', { rules: [{ name: 'latest-locked', tags: ['latest'] }] });

    const before = await tagMap(t, 'p');
    const dry = await runRetention(t, 'p', true);
    assert.deepEqual(await tagMap(t, 'p'), before, 'a dry run changes nothing');
    const real = await runRetention(t, 'p', false);
    assert.deepEqual(real.tags, dry.tags, 'the real run removes exactly what the dry run reported');
    assert.deepEqual(
      real.tags.map((x) => x.tag),
      ['v1', 'v2'],
    );
    const after = await tagMap(t, 'p');
    assert.deepEqual(Object.keys(after).sort(), ['p/app:latest', 'p/app:prod', 'p/app:v3', 'p/app:v4', 'p/other:a', 'p/other:b']);

    // Trashed manifests survive GC until the window ends.
    const gc = await t.berth.lifecycle.runs.run('test', { graceMs: 0 });
    assert.equal(gc.report.totals.manifest.count, 0);

    const trash = await api(t, 'GET', '/api/v1/trash?project=p');
    assert.equal(trash.json.items.length, 2);
    const restored = await api(t, 'POST', '/api/v1/trash/restore', { runId: real.runId });
    assert.equal(restored.status, 200);
    assert.equal(restored.json.restored.length, 2);
    assert.deepEqual(await tagMap(t, 'p'), before, 'restore brings back exactly what was removed');
    assert.equal((await fetch(`${t.url}/v2/p/app/manifests/v1`)).status, 200);

    // A restored tag holds its manifest itself: once deleted again, GC may take the manifest.
    const v1 = before['p/app:v1']!;
    assert.equal((await fetch(`${t.url}/v2/p/app/manifests/v1`, { method: 'DELETE' })).status, 202);
    const again = await t.berth.lifecycle.runs.run('test', { graceMs: 0 });
    assert.deepEqual(
      again.report.items.manifest.map((m) => m.digest),
      [v1],
    );

    const runs = await api(t, 'GET', '/api/v1/retention/runs?project=p');
    assert.deepEqual(
      runs.json.items.map((r: { dryRun: boolean; status: string }) => [r.dryRun, r.status]),
      [
        [false, 'succeeded'],
        [true, 'succeeded'],
      ],
    );
  } finally {
    await t.close();
  }
});

test('pulled-within and pushed-within rules, include/exclude patterns', async () => {
  const t = await startBerth({ lifecycle });
  try {
    await pushTags(t, 'q/app', ['old', 'mid', 'new', 'dev-1', 'dev-2']);
    const db = sqlOf(t.berth.meta);
    const digestOf = async (tag: string) =>
      (await db.selectFrom('tags as t').innerJoin('manifests as m', 'm.id', 't.manifest_id').select('m.digest').where('t.name', '=', tag).executeTakeFirstOrThrow()).digest;
    await db.updateTable('manifests').set({ last_pulled_at: Date.now() - 1 * DAY }).where('digest', '=', await digestOf('old')).execute();
    await db.updateTable('manifests').set({ last_pulled_at: Date.now() - 30 * DAY }).where('digest', '=', await digestOf('mid')).execute();

    await api(t, 'PUT', '/api/v1/projects/q/retention', { rules: [{ tags: ['**'], excludeTags: ['dev-*'], keep: { kind: 'pulledWithinDays', days: 7 } }] });
    assert.deepEqual((await runRetention(t, 'q', true)).tags.map((x) => x.tag), ['dev-1', 'dev-2', 'mid', 'new']);

    // pushes were 5..1 days ago: old=5, mid=4, new=3, dev-1=2, dev-2=1
    await api(t, 'PUT', '/api/v1/projects/q/retention', { rules: [{ tags: ['**'], keep: { kind: 'pushedWithinDays', days: 3.5 } }] });
    assert.deepEqual((await runRetention(t, 'q', true)).tags.map((x) => x.tag), ['mid', 'old']);

    // Two rules: the union of what they keep stays.
    await api(t, 'PUT', '/api/v1/projects/q/retention', {
      rules: [
        { tags: ['dev-*'], keep: { kind: 'lastPushed', count: 1 } },
        { tags: ['**'], excludeTags: ['dev-*'], keep: { kind: 'all' } },
      ],
    });
    const r = await runRetention(t, 'q', false);
    assert.deepEqual(r.tags.map((x) => x.tag), ['dev-1']);
  } finally {
    await t.close();
  }
});

test('untagged manifests: remove moves them to the trash; GC reclaims them once it expires', async () => {
  const t = await startBerth({ lifecycle });
  try {
    const img = await pushImage(t.url, 'u/app', 'gone', { layers: [randomBlob(500, 0.42)] });
    await pushImage(t.url, 'u/app', 'stay', { layers: [randomBlob(500, 0.43)] });
    await fetch(`${t.url}/v2/u/app/manifests/gone`, { method: 'DELETE' });
    await api(t, 'PUT', '/api/v1/projects/u/retention', { rules: [{ keep: { kind: 'all' } }], untagged: 'keep' });
    assert.equal((await t.berth.lifecycle.runs.run('test', { graceMs: 0 })).report.totals.manifest.count, 0, 'untagged: keep protects untagged manifests from GC');

    await api(t, 'PUT', '/api/v1/projects/u/retention', { rules: [{ keep: { kind: 'all' } }], untagged: 'remove', trashDays: 0 });
    const r = await runRetention(t, 'u', false);
    assert.deepEqual(r.untagged, [{ repository: 'u/app', digest: img.digest }]);
    const gc = await t.berth.lifecycle.runs.run('test', { graceMs: 0 });
    assert.deepEqual(
      gc.report.items.manifest.map((m) => m.digest),
      [img.digest],
    );
    assert.equal((await fetch(`${t.url}/v2/u/app/manifests/stay`)).status, 200);
  } finally {
    await t.close();
  }
});

test('API validates policies and reports problems', async () => {
  const t = await startBerth({ lifecycle });
  try {
    const bad = await api(t, 'PUT', '/api/v1/projects/p/retention', { rules: [{ keep: { kind: 'lastPushed' } }] });
    assert.equal(bad.status, 400);
    const badCron = await api(t, 'PUT', '/api/v1/projects/p/retention', { rules: [], schedule: 'every day' });
    assert.equal(badCron.status, 400);
    const none = await api(t, 'POST', '/api/v1/projects/zz/retention/runs', {});
    assert.equal(none.status, 404);
    const r = await fetch(`${t.url}/api/v1/projects/BAD!/quota`);
    assert.equal(r.status, 400);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  } finally {
    await t.close();
  }
});
