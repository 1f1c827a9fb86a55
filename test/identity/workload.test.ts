/**
 * Keyless CI login end to end: two CI issuers on loopback (one minting GitLab CI's claims, one
 * GitHub Actions'), trust policies created through the API, and ID tokens used as the
 * password of user `oidc` on /auth/token and with skopeo. Every mismatch is refused with its
 * reason (untrusted issuer, unknown key, audience, expiry, claim, another project, alg none,
 * HS256 "signed" with the issuer's public key); a rotated issuer key is fetched again; the
 * audit log names the issuer and subject; a deleted policy stops logins at once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, SignJWT } from 'jose';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { initLayout, umociImage } from '../helpers/layout.js';
import { gitlabClaims, githubClaims, startIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import { missingTools, run } from '../helpers/tools.js';

const skip = missingTools('skopeo', 'umoci');

/** GET /auth/token as user oidc with `token`; status, body. */
async function tokenFor(b: TestBerth, idToken: string, scope: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${b.url}/auth/token?service=berth&scope=${encodeURIComponent(scope)}&offline_token=true`, { headers: { Authorization: basic('oidc', idToken) } });
  return { status: r.status, body: await r.json() };
}

function b64url(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

describe('keyless CI login by workload identity', { skip }, () => {
  let b: TestBerth;
  let gitlab: TestIssuer;
  let github: TestIssuer;
  let dir: string;
  let gitlabPolicy: number;

  before(async () => {
    gitlab = await startIssuer();
    github = await startIssuer();
    // The refusal cases below fail 20 logins from one address: above the default limits.
    b = await startAuthBerth({ auth: { enabled: true, maxFailedLogins: 100, maxFailedLoginsPerAddress: 200, workloadIdentity: { allowHttpIssuers: true, jwksCooldownSeconds: 0 } } });
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'app', public: false }));
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'other', public: false }));
    dir = await mkdtemp(join(tmpdir(), 'berth-workload-'));
    await initLayout(join(dir, 'src'));
    await umociImage(join(dir, 'src'), 'v1', { scratch: dir, files: { '/hello.txt': 'built by CI\n' } });
  });
  after(async () => {
    await b?.close();
    await gitlab?.close();
    await github?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('trust policies are validated, listed, and managed by project maintainers only', async () => {
    const bad = [
      [{ issuer: 'not a url', audience: 'berth', claims: { project_path: 'x' }, permissions: ['pull'] }, /issuer/],
      [{ issuer: gitlab.issuer, audience: 'berth', claims: {}, permissions: ['pull'] }, /at least one claim/],
      [{ issuer: gitlab.issuer, audience: 'berth', claims: { project_path: '*' }, permissions: ['pull'] }, /not only \*/],
      [{ issuer: gitlab.issuer, audience: 'berth', claims: { aud: 'x' }, permissions: ['pull'] }, /checked anyway/],
      [{ issuer: gitlab.issuer, audience: 'berth', claims: { project_path: 'x' }, permissions: ['pull', 'admin'] }, /not admin/],
      [{ issuer: gitlab.issuer, audience: 'berth', claims: { project_path: 'x' }, permissions: [] }, /permissions/],
    ] as const;
    for (const [body, why] of bad) {
      const r = await api(b.url, 'POST', '/projects/app/trust-policies', ADMIN, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.code, 'INVALID');
      assert.match(r.body.detail, why);
    }
    assert.equal((await api(b.url, 'POST', '/projects/nope/trust-policies', ADMIN, { issuer: gitlab.issuer, audience: 'berth', claims: { project_path: 'x' }, permissions: ['pull'] })).status, 404);
    assert.deepEqual((await ok(api(b.url, 'GET', '/projects/app/trust-policies', ADMIN))).items, [], 'a refused policy left nothing');

    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'dev', password: 'dev-password-1' }));
    await ok(api(b.url, 'PUT', '/projects/app/members/dev', ADMIN, { role: 'developer' }));
    const dev = basic('dev', 'dev-password-1');
    assert.equal((await api(b.url, 'POST', '/projects/app/trust-policies', dev, { issuer: gitlab.issuer, audience: 'berth', claims: { project_path: 'group/app' }, permissions: ['push'] })).status, 403);
    assert.equal((await api(b.url, 'GET', '/projects/app/trust-policies', dev)).status, 403);

    const created = await ok(api(b.url, 'POST', '/projects/app/trust-policies', ADMIN, { issuer: gitlab.issuer, audience: 'berth', claims: { project_path: 'group/app', ref_protected: 'true' }, permissions: ['pull', 'push'] }));
    gitlabPolicy = created.id;
    assert.deepEqual({ ...created, id: 0, createdAt: '' }, { id: 0, issuer: gitlab.issuer, audience: 'berth', claims: { project_path: 'group/app', ref_protected: 'true' }, permissions: ['pull', 'push'], createdBy: 'admin', createdAt: '' });
    await ok(api(b.url, 'POST', '/projects/other/trust-policies', ADMIN, { issuer: github.issuer, audience: 'https://github.com/org', claims: { repository: 'org/*', ref: 'refs/heads/main' }, permissions: ['pull'] }));
    const listed = await ok(api(b.url, 'GET', '/projects/app/trust-policies', ADMIN));
    assert.deepEqual(listed.items.map((p: { id: number }) => p.id), [gitlabPolicy]);
    const audit = await ok(api(b.url, 'GET', '/audit?action=trust-policy.create', ADMIN));
    assert.ok(audit.items.some((e: any) => e.project === 'app' && e.detail.issuer === gitlab.issuer), 'policy creation is audited');
  });

  test('a GitLab CI job token gets exactly its policy\'s permissions, for no longer than it lives, with no refresh token', async () => {
    const id = await gitlab.mint(gitlabClaims({ aud: 'berth', projectPath: 'group/app' }), { ttlSeconds: 120 });
    const r = await tokenFor(b, id, 'repository:app/web:pull,push,delete');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const claims = decodeJwt(r.body.token);
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'app/web', actions: ['pull', 'push'] }], 'delete is not in the policy');
    assert.ok(r.body.expires_in <= 120, `expires_in ${r.body.expires_in} must not outlive the ID token`);
    assert.ok(claims.exp! <= decodeJwt(id).exp!, 'the registry token expires no later than the ID token');
    assert.equal(r.body.refresh_token, undefined, 'no refresh token for a CI job');
    assert.equal(claims.sub, 'oidc:project_path:group/app:ref_type:branch:ref:main');
    // Another project is simply not granted.
    const elsewhere = await tokenFor(b, id, 'repository:other/web:pull');
    assert.equal(elsewhere.status, 200);
    assert.deepEqual(decodeJwt(elsewhere.body.token).access, []);
  });

  test('skopeo pushes and pulls with the ID token as the password; the audit log names issuer and subject', async () => {
    const id = await gitlab.mint(gitlabClaims({ aud: 'berth', projectPath: 'group/app' }));
    await run('skopeo', ['--insecure-policy', 'copy', `oci:${join(dir, 'src')}:v1`, `docker://${b.host}/app/web:1.0`, '--dest-tls-verify=false', '--dest-creds', `oidc:${id}`], { timeoutMs: 120_000 });
    await run('skopeo', ['--insecure-policy', 'copy', `docker://${b.host}/app/web:1.0`, `oci:${join(dir, 'back')}:v1`, '--src-tls-verify=false', '--src-creds', `oidc:${id}`], { timeoutMs: 120_000 });
    // Pushing to a project the token has no policy for fails.
    await assert.rejects(run('skopeo', ['--insecure-policy', 'copy', `oci:${join(dir, 'src')}:v1`, `docker://${b.host}/other/web:1.0`, '--dest-tls-verify=false', '--dest-creds', `oidc:${id}`], { timeoutMs: 120_000 }));
    await new Promise((r) => setTimeout(r, 1200)); // request audit events are written in batches
    const logins = await ok(api(b.url, 'GET', '/audit?action=login', ADMIN));
    const mine = logins.items.find((e: any) => e.result === 'success' && e.detail?.kind === 'workload');
    assert.ok(mine, 'a successful workload login is audited');
    assert.equal(mine.detail.issuer, gitlab.issuer);
    assert.equal(mine.detail.subject, 'project_path:group/app:ref_type:branch:ref:main');
    const pushes = await ok(api(b.url, 'GET', '/audit?action=push&project=app', ADMIN));
    assert.ok(pushes.items.some((e: any) => e.actor === 'oidc:project_path:group/app:ref_type:branch:ref:main' && e.result === 'success'), 'the push is attributed to the CI identity');
  });

  test('a GitHub Actions token matches a glob claim and gets pull only', async () => {
    const id = await github.mint(githubClaims({ aud: 'https://github.com/org', repository: 'org/service' }));
    const r = await tokenFor(b, id, 'repository:other/web:pull,push');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(decodeJwt(r.body.token).access, [{ type: 'repository', name: 'other/web', actions: ['pull'] }]);
    const branch = await github.mint(githubClaims({ aud: 'https://github.com/org', repository: 'org/service', ref: 'refs/heads/feature' }));
    const refused = await tokenFor(b, branch, 'repository:other/web:pull');
    assert.equal(refused.status, 401);
    assert.match(JSON.stringify(refused.body), /claim ref does not match/);
  });

  test('every mismatch is refused with its reason', async () => {
    const good = gitlabClaims({ aud: 'berth', projectPath: 'group/app' });
    const stranger = await startIssuer();
    try {
      const pk = await gitlab.publicKey();
      const now = Math.floor(Date.now() / 1000);
      const hs256 = await new SignJWT({ ...good, iss: gitlab.issuer, exp: now + 300, iat: now }).setProtectedHeader({ alg: 'HS256', kid: pk.jwk.kid! }).sign(new TextEncoder().encode(pk.pem));
      const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...good, iss: gitlab.issuer, exp: now + 300, iat: now })}.`;
      const cases: [string, string, RegExp][] = [
        ['untrusted issuer', await stranger.mint(good), /no project trusts issuer/],
        ['unknown key (the stranger signs as gitlab)', await stranger.mint({ ...good, iss: gitlab.issuer }), /ID token refused: .*(no applicable key|matching key)/i],
        ['audience', await gitlab.mint({ ...good, aud: 'other' }), /audience "berth" is not in the token's aud/],
        ['expired', await gitlab.mint(good, { ttlSeconds: -120 }), /"exp" claim timestamp check failed/],
        ['claim', await gitlab.mint({ ...good, ref_protected: 'false' }), /claim ref_protected does not match/],
        ['another project', await gitlab.mint(gitlabClaims({ aud: 'berth', projectPath: 'group/evil' })), /claim project_path does not match/],
        ['missing claim', await gitlab.mint({ ...good, project_path: undefined }), /claim project_path is missing/],
        ['alg none', none, /algorithm "none" is not accepted/],
        ['HS256 with the public key', hs256, /algorithm "HS256" is not accepted/],
        ['not a JWT', 'hunter2', /must be an OIDC ID token/],
      ];
      for (const [what, token, why] of cases) {
        const r = await tokenFor(b, token, 'repository:app/web:pull');
        assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.errors[0].code, 'UNAUTHORIZED', what);
        assert.match(r.body.errors[0].detail.reason, why, what);
        // The same on /v2 with Basic directly.
        const v2 = await fetch(`${b.url}/v2/app/web/tags/list`, { headers: { Authorization: basic('oidc', token) } });
        assert.equal(v2.status, 401, what);
      }
      await new Promise((r) => setTimeout(r, 1200)); // audit events are written in batches
      const failures = await ok(api(b.url, 'GET', '/audit?action=login&user=oidc', ADMIN));
      assert.ok(failures.items.some((e: any) => e.result === 'failure' && /alg|algorithm/.test(e.detail.reason)), 'refusals are audited');
    } finally {
      await stranger.close();
    }
  });

  test('berth login --oidc against a server without auth.oidc: one line, non-zero exit', async () => {
    const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;
    const r = await run(process.execPath, [cli, 'login', b.host, '--oidc'], { env: { BERTH_LOG_LEVEL: 'silent', BERTH_CLI_CONFIG: join(dir, 'cli.json') } }).then(
      () => ({ ok: true, out: '' }),
      (e: Error) => ({ ok: false, out: e.message }),
    );
    assert.equal(r.ok, false);
    assert.match(r.out, /OIDC sign-in is not configured \(auth\.oidc\)/);
  });

  test('a rotated issuer key is fetched on its first unknown kid; a deleted policy stops logins at once', async () => {
    const before = gitlab.jwksFetches;
    await gitlab.rotate();
    const id = await gitlab.mint(gitlabClaims({ aud: 'berth', projectPath: 'group/app' }));
    const r = await tokenFor(b, id, 'repository:app/web:pull');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(gitlab.jwksFetches, before + 1, 'one JWKS fetch for the new kid');
    assert.equal((await tokenFor(b, id, 'repository:app/web:pull')).status, 200);
    assert.equal(gitlab.jwksFetches, before + 1, 'the key set is cached');

    assert.equal((await api(b.url, 'DELETE', `/projects/app/trust-policies/${gitlabPolicy}`, ADMIN)).status, 204);
    assert.equal((await api(b.url, 'DELETE', `/projects/app/trust-policies/${gitlabPolicy}`, ADMIN)).status, 404);
    assert.equal((await api(b.url, 'DELETE', '/projects/app/trust-policies/x1', ADMIN)).status, 400);
    const after = await tokenFor(b, id, 'repository:app/web:pull');
    assert.equal(after.status, 401);
    assert.match(after.body.errors[0].detail.reason, /no project trusts issuer/);
  });
});
