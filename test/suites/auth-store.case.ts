/**
 * The AuthStore contract (src/metadata/auth-store.ts): users (with credentialsChangedAt),
 * projects and their usage summary, memberships, robots, access tokens, sessions, signing
 * keys (replace included), the shared failed-login counters and audit events, and
 * transactions. Every implementation runs it unchanged, through interface methods only;
 * afterEach fails a test that left a row behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError } from '../../src/errors/store.js';
import type { AuthStore } from '../../src/metadata/auth-store.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import type { RepoName } from '../../src/domain/names.js';
import { digest, storeHooks } from './store-fixtures.js';

export interface AuthHarness {
  auth: AuthStore;
  /** The metadata store over the same database (projects summarise its content). */
  meta: MetadataStore;
  rowCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export function authStoreSuite(name: string, open: () => Promise<AuthHarness>, skip?: string): void {
  describe(`AuthStore contract: ${name}`, { skip }, () => {
    let h: AuthHarness;
    let s: AuthStore;
    storeHooks(open, (x) => {
      h = x;
      s = x.auth;
    });

    it('keeps users, refuses a taken name, and records when credentials changed', async () => {
      const alice = await s.users.insert({ name: 'alice', passwordHash: 'h1', admin: true }, 100);
      assert.deepEqual({ ...alice, id: 0 }, { id: 0, name: 'alice', passwordHash: 'h1', admin: true, disabled: false, createdAt: 100, credentialsChangedAt: 100 });
      await assert.rejects(s.users.insert({ name: 'alice', passwordHash: 'x', admin: false }, 101), ConflictError);
      const bob = await s.users.insert({ name: 'bob', passwordHash: 'h2', admin: false }, 102);
      assert.equal(await s.users.count(), 2);
      assert.deepEqual((await s.users.list(undefined, 10)).map((u) => u.name), ['alice', 'bob']);
      assert.deepEqual((await s.users.list('alice', 10)).map((u) => u.name), ['bob']);
      assert.deepEqual((await s.users.byId(bob.id))?.name, 'bob');
      await s.users.update(bob.id, { passwordHash: 'h3' }, 200);
      assert.deepEqual([(await s.users.byName('bob'))?.passwordHash, (await s.users.byName('bob'))?.credentialsChangedAt], ['h3', 102], 'credentialsChangedAt moves only when given');
      await s.users.update(bob.id, { disabled: true, admin: true, credentialsChangedAt: 300 }, 300);
      const b = await s.users.byId(bob.id);
      assert.deepEqual([b?.disabled, b?.admin, b?.credentialsChangedAt], [true, true, 300]);
      assert.equal(await s.users.delete(bob.id), true);
      assert.equal(await s.users.delete(bob.id), false);
      assert.equal(await s.users.byName('bob'), undefined);
      assert.equal(await s.users.delete(alice.id), true);
    });

    it('keeps projects with memberships and robots, and summarises their content', async () => {
      const p = await s.projects.insert({ name: 'team', public: false }, 10);
      assert.deepEqual(p, { name: 'team', public: false, createdAt: 10 });
      await assert.rejects(s.projects.insert({ name: 'team', public: true }, 11), ConflictError);
      await s.projects.insert({ name: 'open', public: true }, 12);
      assert.equal(await s.projects.update('team', { public: true }), true);
      assert.equal(await s.projects.update('absent', { public: true }), false);
      assert.equal(await s.projects.update('team', {}), true);
      assert.equal((await s.projects.get('team'))?.public, true);

      const d = digest('team-blob');
      await h.meta.blobs.insert({ digest: d, size: 1234 }, 1);
      await h.meta.blobs.link('team/app' as RepoName, d, 'pushed', 1);
      assert.equal(await s.projects.repositoryCount('team'), 1);
      assert.deepEqual(await s.projects.summary('team'), { name: 'team', public: true, createdAt: 10, repositoryCount: 1, storageBytes: 1234 });
      assert.equal(await s.projects.summary('absent'), undefined);
      assert.deepEqual((await s.projects.list(undefined, 10)).map((x) => [x.name, x.storageBytes]), [
        ['open', 0],
        ['team', 1234],
      ]);
      assert.deepEqual((await s.projects.list('open', 10)).map((x) => x.name), ['team']);
      assert.deepEqual((await s.projects.list(undefined, 10, ['team'])).map((x) => x.name), ['team']);
      assert.deepEqual(await s.projects.list(undefined, 10, []), []);

      const u = await s.users.insert({ name: 'carol', passwordHash: 'h', admin: false }, 1);
      await s.members.set('team', u.id, 'developer', 1);
      await s.members.set('open', u.id, 'guest', 1);
      await s.members.set('team', u.id, 'maintainer', 2);
      assert.equal(await s.members.role('team', u.id), 'maintainer');
      assert.equal(await s.members.role('absent', u.id), undefined);
      assert.deepEqual(await s.members.rolesOf(u.id), { team: 'maintainer', open: 'guest' });
      assert.deepEqual(await s.members.list('team'), [{ user: 'carol', role: 'maintainer' }]);
      assert.equal(await s.members.remove('open', u.id), true);
      assert.equal(await s.members.remove('open', u.id), false);

      const robot = await s.robots.insert({ name: 'team+ci', project: 'team', secretHash: 's', permissions: { team: ['pull', 'push'] }, expiresAt: 500, createdAt: 5 });
      assert.deepEqual({ ...robot, id: 0 }, { id: 0, name: 'team+ci', project: 'team', secretHash: 's', permissions: { team: ['pull', 'push'] }, expiresAt: 500, lastUsedAt: null, createdAt: 5 });
      await assert.rejects(s.robots.insert({ name: 'team+ci', project: 'team', secretHash: 's', permissions: {}, expiresAt: null, createdAt: 6 }), ConflictError);
      await s.robots.touch('team+ci', 77);
      assert.equal((await s.robots.byName('team+ci'))?.lastUsedAt, 77);
      assert.deepEqual((await s.robots.list('team')).map((r) => r.name), ['team+ci']);

      // Deleting a project takes its memberships and robots with it.
      assert.equal(await s.projects.delete('team'), true);
      assert.equal(await s.projects.delete('team'), false);
      assert.equal(await s.robots.byName('team+ci'), undefined);
      assert.deepEqual(await s.members.rolesOf(u.id), {});
      assert.equal(await s.robots.delete('team+ci'), false);
      await s.projects.delete('open');
      await s.users.delete(u.id);
      await h.meta.repositories.delete('team/app' as RepoName);
      await h.meta.blobs.delete(d);
    });

    it('keeps access tokens and sessions, and drops them with their user', async () => {
      const u = await s.users.insert({ name: 'dave', passwordHash: 'h', admin: false }, 1);
      await s.tokens.insert({ id: 't1', userId: u.id, name: 'ci', secretHash: 'x', scopes: ['read'], expiresAt: null, createdAt: 2 });
      await s.tokens.insert({ id: 't2', userId: u.id, name: 'cd', secretHash: 'y', scopes: [], expiresAt: 99, createdAt: 3 });
      assert.deepEqual(await s.tokens.get('t1'), { id: 't1', userId: u.id, name: 'ci', secretHash: 'x', scopes: ['read'], expiresAt: null, lastUsedAt: null, createdAt: 2 });
      await s.tokens.touch('t1', 50);
      assert.equal((await s.tokens.get('t1'))?.lastUsedAt, 50);
      assert.deepEqual((await s.tokens.list(u.id)).map((t) => t.id).sort(), ['t1', 't2']);
      assert.equal(await s.tokens.delete(u.id + 1, 't1'), false, 'only its owner deletes a token');
      assert.equal(await s.tokens.delete(u.id, 't1'), true);

      await s.sessions.insert('s1', { userId: u.id, csrfToken: 'c1', expiresAt: 100 }, 1);
      await s.sessions.insert('s2', { userId: u.id, csrfToken: 'c2', expiresAt: 300 }, 1);
      await s.sessions.insert('s3', { userId: u.id, csrfToken: 'c3', expiresAt: 300 }, 1);
      assert.deepEqual(await s.sessions.get('s1'), { userId: u.id, csrfToken: 'c1', expiresAt: 100 });
      await s.sessions.deleteExpired(200);
      assert.equal(await s.sessions.get('s1'), undefined);
      await s.sessions.delete('s2');
      assert.equal(await s.sessions.get('s2'), undefined);
      assert.ok(await s.sessions.get('s3'));
      await s.sessions.deleteForUser(u.id);
      assert.equal(await s.sessions.get('s3'), undefined);

      await s.sessions.insert('s4', { userId: u.id, csrfToken: 'c4', expiresAt: 300 }, 1);
      await s.users.delete(u.id);
      assert.equal(await s.sessions.get('s4'), undefined);
      assert.equal(await s.tokens.get('t2'), undefined);
    });

    it('keeps signing keys: insert, replace, retire, delete retired ones', async () => {
      await s.keys.insert({ kid: 'k1', privateJwk: 'plain', createdAt: 1 });
      await s.keys.insert({ kid: 'k2', privateJwk: 'two', createdAt: 2 });
      await s.keys.replace('k1', 'sealed');
      await s.keys.replace('absent', 'x');
      assert.deepEqual((await s.keys.list()).sort((a, b) => (a.kid < b.kid ? -1 : 1)), [
        { kid: 'k1', privateJwk: 'sealed', createdAt: 1, retiredAt: null },
        { kid: 'k2', privateJwk: 'two', createdAt: 2, retiredAt: null },
      ]);
      await s.keys.retire('k1', 10);
      await s.keys.deleteRetiredBefore(10);
      assert.equal((await s.keys.list()).find((k) => k.kid === 'k1')?.retiredAt, 10, 'retired at the cut-off stays');
      await s.keys.deleteRetiredBefore(11);
      assert.deepEqual((await s.keys.list()).map((k) => k.kid), ['k2'], 'unretired keys stay');
      await s.keys.retire('k2', 20);
      await s.keys.deleteRetiredBefore(21);
      assert.deepEqual(await s.keys.list(), []);
    });

    it('counts failed logins in fixed windows shared by every caller', async () => {
      assert.deepEqual(await s.loginFailures.record('a', 100, 0), { failures: 1, resetAt: 100 });
      assert.deepEqual(await s.loginFailures.record('a', 100, 50), { failures: 2, resetAt: 100 }, 'the window does not move');
      assert.deepEqual(await s.loginFailures.record('a', 100, 100), { failures: 1, resetAt: 200 }, 'an ended window starts again');
      await Promise.all(Array.from({ length: 8 }, () => s.loginFailures.record('b', 1000, 10)));
      const got = await s.loginFailures.get(['a', 'b', 'c'], 150);
      assert.deepEqual(Object.fromEntries(got), { a: { failures: 1, resetAt: 200 }, b: { failures: 8, resetAt: 1010 } }, 'concurrent failures all count');
      assert.deepEqual(Object.fromEntries(await s.loginFailures.get(['a'], 200)), {}, 'a window is closed at its reset time');
      assert.deepEqual(Object.fromEntries(await s.loginFailures.get([], 0)), {});
      await s.loginFailures.clear('b');
      assert.deepEqual(Object.fromEntries(await s.loginFailures.get(['b'], 150)), {});
      assert.equal(await s.loginFailures.deleteExpired(199), 0);
      assert.equal(await s.loginFailures.deleteExpired(200), 1);
    });

    it('appends audit events, queries them newest first with filters, and deletes old ones', async () => {
      const ev = (at: number, actor: string, action: string, project: string | null) => ({ at, actor, action, resource: `r${at}`, project, result: 'success' as const, sourceAddress: '10.0.0.1', detail: { n: at } });
      await s.audit.insert([ev(1, 'ann', 'push', 'p'), ev(2, 'ben', 'pull', 'p'), ev(3, 'ann', 'login', null)]);
      await s.audit.insert([]);
      const all = await s.audit.query({ limit: 10 });
      assert.deepEqual(all.map((e) => e.at), [3, 2, 1]);
      assert.deepEqual({ ...all[2]!, id: 0 }, { id: 0, ...ev(1, 'ann', 'push', 'p') });
      assert.deepEqual((await s.audit.query({ actor: 'ann', limit: 10 })).map((e) => e.at), [3, 1]);
      assert.deepEqual((await s.audit.query({ project: 'p', action: 'pull', limit: 10 })).map((e) => e.at), [2]);
      assert.deepEqual((await s.audit.query({ since: 2, until: 3, limit: 10 })).map((e) => e.at), [2]);
      assert.deepEqual((await s.audit.query({ before: { at: all[0]!.at, id: all[0]!.id }, limit: 1 })).map((e) => e.at), [2]);
      assert.equal(await s.audit.deleteBefore(3), 2);
      assert.equal(await s.audit.deleteBefore(4), 1);
    });

    it('keeps trust policies by project and issuer; deleting the project deletes them', async () => {
      await s.projects.insert({ name: 'app', public: false }, 1);
      await s.projects.insert({ name: 'lib', public: false }, 1);
      const a = await s.trustPolicies.insert({ project: 'app', issuer: 'https://gitlab.example.com', audience: 'berth', claims: { project_path: 'group/app', ref_protected: 'true' }, permissions: ['pull', 'push'], createdBy: 'admin', createdAt: 5 });
      const b = await s.trustPolicies.insert({ project: 'lib', issuer: 'https://gitlab.example.com', audience: 'berth', claims: { project_path: 'group/*' }, permissions: ['pull'], createdBy: 'ann', createdAt: 6 });
      const c = await s.trustPolicies.insert({ project: 'app', issuer: 'https://token.actions.githubusercontent.com', audience: 'x', claims: { repository: 'o/r' }, permissions: ['pull'], createdBy: 'admin', createdAt: 7 });
      assert.ok(a.id !== b.id && b.id !== c.id);
      assert.deepEqual(await s.trustPolicies.list('app'), [a, c]);
      assert.deepEqual(await s.trustPolicies.byIssuer('https://gitlab.example.com'), [a, b]);
      assert.deepEqual(await s.trustPolicies.byIssuer('https://nobody'), []);
      assert.equal(await s.trustPolicies.delete('lib', a.id), false, 'another project\'s policy is not deleted');
      assert.equal(await s.trustPolicies.delete('app', a.id), true);
      assert.equal(await s.trustPolicies.delete('app', a.id), false);
      assert.deepEqual(await s.trustPolicies.list('app'), [c]);
      assert.equal(await s.projects.delete('app'), true);
      assert.equal(await s.projects.delete('lib'), true);
      assert.deepEqual(await s.trustPolicies.byIssuer('https://gitlab.example.com'), []);
      assert.deepEqual(await s.trustPolicies.list('app'), []);
    });

    it('keeps external identities: one per user, one user per provider subject, gone with the user', async () => {
      const ann = await s.users.insert({ name: 'ann', passwordHash: '!', admin: false }, 1);
      const bob = await s.users.insert({ name: 'bob', passwordHash: '!', admin: false }, 1);
      await s.externalIdentities.put({ userId: ann.id, provider: 'oidc', subject: 'sub-ann', granted: { app: 'developer' }, syncedAt: 10 });
      assert.deepEqual(await s.externalIdentities.byUser(ann.id), { userId: ann.id, provider: 'oidc', subject: 'sub-ann', granted: { app: 'developer' }, syncedAt: 10 });
      await s.externalIdentities.put({ userId: ann.id, provider: 'oidc', subject: 'sub-ann', granted: {}, syncedAt: 20 });
      assert.deepEqual((await s.externalIdentities.bySubject('oidc', 'sub-ann'))?.granted, {});
      assert.equal((await s.externalIdentities.bySubject('oidc', 'sub-ann'))?.syncedAt, 20);
      assert.equal(await s.externalIdentities.bySubject('ldap', 'sub-ann'), undefined);
      await assert.rejects(s.externalIdentities.put({ userId: bob.id, provider: 'oidc', subject: 'sub-ann', granted: {}, syncedAt: 30 }), ConflictError);
      assert.equal(await s.externalIdentities.byUser(bob.id), undefined);
      await s.users.delete(ann.id);
      await s.users.delete(bob.id);
      assert.equal(await s.externalIdentities.bySubject('oidc', 'sub-ann'), undefined);
    });

    it('commits a transaction, and rolls it back when it throws', async () => {
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.users.insert({ name: 'tx', passwordHash: 'h', admin: false }, 1);
          await tx.audit.insert([{ at: 1, actor: 'tx', action: 'user.create', resource: 'tx', project: null, result: 'success', sourceAddress: null, detail: null }]);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await s.users.byName('tx'), undefined);
      assert.deepEqual(await s.audit.query({ limit: 10 }), []);
      const u = await s.transaction(async (tx) => {
        const created = await tx.users.insert({ name: 'tx', passwordHash: 'h', admin: false }, 1);
        await tx.audit.insert([{ at: 1, actor: 'tx', action: 'user.create', resource: 'tx', project: null, result: 'success', sourceAddress: null, detail: null }]);
        return created;
      });
      assert.equal((await s.audit.query({ actor: 'tx', limit: 10 }))[0]?.detail, null);
      await s.users.delete(u.id);
      await s.audit.deleteBefore(2);
    });
  });
}
