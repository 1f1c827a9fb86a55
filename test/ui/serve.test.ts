/**
 * The registry serves the built UI: / redirects to /ui/, client routes fall back to index.html,
 * hashed assets are cached for a year and index.html not at all, security headers are set, and
 * a missing asset is a 404 rather than the app.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';

let b: TestBerth;
before(async () => {
  b = await startBerth();
});
after(async () => {
  await b.close();
});

test('/ and /ui redirect to /ui/', async () => {
  for (const path of ['/', '/ui']) {
    const r = await fetch(b.url + path, { redirect: 'manual' });
    assert.ok(r.status === 301 || r.status === 302, `${path}: ${r.status}`);
    assert.equal(r.headers.get('location'), '/ui/');
  }
});

test('index.html is served for /ui/ and for client routes, never cached', async () => {
  for (const path of ['/ui/', '/ui/projects/demo', '/ui/r/demo/app/-/manifests/sha256:abc']) {
    const r = await fetch(b.url + path, { headers: { accept: 'text/html' } });
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.match(await r.text(), /<div id="root">/);
  }
});

test('hashed assets are immutable; a missing asset is 404', async () => {
  const html = await (await fetch(`${b.url}/ui/`)).text();
  const assets = [...html.matchAll(/\/ui\/assets\/[^"]+\.(?:js|css)/g)].map((m) => m[0]);
  assert.ok(assets.length >= 2, 'index.html links a script and a stylesheet');
  for (const a of assets) {
    const r = await fetch(b.url + a);
    assert.equal(r.status, 200, a);
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    await r.arrayBuffer();
  }
  const missing = await fetch(`${b.url}/ui/assets/index-00000000.js`);
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get('content-type') ?? '', /problem\+json/);
  await missing.arrayBuffer();
});

test('/v2 still answers next to the UI', async () => {
  const r = await fetch(`${b.url}/v2/`);
  assert.ok(r.status === 200 || r.status === 401, `/v2/: ${r.status}`);
  await r.arrayBuffer();
});
