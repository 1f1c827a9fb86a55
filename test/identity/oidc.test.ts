/**
 * OIDC sign-in end to end in headless Chromium against a real OpenID Provider (oidc-provider
 * on loopback): the sign-in page shows the provider's button; the code flow with PKCE signs
 * the user in, creates the account and grants the roles its groups map to; a group removed at
 * the provider removes the role at the next sign-in; a tampered `state` and a tampered `nonce`
 * are refused and start no session. A personal access token made in that session keeps
 * working after the session ends. `berth login --oidc` signs in with the device flow, approved
 * in the browser, and stores a personal access token. Nothing leaves loopback (the provider's
 * page font is refused).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { ADMIN, api, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { browserMissing, launch, openPage, screenshot, type TestPage } from '../helpers/browser.js';
import { blockInternet, startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';

const missing = browserMissing();

describe('OIDC sign-in through a real provider and Chromium', { skip: missing ?? false }, () => {
  let idp: TestOidcProvider;
  let b: TestBerth;
  let browser: Browser;

  before(async () => {
    idp = await startOidcProvider();
    b = await startAuthBerth({
      auth: {
        enabled: true,
        oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, buttonLabel: 'Sign in with Test IdP', allowHttp: true },
        groupMappings: [
          { group: 'app-devs', project: 'app', role: 'developer' },
          { group: 'ops', project: 'app', role: 'maintainer' },
        ],
        adminGroups: ['ops'],
      },
    });
    await idp.setRedirectUri(`${b.url}/api/v1/auth/oidc/callback`);
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'app', public: false }));
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await b?.close();
    await idp?.close();
  });

  async function members(): Promise<Record<string, string>> {
    const r = await ok(api(b.url, 'GET', '/projects/app/members', ADMIN));
    return Object.fromEntries(r.items.map((m: { user: string; role: string }) => [m.user, m.role]));
  }

  /** Opens the sign-in page in a fresh browser context and clicks the provider's button; stops on the provider's login form. */
  async function toProviderLogin(): Promise<{ t: TestPage; refused: string[] }> {
    const t = await openPage(browser, b.url);
    const refused = await blockInternet(t.context);
    await t.page.goto('/ui/login');
    await t.page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await t.page.locator('input[name="login"]').waitFor();
    return { t, refused };
  }

  async function providerLogin(t: TestPage, login: string): Promise<void> {
    await t.page.locator('input[name="login"]').fill(login);
    await t.page.locator('input[name="password"]').fill('any-password');
    await t.page.getByRole('button', { name: 'Sign-in' }).click();
    // A new provider session asks for consent to share the claims.
    const consent = t.page.getByRole('button', { name: 'Continue' });
    await consent.waitFor({ timeout: 10_000 });
    await consent.click();
  }

  test('the button signs in through the provider; the groups grant roles; after a key rotation, a removed group removes the role', async () => {
    idp.groups.set('carol', ['app-devs', 'ops', 'unmapped']);
    const { t, refused } = await toProviderLogin();
    try {
      await providerLogin(t, 'carol');
      await t.page.getByRole('button', { name: 'Sign out' }).waitFor();
      assert.match(new URL(t.page.url()).pathname, /^\/ui\/?$/);
      await screenshot(t.page, 'oidc-signed-in');
      assert.equal((await members()).carol, 'maintainer', 'the strongest role of the groups');
      const users = await ok(api(b.url, 'GET', '/users', ADMIN));
      assert.deepEqual(users.items.find((u: { name: string }) => u.name === 'carol')?.admin, true, 'ops is an admin group');

      // Project settings show the group mappings and manage trust policies.
      await t.page.goto('/ui/projects/app/settings');
      const groups = t.page.getByRole('region', { name: 'Group mappings' });
      await groups.getByRole('cell', { name: 'app-devs' }).waitFor();
      assert.match(await groups.innerText(), /ops\s+maintainer\s+yes/);
      const trust = t.page.getByRole('region', { name: 'Trust policies (keyless CI login)' });
      await trust.getByLabel('Issuer').fill('https://gitlab.example.com');
      await trust.getByLabel(/Required claims/).fill('project_path=group/app\nref_protected=true');
      await trust.getByRole('button', { name: 'Add trust policy' }).click();
      await trust.getByRole('cell', { name: 'https://gitlab.example.com' }).waitFor();
      await screenshot(t.page, 'oidc-project-settings');
      const policies = await ok(api(b.url, 'GET', '/projects/app/trust-policies', ADMIN));
      assert.deepEqual(policies.items.map((p: any) => [p.issuer, p.audience, p.claims, p.permissions, p.createdBy]), [['https://gitlab.example.com', 'berth', { project_path: 'group/app', ref_protected: 'true' }, ['pull', 'push'], 'carol']]);
      assert.deepEqual(t.errors, []);
      await t.page.goto('/ui/');

      // The session works for the API, and a personal access token made in it outlives it.
      const me = await t.page.evaluate(async () => (await fetch('/api/v1/auth/me', { headers: { 'X-Requested-With': 'fetch' } })).json());
      assert.equal(me.user.name, 'carol');
      const pat = await t.page.evaluate(async (csrf: string) => {
        const r = await fetch('/api/v1/users/me/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, 'X-Requested-With': 'fetch' }, body: JSON.stringify({ name: 'laptop' }) });
        return (await r.json()) as { token: string };
      }, me.csrfToken as string);
      await t.page.getByRole('button', { name: 'Sign out' }).click();
      await t.page.getByRole('link', { name: 'Sign in', exact: true }).first().waitFor();
      const withPat = await fetch(`${b.url}/v2/app/x/tags/list`, { headers: { Authorization: `Bearer ${pat.token}` } });
      assert.notEqual(withPat.status, 401, 'the personal access token does not depend on the OIDC session');

      await new Promise((r) => setTimeout(r, 1200)); // request audit events are written in batches
      const audit = await ok(api(b.url, 'GET', '/audit?action=login&user=carol', ADMIN));
      assert.ok(audit.items.some((e: any) => e.detail?.via === 'oidc' && e.result === 'success' && e.detail.subject === 'carol'), JSON.stringify(audit.items));
      assert.ok(refused.every((u) => !u.startsWith(b.url) && !u.startsWith(idp.issuer)), 'only off-loopback requests were refused');
    } finally {
      await t.close();
    }

    // The provider moves carol out of ops and rotates its signing key; her next sign-in (its ID
    // token signed by a key Berth has not seen) drops maintainer and admin.
    idp.groups.set('carol', ['app-devs']);
    await idp.rotateKeys();
    const again = await toProviderLogin();
    try {
      await providerLogin(again.t, 'carol');
      await again.t.page.getByRole('button', { name: 'Sign out' }).waitFor();
      assert.equal((await members()).carol, 'developer');
      const users = await ok(api(b.url, 'GET', '/users', ADMIN));
      assert.equal(users.items.find((u: { name: string }) => u.name === 'carol')?.admin, false);
    } finally {
      await again.t.close();
    }
  });

  // The flow cookie holds the state and nonce this browser's sign-in started with; the
  // callback must see the state again and the ID token must carry the nonce. Changing either
  // (as an attacker swapping in another sign-in's response would) is refused.
  for (const field of ['state', 'nonce'] as const) {
  test(`a tampered ${field} is refused and starts no session`, async () => {
    const who = field === 'state' ? 'dave' : 'erin';
    idp.groups.set(who, ['app-devs']);
    const { t } = await toProviderLogin();
    try {
      const cookies = await t.context.cookies(b.url + '/api/v1/auth/oidc/callback');
      const flow = cookies.find((c) => c.name === 'berth_oidc');
      assert.ok(flow, 'the flow cookie was set');
      const pending = JSON.parse(Buffer.from(flow.value, 'base64url').toString('utf8')) as Record<string, string>;
      pending[field] = `${pending[field]}x`;
      await t.context.addCookies([{ ...flow, value: Buffer.from(JSON.stringify(pending)).toString('base64url') }]);
      const answer = t.page.waitForResponse((r) => r.url().startsWith(`${b.url}/api/v1/auth/oidc/callback`));
      await providerLogin(t, who);
      const r = await answer;
      assert.equal(r.status(), 401);
      assert.match(await r.text(), new RegExp(field));
      assert.ok(!(await t.context.cookies(b.url)).some((c) => c.name === 'berth_session' && c.value), 'no session cookie');
      const users = await ok(api(b.url, 'GET', '/users', ADMIN));
      assert.ok(!users.items.some((u: { name: string }) => u.name === who), 'no account from a refused sign-in');
    } finally {
      await t.close();
    }
  });
  }

  test('berth login --oidc: the device code approved in a browser ends with a stored personal access token', async () => {
    idp.groups.set('frank', ['app-devs']);
    const dir = await mkdtemp(join(tmpdir(), 'berth-cli-oidc-'));
    const cli = spawn(process.execPath, [new URL('../../src/cli/main.js', import.meta.url).pathname, 'login', b.host, '--oidc'], { env: { ...process.env, BERTH_LOG_LEVEL: 'silent', BERTH_CLI_CONFIG: join(dir, 'cli.json') } });
    let stderr = '';
    let stdout = '';
    cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number>((r) => cli.on('exit', (code) => r(code ?? -1)));
    const link = await new Promise<string>((resolve, reject) => {
      cli.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /open (\S+) in a browser/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`berth login exited ${code}: ${stderr}`)));
    });
    const t = await openPage(browser, b.url);
    try {
      await blockInternet(t.context);
      await t.page.goto(link);
      await t.page.getByRole('button', { name: 'Continue' }).click(); // confirm the code shown
      await providerLogin(t, 'frank');
      await t.page.getByText(/Sign-in Success|signed in|success/i).first().waitFor();
      assert.equal(await exited, 0, stderr);
      assert.match(stdout, /Logged in to .* as frank/);
      const saved = JSON.parse(await readFile(join(dir, 'cli.json'), 'utf8')) as { user: string; token: string };
      assert.equal(saved.user, 'frank');
      assert.match(saved.token, /^berth_pat_/);
      const me = await api(b.url, 'GET', '/users/me/tokens', `Bearer ${saved.token}`);
      assert.equal(me.status, 200);
      assert.equal((await members()).frank, 'developer');
    } finally {
      cli.kill();
      await t.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
