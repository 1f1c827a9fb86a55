/**
 * The web UI as a newcomer meets it, in headless Chromium against a real Berth with access
 * control on and only a private project: signed out it says to sign in (and the anonymous
 * session probe is an answer, not an error); the manifest page tells the manifest's own size
 * from the image's; a repository whose last tag was deleted and collected leaves the lists;
 * "last push" follows a robot's push; at phone width a tag's pull and delete actions are on
 * screen without sideways scrolling.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserMissing, launch, openPage, screenshot, seriousViolations, type TestPage } from '../helpers/browser.js';
import { apiCall, RegistryClient, type Creds } from './fixtures.js';
import { startUiBerth, type UiBerth } from './setup.js';

const missing = browserMissing();

let b: UiBerth;
let browser: Browser;
let app: { digest: string; size: number };

async function signIn(t: TestPage, c: Creds): Promise<void> {
  await t.page.goto('/ui/login');
  await t.page.getByLabel('User name').fill(c.user);
  await t.page.getByLabel('Password').fill(c.password);
  await t.page.getByRole('button', { name: 'Sign in' }).click();
  await t.page.getByRole('button', { name: 'Sign out' }).waitFor();
}

before(async () => {
  if (missing) return;
  b = await startUiBerth();
  await apiCall(b.url, b.admin, 'POST', '/projects', { name: 'secret', public: false });
  const reg = new RegistryClient(b.url, b.admin);
  app = await reg.pushImage('secret/app', 'v1', { layers: 3 });
  await reg.pushImage('secret/gone', 'v1');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await b?.close();
});

test('signed out, a registry with only private projects says to sign in; the session probe is no error', { skip: missing ?? false }, async () => {
  const t = await openPage(browser, b.url);
  const failed: string[] = [];
  t.page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  try {
    await t.page.goto('/ui/');
    await t.page.getByText('Sign in to see projects.').waitFor();
    assert.equal(await t.page.getByText('No projects yet.').count(), 0);
    assert.deepEqual(failed, [], 'no request of the signed-out home page fails (the console shows each as an error)');
    await screenshot(t.page, 'signed-out');
    assert.deepEqual(await seriousViolations(t.page), []);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
  }
});

test("the manifest page shows the manifest's own size and, apart, the image's", { skip: missing ?? false }, async () => {
  const detail = await apiCall<{ size: number; totalSize: number }>(b.url, b.admin, 'GET', `/repositories/secret%2Fapp/manifests/${app.digest}`);
  assert.equal(detail.size, app.size, 'the API reports the manifest document size');
  assert.ok(detail.totalSize > 2048 + 4096 + 6144, 'and the image size apart');
  const t = await openPage(browser, b.url);
  try {
    await signIn(t, b.admin);
    await t.page.goto(`/ui/r/secret/app/-/manifests/${app.digest}`);
    const fact = (name: string) => t.page.locator('dl.facts > div', { has: t.page.locator('dt', { hasText: new RegExp(`^${name}$`) }) }).locator('dd');
    await fact('Manifest size').waitFor();
    assert.equal(await fact('Manifest size').innerText(), `${app.size} B`);
    assert.match(await fact('Image size').innerText(), /^\d+(\.\d)? KiB$/);
    assert.equal(await fact('Image size').getAttribute('title'), `${detail.totalSize} bytes`);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
  }
});

test('a repository whose last tag was deleted and collected leaves the lists; last push follows a robot push', { skip: missing ?? false }, async () => {
  await apiCall(b.url, b.admin, 'DELETE', '/repositories/secret%2Fgone/tags/v1');
  const run = await apiCall<{ id: number }>(b.url, b.admin, 'POST', '/gc', { graceSeconds: 0 }, [202]);
  for (let i = 0; ; i++) {
    const r = await apiCall<{ status: string }>(b.url, b.admin, 'GET', `/gc/${run.id}`);
    if (r.status === 'succeeded') break;
    assert.notEqual(r.status, 'failed');
    assert.ok(i < 200, 'gc finished');
    await new Promise((res) => setTimeout(res, 100));
  }
  const robot = await apiCall<{ name: string; secret: string }>(b.url, b.admin, 'POST', '/projects/secret/robots', { name: 'ci', permissions: ['pull', 'push'] });
  await new RegistryClient(b.url, { user: robot.name, password: robot.secret }).pushImage('secret/app', 'v2');

  const t = await openPage(browser, b.url);
  try {
    await signIn(t, b.admin);
    await t.page.goto('/ui/projects/secret');
    const row = t.page.getByRole('row', { name: /secret\/app/ });
    await row.waitFor();
    assert.equal(await t.page.getByRole('row', { name: /secret\/gone/ }).count(), 0, 'the emptied repository is not listed');
    assert.match(await row.innerText(), /\bnow\b|seconds? ago/, 'last push is the robot push of a moment ago');
    await t.page.goto('/ui/');
    const project = t.page.getByRole('row', { name: /secret/ });
    await project.waitFor();
    assert.match(await project.innerText(), /Private\s+1\s/, 'the project counts one repository');
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
  }
});

test("at phone width a tag's pull and delete actions are on screen without sideways scrolling", { skip: missing ?? false }, async () => {
  const t = await openPage(browser, b.url, { width: 375, height: 740 });
  try {
    await signIn(t, b.admin);
    await t.page.goto('/ui/r/secret/app');
    const row = t.page.locator('tr[data-tag="v1"]');
    await row.waitFor();
    for (const name of ['Pull commands for v1', 'Delete tag v1']) {
      const box = await row.getByRole('button', { name }).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `${name} is within the screen: ${JSON.stringify(box)}`);
    }
    const scroll = await t.page.evaluate(() => [...document.querySelectorAll('.table-wrap')].map((w) => w.scrollWidth - w.clientWidth));
    assert.ok(scroll.every((s) => s <= 1), `tables scroll sideways by ${scroll.join(', ')}px`);
    await row.getByRole('button', { name: 'Pull commands for v1' }).click();
    await t.page.locator('tr.expanded').waitFor();
    const after = await t.page.evaluate(() => [document.documentElement.scrollWidth - window.innerWidth, ...[...document.querySelectorAll('.table-wrap')].map((w) => w.scrollWidth - w.clientWidth)]);
    assert.ok(after.every((s) => s <= 1), `with the pull commands open, something scrolls sideways: ${after.join(', ')}px`);
    await screenshot(t.page, 'tags-phone');
    assert.deepEqual(await seriousViolations(t.page), []);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
  }
});
