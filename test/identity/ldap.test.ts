/**
 * LDAP logins against a real slapd (scripts/slapd.sh, test/fixtures/ldap.ldif): Basic on /v2,
 * the token endpoint and the UI sign-in check the password against the directory; users are
 * created on first login with the roles their groups map to (and admin from adminGroups);
 * a group change in the directory is picked up at the next login (roles given by groups are
 * removed, a role set by hand stays); a wrong password, an unknown user and a filter
 * injection are refused; the local bootstrap admin keeps its local password; with the
 * directory down a login fails with a clear error and is not counted as a failed login.
 * StartTLS and LDAPS work with the directory's CA, and an untrusted certificate is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { randomBlob, sha256 } from '../helpers/oci.js';
import { slapdMissing, startSlapd, type TestSlapd } from '../helpers/slapd.js';

const ALICE = basic('alice', 'alice-password-1');
const BOB = basic('bob', 'bob-password-1');

describe('LDAP logins with group sync', { skip: slapdMissing() }, () => {
  let ldap: TestSlapd;
  let b: TestBerth;

  before(async () => {
    ldap = await startSlapd({ tls: true });
    b = await startAuthBerth({
      auth: {
        enabled: true,
        // Every login asks the directory, so the group changes below show at once.
        credentialCacheSeconds: 0,
        ldap: { url: ldap.url, bindDn: 'cn=berth,ou=services,dc=example,dc=org', bindPassword: 'berth-bind-secret', userBase: 'ou=people,dc=example,dc=org', groupBase: 'ou=groups,dc=example,dc=org', timeoutSeconds: 2 },
        groupMappings: [
          { group: 'app-developers', project: 'app', role: 'developer' },
          { group: 'app-maintainers', project: 'app', role: 'maintainer' },
          { group: 'app-developers', project: 'lib', role: 'guest' },
          { group: 'app-developers', project: 'not-created', role: 'guest' },
        ],
        adminGroups: ['registry-admins'],
      },
    });
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'app', public: false }));
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'lib', public: false }));
  });
  after(async () => {
    await b?.close();
    await ldap?.close();
  });

  async function members(project: string): Promise<Record<string, string>> {
    const r = await ok(api(b.url, 'GET', `/projects/${project}/members`, ADMIN));
    return Object.fromEntries(r.items.map((m: { user: string; role: string }) => [m.user, m.role]));
  }

  test('Basic on /v2 creates the user with the roles its groups give; the token endpoint and UI sign-in take the same password', async () => {
    const blob = randomBlob(100);
    const push = await fetch(`${b.url}/v2/app/web/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob as unknown as BodyInit, headers: { Authorization: ALICE, 'Content-Type': 'application/octet-stream' } });
    assert.equal(push.status, 201, await push.text());
    assert.equal((await members('app')).alice, 'maintainer', 'the strongest mapped role');
    assert.equal((await members('lib')).alice, 'guest');

    const t = await fetch(`${b.url}/auth/token?service=berth&scope=repository:lib/x:pull,push`, { headers: { Authorization: ALICE } });
    assert.equal(t.status, 200);
    assert.deepEqual(decodeJwt(((await t.json()) as { token: string }).token).access, [{ type: 'repository', name: 'lib/x', actions: ['pull'] }]);

    const login = await api(b.url, 'POST', '/auth/login', undefined, { username: 'alice', password: 'alice-password-1' });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const me = await api(b.url, 'GET', '/auth/me', undefined, undefined, { Cookie: cookie });
    assert.deepEqual(me.body.user, { name: 'alice', admin: false });
  });

  test('a new user\'s first requests in parallel create one account', async () => {
    const carol = basic('carol', 'carol-password-1');
    const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(`${b.url}/v2/app/web/tags/list`, { headers: { Authorization: carol } })));
    assert.deepEqual(answers.map((r) => r.status).filter((s) => s !== 404 && s !== 200), [], 'every request authenticated');
    assert.equal((await members('app')).carol, 'developer');
  });

  test('adminGroups make a system admin; the local admin keeps its local password', async () => {
    assert.equal((await api(b.url, 'GET', '/users', BOB)).status, 200, 'bob is in registry-admins');
    const users = await ok(api(b.url, 'GET', '/users', ADMIN));
    assert.deepEqual(users.items.map((u: { name: string; admin: boolean }) => [u.name, u.admin]).sort(), [['admin', true], ['alice', false], ['bob', true], ['carol', false]]);
    assert.equal((await api(b.url, 'GET', '/users', basic('admin', 'wrong-password'))).status, 401);
  });

  test('wrong passwords, unknown users, empty passwords and filter injection are refused', async () => {
    for (const [user, pw] of [['alice', 'wrong'], ['nobody', 'x'], ['alice', ''], ['*', 'alice-password-1'], ['alice)(uid=*', 'alice-password-1'], ['berth', 'berth-bind-secret']]) {
      const r = await fetch(`${b.url}/v2/`, { headers: { Authorization: basic(user!, pw!) } });
      assert.equal(r.status, 401, `${user}:${pw}`);
    }
    const r = await api(b.url, 'POST', '/auth/login', undefined, { username: 'alice', password: 'wrong' });
    assert.equal(r.status, 401);
    assert.match(r.body.detail, /invalid user name or password/);
  });

  test('a group change in the directory is picked up at the next login; a role set by hand stays', async () => {
    await ok(api(b.url, 'PUT', '/projects/lib/members/bob', ADMIN, { role: 'maintainer' }));
    await ldap.modify(
      [
        'dn: cn=app-maintainers,ou=groups,dc=example,dc=org',
        'changetype: modify',
        'delete: member',
        'member: uid=alice,ou=people,dc=example,dc=org',
        '',
        'dn: cn=app-developers,ou=groups,dc=example,dc=org',
        'changetype: modify',
        'delete: member',
        'member: uid=bob,ou=people,dc=example,dc=org',
        '',
        'dn: cn=registry-admins,ou=groups,dc=example,dc=org',
        'changetype: modify',
        'add: member',
        'member: uid=alice,ou=people,dc=example,dc=org',
        '-',
        'delete: member',
        'member: uid=bob,ou=people,dc=example,dc=org',
        '',
      ].join('\n'),
    );
    assert.equal((await fetch(`${b.url}/v2/`, { headers: { Authorization: ALICE } })).status, 200);
    assert.equal((await fetch(`${b.url}/v2/`, { headers: { Authorization: BOB } })).status, 200);
    const app = await members('app');
    assert.equal(app.alice, 'developer', 'maintainer removed, developer stays');
    assert.equal(app.bob, undefined, 'bob left app-developers');
    assert.equal((await members('lib')).bob, 'maintainer', 'a role set by hand is not the groups\' to remove');
    assert.equal((await api(b.url, 'GET', '/users', BOB)).status, 403, 'bob is no longer an admin');
    assert.equal((await api(b.url, 'GET', '/users', ALICE)).status, 200, 'alice is now');
    const sync = await ok(api(b.url, 'GET', '/audit?action=user.sync&user=alice', ADMIN));
    assert.ok(sync.items.some((e: any) => e.detail.provider === 'ldap' && e.detail.set.app === 'developer' && e.detail.admin === true), JSON.stringify(sync.items));
  });

  test('StartTLS and LDAPS with the directory\'s CA; an untrusted certificate is a clear error', async () => {
    const base = { bindDn: 'cn=berth,ou=services,dc=example,dc=org', bindPassword: 'berth-bind-secret', userBase: 'ou=people,dc=example,dc=org', groupBase: 'ou=groups,dc=example,dc=org', timeoutSeconds: 2 };
    for (const ldapConfig of [
      { url: ldap.url, startTls: true, caFile: ldap.caFile },
      { url: ldap.tlsUrl!, caFile: ldap.caFile },
    ]) {
      const other = await startAuthBerth({ auth: { enabled: true, credentialCacheSeconds: 0, ldap: { ...base, ...ldapConfig } } });
      try {
        const r = await fetch(`${other.url}/v2/`, { headers: { Authorization: ALICE } });
        assert.equal(r.status, 200, `${JSON.stringify(ldapConfig)}: ${await r.text()}`);
        assert.equal((await fetch(`${other.url}/v2/`, { headers: { Authorization: basic('alice', 'wrong') } })).status, 401);
      } finally {
        await other.close();
      }
    }
    const untrusting = await startAuthBerth({ auth: { enabled: true, ldap: { ...base, url: ldap.tlsUrl! } } });
    try {
      const r = await fetch(`${untrusting.url}/v2/`, { headers: { Authorization: ALICE } });
      assert.equal(r.status, 401);
      const body = (await r.json()) as { errors: { detail: { reason: string } }[] };
      assert.match(body.errors[0]!.detail.reason, /LDAP directory is unavailable.*(certificate|self.signed)/i);
    } finally {
      await untrusting.close();
    }
  });

  test('with the directory down a login fails with a clear error, never against an old password, and is not counted', async () => {
    await ldap.stop();
    for (let i = 0; i < 12; i++) {
      const r = await fetch(`${b.url}/v2/`, { headers: { Authorization: ALICE } });
      assert.equal(r.status, 401);
      const body = (await r.json()) as { errors: { detail: { reason: string } }[] };
      assert.match(body.errors[0]!.detail.reason, /LDAP directory is unavailable/);
    }
    const ui = await api(b.url, 'POST', '/auth/login', undefined, { username: 'alice', password: 'alice-password-1' });
    assert.equal(ui.status, 401);
    assert.match(ui.body.detail, /LDAP directory is unavailable/);
    // The local admin does not need the directory.
    assert.equal((await fetch(`${b.url}/v2/`, { headers: { Authorization: ADMIN } })).status, 200);
  });
});
