/**
 * The pure rules of the lifecycle, without a store: retention planning (which tags and
 * untagged manifests a policy moves to the trash), the garbage collector's live set and its
 * sweep re-checks, and whether a trash entry holds its manifest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LockedManifest, ManifestGraph } from '../../src/metadata/gc-store.js';
import type { GcPolicy } from '../../src/lifecycle/gc.js';
import { holds, liveManifests } from '../../src/lifecycle/gc-mark.js';
import { blobCollectable, linkCollectable, manifestCollectable } from '../../src/lifecycle/gc-sweep.js';
import { plan, type TagInfo } from '../../src/lifecycle/retention.js';
import { retentionPolicySchema } from '../../src/lifecycle/settings.js';

const DAY = 86_400_000;
const NOW = 100 * DAY;

function tag(repository: string, name: string, over: Partial<TagInfo> = {}): TagInfo {
  return { repository, tag: name, digest: `sha256:${repository}:${name}`, pushedAt: NOW - DAY, pulledAt: null, immutable: false, ...over };
}

const policy = (p: unknown) => retentionPolicySchema.parse(p);
const removed = (r: ReturnType<typeof plan>) => r.tags.map((t) => `${t.repository}:${t.tag}`);

describe('retention plan', () => {
  it('keeps the most recently pushed tags per repository, in scope only', () => {
    const tags = [
      tag('p/a', 'v1', { pushedAt: NOW - 3 * DAY }),
      tag('p/a', 'v2', { pushedAt: NOW - 2 * DAY }),
      tag('p/a', 'v3', { pushedAt: NOW - DAY }),
      tag('p/b', 'old', { pushedAt: 0 }),
      tag('p/skip', 'old', { pushedAt: 0 }),
    ];
    const r = plan(policy({ rules: [{ repositories: ['a', 'b'], keep: { kind: 'lastPushed', count: 2 } }] }), tags, [], NOW);
    assert.deepEqual(removed(r), ['p/a:v1']);
    assert.equal(r.retained, 4, 'out-of-scope repositories are retained whole');
  });

  it('breaks push-time ties by tag name', () => {
    const tags = [tag('p/a', 'b'), tag('p/a', 'a'), tag('p/a', 'c')];
    assert.deepEqual(removed(plan(policy({ rules: [{ keep: { kind: 'lastPushed', count: 1 } }] }), tags, [], NOW)), ['p/a:b', 'p/a:c']);
  });

  it('keeps tags pulled or pushed within a number of days', () => {
    const tags = [tag('p/a', 'pulled', { pushedAt: 0, pulledAt: NOW - 2 * DAY }), tag('p/a', 'stale', { pushedAt: 0, pulledAt: NOW - 40 * DAY }), tag('p/a', 'never', { pushedAt: 0 }), tag('p/a', 'fresh')];
    const r = plan(policy({ rules: [{ keep: { kind: 'pulledWithinDays', days: 7 } }, { keep: { kind: 'pushedWithinDays', days: 7 } }] }), tags, [], NOW);
    assert.deepEqual(removed(r), ['p/a:never', 'p/a:stale'], 'a tag stays if any rule keeps it');
    assert.equal(r.retained, 2);
  });

  it('only considers the tags a rule matches, minus its exclusions', () => {
    const tags = [tag('p/a', 'dev-1', { pushedAt: 0 }), tag('p/a', 'dev-keep', { pushedAt: 0 }), tag('p/a', 'v1', { pushedAt: 0 })];
    const r = plan(policy({ rules: [{ tags: ['dev-*'], excludeTags: ['*-keep'], keep: { kind: 'all' } }] }), tags, [], NOW);
    assert.deepEqual(removed(r), ['p/a:dev-keep', 'p/a:v1'], 'tags no rule considers are kept by none, so they go');
  });

  it('never removes protected or immutable tags', () => {
    const tags = [tag('p/a', 'latest', { pushedAt: 0 }), tag('p/a', 'v1', { pushedAt: 0, immutable: true }), tag('p/a', 'x', { pushedAt: 0 })];
    const r = plan(policy({ rules: [{ keep: { kind: 'lastPushed', count: 0 } }], protect: [{ tags: ['latest'] }] }), tags, [], NOW);
    assert.deepEqual(removed(r), ['p/a:x']);
    assert.equal(r.retained, 2);
  });

  it('keeps everything with a keep-all rule and with no rules at all', () => {
    const tags = [tag('p/a', 'x', { pushedAt: 0 })];
    assert.deepEqual(removed(plan(policy({ rules: [{ keep: { kind: 'all' } }] }), tags, [], NOW)), []);
    assert.deepEqual(plan(policy({}), tags, [{ repository: 'p/a', digest: 'd' }], NOW), { tags: [], untagged: [], retained: 1 });
  });

  it('moves untagged manifests of repositories in scope only with untagged: remove', () => {
    const untagged = [
      { repository: 'p/a', digest: 'd1' },
      { repository: 'p/other', digest: 'd2' },
    ];
    const rules = [{ repositories: ['a'], keep: { kind: 'all' } }];
    assert.deepEqual(plan(policy({ rules, untagged: 'remove' }), [], untagged, NOW).untagged, [{ repository: 'p/a', digest: 'd1' }]);
    assert.deepEqual(plan(policy({ rules, untagged: 'keep' }), [], untagged, NOW).untagged, []);
    assert.deepEqual(plan(policy({ rules }), [], untagged, NOW).untagged, []);
  });

  it('lists removals in repository, then tag order, and matches repository paths inside the project', () => {
    const tags = [tag('p/z/deep', 'b', { pushedAt: 0 }), tag('p/z/deep', 'a', { pushedAt: 0 }), tag('p/a', 'c', { pushedAt: 0 })];
    const r = plan(policy({ rules: [{ repositories: ['**'], keep: { kind: 'lastPushed', count: 0 } }] }), tags, [], NOW);
    assert.deepEqual(removed(r), ['p/a:c', 'p/z/deep:a', 'p/z/deep:b']);
    assert.deepEqual(removed(plan(policy({ rules: [{ repositories: ['z/*'], keep: { kind: 'lastPushed', count: 0 } }] }), tags, [], NOW)), ['p/z/deep:a', 'p/z/deep:b']);
  });
});

const collectAll: GcPolicy = { deleteUntagged: () => true, orphanReferrers: 'delete' };

describe('garbage collection rules', () => {
  it('holds a manifest while its trash entry is unexpired, and for good once an untagged one is restored', () => {
    assert.equal(holds({ tag: 't', expiresAt: 10, restoredAt: null }, 9), true);
    assert.equal(holds({ tag: 't', expiresAt: 10, restoredAt: null }, 10), false);
    assert.equal(holds({ tag: 't', expiresAt: 10, restoredAt: 5 }, 9), false, 'the restored tag holds it instead');
    assert.equal(holds({ tag: null, expiresAt: 10, restoredAt: 5 }, 99), true);
  });

  it('finds the live manifests: roots, their children and referrers', () => {
    const graph: ManifestGraph = {
      manifests: [
        { id: 1, repositoryId: 1, digest: 'idx', subject: null, project: 'p' },
        { id: 2, repositoryId: 1, digest: 'child', subject: null, project: 'p' },
        { id: 3, repositoryId: 1, digest: 'sig', subject: 'child', project: 'p' },
        { id: 4, repositoryId: 1, digest: 'loose', subject: null, project: 'p' },
        { id: 5, repositoryId: 1, digest: 'trashed', subject: null, project: 'keep' },
        { id: 6, repositoryId: 1, digest: 'kept', subject: null, project: 'keep' },
        { id: 7, repositoryId: 1, digest: 'orphan-sig', subject: 'gone', project: 'p' },
      ],
      tagged: [1],
      trash: [{ manifestId: 5, entry: { tag: null, expiresAt: 10, restoredAt: null } }],
      children: [{ parentId: 1, childId: 2 }],
    };
    const policy: GcPolicy = { deleteUntagged: (p) => p !== 'keep', orphanReferrers: 'delete' };
    assert.deepEqual([...liveManifests(graph, policy, 5)].sort(), [1, 2, 3, 5, 6]);
    assert.deepEqual([...liveManifests(graph, policy, 11)].sort(), [1, 2, 3, 6], 'an expired trash entry releases its manifest even where untagged ones are kept');
    assert.deepEqual([...liveManifests(graph, { ...policy, orphanReferrers: 'keep' }, 11)].sort(), [1, 2, 3, 6, 7]);
  });

  it('re-checks a locked manifest', () => {
    const m: LockedManifest = { id: 1, repositoryId: 1, repository: 'p/a', project: 'p', digest: 'd', size: 1, pushedAt: 0, subject: null, tagged: false, hasParent: false, subjectPresent: false, trash: [] };
    const r = { now: 100, graceMs: 10, policy: collectAll };
    assert.equal(manifestCollectable(m, r), true);
    assert.equal(manifestCollectable({ ...m, pushedAt: 91 }, r), false, 'pushed within the grace period');
    assert.equal(manifestCollectable({ ...m, pushedAt: 90 }, r), true);
    assert.equal(manifestCollectable({ ...m, tagged: true }, r), false);
    assert.equal(manifestCollectable({ ...m, hasParent: true }, r), false);
    assert.equal(manifestCollectable({ ...m, trash: [{ tag: 't', expiresAt: 200, restoredAt: null }] }, r), false);
    assert.equal(manifestCollectable(m, { ...r, policy: { ...collectAll, deleteUntagged: () => false } }), false, 'the project keeps untagged manifests');
    assert.equal(manifestCollectable({ ...m, trash: [{ tag: 't', expiresAt: 50, restoredAt: null }] }, { ...r, policy: { ...collectAll, deleteUntagged: () => false } }), true, 'released by an expired trash entry');
    assert.equal(manifestCollectable({ ...m, subject: 's', subjectPresent: true }, r), false);
    assert.equal(manifestCollectable({ ...m, subject: 's', subjectPresent: false }, r), true);
    assert.equal(manifestCollectable({ ...m, subject: 's' }, { ...r, policy: { ...collectAll, orphanReferrers: 'keep' } }), false);
  });

  it('re-checks links and blobs', () => {
    const r = { now: 100, graceMs: 10 };
    assert.equal(linkCollectable({ createdAt: 90, used: false }, r), true);
    assert.equal(linkCollectable({ createdAt: 91, used: false }, r), false);
    assert.equal(linkCollectable({ createdAt: 0, used: true }, r), false);
    assert.equal(blobCollectable({ createdAt: 90, used: false }, r), true);
    assert.equal(blobCollectable({ createdAt: 91, used: false }, r), false);
    assert.equal(blobCollectable({ createdAt: 0, used: true }, r), false);
  });
});
