/**
 * The pure rules under the identity features: claim globs and policy matching (keyless CI
 * login), group-to-role mapping, LDAP filter escaping and group names read from memberOf
 * DNs (the path the slapd test, which uses a group search, does not take), and user names
 * made from OIDC claims.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rolesOfGroups } from '../../src/auth/group-sync.js';
import { escapeFilterValue, firstRdnValue } from '../../src/auth/ldap.js';
import { userNameOf } from '../../src/auth/oidc.js';
import { globMatch, policyMismatch, WorkloadIdentity } from '../../src/auth/workload-identity.js';
import type { TrustPolicyRecord } from '../../src/metadata/auth-store.js';

const policy = (claims: Record<string, string>, audience = 'berth'): TrustPolicyRecord => ({ id: 1, project: 'p', issuer: 'https://i', audience, claims, permissions: ['pull'], createdBy: 'a', createdAt: 0 });

describe('identity rules', () => {
  it('claim globs: * matches any run (slashes too), everything else literally, the whole value', () => {
    assert.ok(globMatch('org/*', 'org/app'));
    assert.ok(globMatch('org/*', 'org/a/b'));
    assert.ok(globMatch('refs/heads/release-*', 'refs/heads/release-1.2'));
    assert.ok(!globMatch('org/*', 'other/org/app'), 'anchored at the start');
    assert.ok(!globMatch('org/app', 'org/app2'), 'anchored at the end');
    assert.ok(!globMatch('a.b', 'axb'), 'a dot is a dot');
    assert.ok(!globMatch('(a|b)', 'a'), 'no regular expressions');
    assert.ok(globMatch('', ''));
  });

  it('a policy needs its audience and every claim', () => {
    assert.equal(policyMismatch(policy({ project_path: 'g/a' }), { aud: ['x', 'berth'], project_path: 'g/a' }), undefined);
    assert.match(policyMismatch(policy({ project_path: 'g/a' }), { aud: 'x', project_path: 'g/a' })!, /audience/);
    assert.match(policyMismatch(policy({ project_path: 'g/a' }), { aud: 'berth' })!, /missing/);
    assert.match(policyMismatch(policy({ ref_protected: 'true' }), { aud: 'berth', ref_protected: false })!, /does not match/);
    assert.equal(policyMismatch(policy({ ref_protected: 'true' }), { aud: 'berth', ref_protected: true }), undefined, 'a boolean claim compares as its text');
    assert.match(policyMismatch(policy({ groups: 'a' }), { aud: 'berth', groups: ['a'] })!, /missing/, 'a list claim is not a value');
  });

  it('the throttling key reads the claimed subject without trusting it', () => {
    const t = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"repo:o/r"}').toString('base64url')}.sig`;
    assert.equal(WorkloadIdentity.claimedSubject(t), 'repo:o/r');
    assert.equal(WorkloadIdentity.claimedSubject('garbage'), '');
    assert.ok(WorkloadIdentity.looksLikeJwt(t));
    assert.ok(!WorkloadIdentity.looksLikeJwt('hunter2'));
  });

  it('groups map to the strongest role per project', () => {
    const m = [
      { group: 'dev', project: 'a', role: 'developer' as const },
      { group: 'lead', project: 'a', role: 'maintainer' as const },
      { group: 'dev', project: 'b', role: 'guest' as const },
    ];
    assert.deepEqual(rolesOfGroups(['lead', 'dev', 'other'], m), { a: 'maintainer', b: 'guest' });
    assert.deepEqual(rolesOfGroups(['dev'], m), { a: 'developer', b: 'guest' });
    assert.deepEqual(rolesOfGroups([], m), {});
  });

  it('LDAP filter values are escaped; memberOf DNs give their first RDN value', () => {
    assert.equal(escapeFilterValue('a*)(uid=*'), 'a\\2a\\29\\28uid=\\2a');
    assert.equal(escapeFilterValue('back\\slash\0'), 'back\\5cslash\\00');
    assert.equal(firstRdnValue('cn=app-devs,ou=groups,dc=example,dc=org'), 'app-devs');
    assert.equal(firstRdnValue('cn=a\\,b,ou=groups'), 'a,b');
  });

  it('OIDC claims become user names', () => {
    assert.equal(userNameOf('Alice.Smith'), 'alice.smith');
    assert.equal(userNameOf('alice@example.org'), 'alice@example.org');
    assert.equal(userNameOf('Ünïcode Name'), 'n-code-name');
    assert.equal(userNameOf('--x--'), 'x');
  });
});
