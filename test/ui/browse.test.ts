/**
 * End to end in headless Chromium against a real Berth with auth enabled and real pushed images:
 * sign in, projects, a robot whose secret (copied from the page) works with skopeo, repository
 * search, tags (shared digests, platforms), a multi-arch index and its image config, deleting a
 * tag as a developer while a guest is refused, and the audit entry. Every main page is
 * screenshotted and checked with axe-core; no page may log an error.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { browserMissing, launch, openPage, screenshot, seriousViolations, type TestPage } from '../helpers/browser.js';
import { startUiBerth, type UiBerth } from './setup.js';
import { apiCall, RegistryClient, type Creds } from './fixtures.js';

const run = promisify(execFile);
const missing = browserMissing() ?? (existsSync('/usr/bin/skopeo') ? null : skopeoMissing());

function skopeoMissing(): string {
  if (process.env.CI === 'true') throw new Error('UI tests need skopeo under CI (apt-get install -y skopeo)');
  return '/usr/bin/skopeo not found';
}

// Developers may delete tags (Berth's role table); guests only pull.
const DEV: Creds = { user: 'mia', password: 'mia-password-1' };
const GUEST: Creds = { user: 'gus', password: 'gus-password-1' };

let b: UiBerth;
let browser: Browser;
let multi: { digest: string; children: string[] };
let v2: string;

async function a11y(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  const v = await seriousViolations(page);
  assert.deepEqual(v, [], `${name}: serious accessibility violations:\n${JSON.stringify(v, null, 2)}`);
}

async function signIn(t: TestPage, c: Creds): Promise<void> {
  await t.page.goto('/ui/login');
  await t.page.getByLabel('User name').fill(c.user);
  await t.page.getByLabel('Password').fill(c.password);
  await t.page.getByRole('button', { name: 'Sign in' }).click();
  await t.page.getByRole('button', { name: 'Sign out' }).waitFor();
  await t.page.waitForFunction(() => location.pathname.replace(/\/$/, '') === '/ui');
}

before(async () => {
  if (missing) return;
  b = await startUiBerth();
  const reg = new RegistryClient(b.url, b.admin);
  await apiCall(b.url, b.admin, 'POST', '/projects', { name: 'demo', public: false });
  for (const u of [DEV, GUEST]) await apiCall(b.url, b.admin, 'POST', '/users', { name: u.user, password: u.password });
  await apiCall(b.url, b.admin, 'PUT', `/projects/demo/members/${DEV.user}`, { role: 'developer' });
  await apiCall(b.url, b.admin, 'PUT', `/projects/demo/members/${GUEST.user}`, { role: 'guest' });
  await reg.pushImage('demo/app', 'v1', { label: 'one' });
  v2 = (await reg.pushImage('demo/app', 'v2', { label: 'two', layers: 3 })).digest;
  await reg.putManifest('demo/app', 'latest', Buffer.from(await (await reg.fetch(`/v2/demo/app/manifests/${v2}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' }, scope: 'repository:demo/app:pull' })).arrayBuffer()), 'application/vnd.oci.image.manifest.v1+json');
  multi = await reg.pushMultiArch('demo/app', 'multi');
  await reg.pushImage('demo/tools/builder', 'stable');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await b?.close();
});

test('admin signs in and sees projects with their figures', { skip: missing ?? false }, async () => {
  const t = await openPage(browser, b.url);
  try {
    await t.page.goto('/');
    await t.page.waitForURL('**/ui/**');
    await signIn(t, b.admin);
    const row = t.page.getByRole('row', { name: /demo/ });
    await row.waitFor();
    assert.match(await row.innerText(), /Private/);
    assert.match(await row.innerText(), /\b2\b/, 'two repositories');
    await a11y(t.page, 'projects');
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
  }
});

test('robot account: secret shown once with a copy button, and it works with skopeo', { skip: missing ?? false }, async () => {
  const t = await openPage(browser, b.url);
  const dir = await mkdtemp(join(tmpdir(), 'berth-ui-skopeo-'));
  try {
    await signIn(t, b.admin);
    await t.page.goto('/ui/projects/demo/settings');
    await t.page.getByLabel('Robot name').fill('ci');
    await t.page.getByRole('region', { name: 'Robot accounts' }).getByLabel('push').check();
    await t.page.getByRole('button', { name: 'Create robot' }).click();
    const box = t.page.locator('.secret');
    await box.waitFor();
    const robotName = (await box.locator('code').nth(0).innerText()).trim();
    const secret = (await box.locator('code').nth(1).innerText()).trim();
    assert.match(robotName, /^robot\$demo\+ci$/);
    await box.getByRole('button', { name: /Copy Secret/ }).click();
    assert.equal(await t.page.evaluate(() => navigator.clipboard.readText()), secret, 'copy button puts the secret on the clipboard');
    await t.page.getByRole('row', { name: /robot\$demo\+ci/ }).waitFor();
    await a11y(t.page, 'project-settings');

    const { stderr } = await run('/usr/bin/skopeo', ['copy', '--src-tls-verify=false', '--src-creds', `${robotName}:${secret}`, `docker://${b.host}/demo/app:v1`, `oci:${dir}/app:v1`], { timeout: 60_000 });
    assert.ok(existsSync(join(dir, 'app', 'index.json')), `skopeo copied the image (${stderr})`);
    const bad = await run('/usr/bin/skopeo', ['inspect', '--tls-verify=false', '--creds', `${robotName}:wrong`, `docker://${b.host}/demo/app:v1`]).then(
      () => 'accepted',
      () => 'refused',
    );
    assert.equal(bad, 'refused', 'a wrong secret is refused');

    // The secret is gone once dismissed, and never listed again.
    await box.getByRole('button', { name: /copied the secret/ }).click();
    await t.page.reload();
    await t.page.getByRole('row', { name: /robot\$demo\+ci/ }).waitFor();
    assert.equal(await t.page.getByText(secret).count(), 0);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('search, browse to a tag, open a multi-arch manifest and one of its images', { skip: missing ?? false }, async () => {
  const t = await openPage(browser, b.url);
  try {
    await signIn(t, DEV);
    await t.page.getByRole('link', { name: 'Repositories', exact: true }).click();
    await t.page.getByPlaceholder('Search repositories by name').fill('tools');
    await t.page.getByRole('link', { name: 'demo/tools/builder' }).waitFor();
    await t.page.getByRole('link', { name: 'demo/app', exact: true }).waitFor({ state: 'detached' });
    await a11y(t.page, 'repositories');
    await t.page.getByPlaceholder('Search repositories by name').fill('');
    await t.page.getByRole('link', { name: 'demo/app', exact: true }).click();

    const latest = t.page.locator('tr[data-tag="latest"]');
    await latest.waitFor();
    assert.match(await latest.innerText(), /same image as v2/);
    const multiRow = t.page.locator('tr[data-tag="multi"]');
    assert.match(await multiRow.innerText(), /linux\/amd64/);
    assert.match(await multiRow.innerText(), /linux\/arm64/);
    assert.match(await multiRow.innerText(), /OCI index/);
    await multiRow.getByRole('button', { name: /Pull commands/ }).click();
    const pull = t.page.getByText(`docker pull ${b.host}/demo/app:multi`);
    await pull.waitFor();
    await a11y(t.page, 'repository');

    await multiRow.getByRole('link', { name: 'multi' }).click();
    await t.page.getByRole('heading', { name: /Platforms \(2\)/ }).waitFor();
    assert.ok(t.page.url().includes(multi.digest));
    await a11y(t.page, 'manifest-index');
    await t.page.getByRole('link', { name: 'linux/arm64' }).click();
    await t.page.getByRole('heading', { name: 'Configuration' }).waitFor();
    const body = await t.page.locator('main').innerText();
    assert.ok(t.page.url().includes(multi.children[1]));
    assert.match(body, /linux\/arm64/);
    assert.match(body, /demo-server/);
    assert.match(body, /DEMO_ARCH=arm64/);
    assert.match(body, /org\.opencontainers\.image\.source/);
    assert.match(body, /RUN make install-0/);
    assert.match(body, /2 layers/);
    await a11y(t.page, 'manifest');

    // Phone width and dark theme render the same page without horizontal overflow of the page.
    await t.page.setViewportSize({ width: 390, height: 844 });
    await t.page.emulateMedia({ colorScheme: 'dark' });
    await t.page.goto('/ui/r/demo/app');
    await t.page.locator('tr[data-tag="v1"]').waitFor();
    const overflow = await t.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const wide = await t.page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
        .map((e) => `${e.tagName}.${e.className}`)
        .slice(0, 5),
    );
    assert.ok(overflow <= 1, `page overflows the phone viewport by ${overflow}px: ${wide.join(', ')}`);
    await a11y(t.page, 'repository-phone-dark');
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
  }
});

test('a guest sees no delete and is refused; a developer deletes a tag; the audit log shows it', { skip: missing ?? false }, async () => {
  const guest = await openPage(browser, b.url);
  try {
    await signIn(guest, GUEST);
    await guest.page.goto('/ui/r/demo/app');
    await guest.page.locator('tr[data-tag="v1"]').waitFor();
    assert.equal(await guest.page.getByRole('button', { name: /Delete tag/ }).count(), 0, 'no delete button for a guest');
    // Even a hand-made request with the session and CSRF token is refused by the API.
    const status = await guest.page.evaluate(async () => {
      const me = (await (await fetch('/api/v1/auth/me')).json()) as { csrfToken: string };
      const r = await fetch('/api/v1/repositories/demo%2Fapp/tags/v1', { method: 'DELETE', headers: { 'X-CSRF-Token': me.csrfToken } });
      return r.status;
    });
    assert.equal(status, 403);
    assert.deepEqual(guest.errors, []);
  } finally {
    await guest.close();
  }

  const dev = await openPage(browser, b.url);
  try {
    await signIn(dev, DEV);
    await dev.page.goto('/ui/r/demo/app');
    const row = dev.page.locator('tr[data-tag="v1"]');
    await row.getByRole('button', { name: 'Delete tag v1' }).click();
    const dialog = dev.page.getByRole('dialog', { name: 'Delete tag v1?' });
    await dialog.waitFor();
    await screenshot(dev.page, 'delete-confirm');
    await dialog.getByRole('button', { name: 'Delete tag' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await dev.page.locator('tr[data-tag="v2"]').count(), 1, 'other tags stay');
    assert.deepEqual(dev.errors, []);
  } finally {
    await dev.close();
  }
  const v1 = await fetch(`${b.url}/api/v1/repositories/demo%2Fapp/tags?q=v1`, { headers: { Authorization: 'Basic ' + Buffer.from(`${b.admin.user}:${b.admin.password}`).toString('base64') } });
  const tags = ((await v1.json()) as { items: { name: string }[] }).items.map((t) => t.name);
  assert.ok(!tags.includes('v1'), 'the tag is gone on the server');

  const admin = await openPage(browser, b.url);
  try {
    await signIn(admin, b.admin);
    await admin.page.goto('/ui/admin/audit');
    await admin.page.getByLabel('User').fill(DEV.user);
    const entry = admin.page.getByRole('row').filter({ hasText: DEV.user }).filter({ hasText: /delete/i }).filter({ hasText: /v1/ });
    await entry.first().waitFor();
    assert.match(await entry.first().innerText(), /success/);
    await a11y(admin.page, 'audit');
    await admin.page.goto('/ui/admin/users');
    await admin.page.getByRole('row', { name: new RegExp(GUEST.user) }).waitFor();
    await a11y(admin.page, 'users');
    await admin.page.goto('/ui/tokens');
    await admin.page.getByLabel('Token name').fill('laptop');
    await admin.page.getByRole('button', { name: 'Create token' }).click();
    await admin.page.locator('.secret').waitFor();
    await a11y(admin.page, 'tokens');
    assert.deepEqual(admin.errors, []);
  } finally {
    await admin.close();
  }
});
