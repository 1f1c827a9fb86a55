/**
 * The Caches page in headless Chromium against a real Berth (access control on) with two
 * upstreams: a real Distribution on loopback, pulled through (a miss, then hits), and one
 * that does not answer. The page shows each upstream's URL, its health (up; down with the
 * failure), the cache's size and the hit ratio, the same figures the API reports. Checked
 * with axe-core; the page may log no error.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { ADMIN_PASSWORD, basic, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { browserMissing, launch, openPage, screenshot, seriousViolations } from '../helpers/browser.js';
import { freePort } from '../helpers/process.js';
import { missingTools } from '../helpers/tools.js';
import { seedImage, type SeededImage } from './seed.js';
import { startDistribution, type Distribution } from './upstreams.js';

const missing = browserMissing() ?? missingTools('docker-registry');
const ADMIN = basic('admin', ADMIN_PASSWORD);

let upstream: Distribution;
let b: TestBerth;
let browser: Browser;
let image: SeededImage;
let deadUrl: string;

before(async () => {
  if (missing) return;
  upstream = await startDistribution();
  image = await seedImage(upstream.url, 'library/app', 'v1');
  deadUrl = `http://127.0.0.1:${await freePort()}`;
  b = await startAuthBerth({
    proxy: {
      defaultMirror: 'hub',
      upstreams: [
        { name: 'hub', url: upstream.url, mirrorOf: ['docker.io'] },
        { name: 'dead', url: deadUrl, timeoutSeconds: 1 },
      ],
    },
  });
  // A miss for every blob, then a hit for each: a known hit ratio and a cache that holds bytes.
  const get = async (path: string, accept = '*/*') => {
    const r = await fetch(`${b.url}/v2/${path}`, { headers: { authorization: ADMIN, accept } });
    assert.equal(r.status, 200, `${path}: ${r.status}`);
    await r.arrayBuffer();
  };
  await get('hub/library/app/manifests/v1', 'application/vnd.oci.image.manifest.v1+json');
  for (const d of image.blobs) await get(`hub/library/app/blobs/${d}`);
  for (const d of image.blobs) await get(`hub/library/app/blobs/${d}`);
  browser = await launch();
  // The dead upstream fails four times in a row (each after the back-off of the one before:
  // 1, 2, 4 s), so it stays remembered as down for 8 s while the page is looked at.
  for (let i = 0; i < 4; i++) {
    const r = await fetch(`${b.url}/v2/dead/library/app/manifests/v1`, { headers: { authorization: ADMIN } });
    assert.equal(r.status, 503);
    await r.arrayBuffer();
    if (i < 3) await sleep(1000 * 2 ** i + 100);
  }
});

after(async () => {
  await browser?.close();
  await b?.close();
  await upstream?.dispose();
});

test('the Caches page shows each upstream with its health, cache size and hit ratio', { skip: missing ?? false, timeout: 120_000 }, async () => {
  const api = (await (await fetch(`${b.url}/api/v1/proxies`, { headers: { authorization: ADMIN } })).json()) as {
    items: { name: string; cache: { bytes: number; manifests: number; blobs: number }; stats: { hitRatio: number | null } }[];
  };
  const hub = api.items.find((i) => i.name === 'hub')!;
  assert.ok(hub.cache.bytes > 0 && hub.stats.hitRatio !== null && hub.stats.hitRatio > 0 && hub.stats.hitRatio < 1, JSON.stringify(hub));

  const t = await openPage(browser, b.url);
  try {
    await t.page.goto('/ui/login');
    await t.page.getByLabel('User name').fill('admin');
    await t.page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await t.page.getByRole('button', { name: 'Sign in' }).click();
    await t.page.getByRole('button', { name: 'Sign out' }).waitFor();
    await t.page.getByRole('link', { name: 'Caches' }).click();
    await t.page.getByRole('heading', { name: 'Pull-through caches' }).waitFor();

    const table = t.page.getByRole('table', { name: 'Pull-through caches' });
    const headers = await table.getByRole('columnheader').allInnerTexts();
    const col = (name: string) => headers.findIndex((h) => h.trim() === name);
    for (const name of ['Upstream', 'Health', 'Cached', 'Hit ratio']) assert.ok(col(name) >= 0, `a ${name} column: ${headers.join(' | ')}`);
    const cells = async (name: string) => (await table.getByRole('row').filter({ has: t.page.getByRole('link', { name, exact: true }) }).getByRole('cell').allInnerTexts()).map((c) => c.trim());

    const up = await cells('hub');
    assert.equal(up[col('Upstream')], upstream.url);
    assert.match(up[col('Health')]!, /^up\b/);
    assert.match(up[col('Cached')]!, new RegExp(`^\\d+(\\.\\d)? (B|KiB|MiB)\\s+${hub.cache.manifests} manifests, ${hub.cache.blobs} blobs$`));
    assert.equal(up[col('Hit ratio')], `${Math.round(hub.stats.hitRatio! * 100)}%`);
    assert.match(up[0]!, /default mirror/);

    const down = await cells('dead');
    assert.equal(down[col('Upstream')], deadUrl);
    assert.match(down[col('Health')]!, /down until .*unreachable/s, 'down, with the failure');
    assert.equal(down[col('Hit ratio')], '—', 'no lookup served: no ratio');

    await screenshot(t.page, 'proxy-caches');
    assert.deepEqual(await seriousViolations(t.page), []);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.close();
  }
});
