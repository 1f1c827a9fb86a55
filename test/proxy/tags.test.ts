/**
 * `GET /v2/<cache>/<name>/tags/list` of a pull-through cache against a real upstream on
 * loopback (Distribution with htpasswd Basic auth): forwarded with the upstream's credentials,
 * `n` and `last` honoured, and, with the upstream killed, the tags the cache holds served
 * stale; a repository the cache knows no tag of fails naming the upstream.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { missingTools } from '../helpers/tools.js';
import { seedImage } from './seed.js';
import { startDistribution, type Distribution } from './upstreams.js';

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

describe('tags/list through a pull-through cache', { skip: missingTools('docker-registry'), timeout: 120_000 }, () => {
  let secured: Distribution;
  let cache: TestBerth;
  const ns = `t${Date.now().toString(36)}`;

  before(async () => {
    secured = await startDistribution({ htpasswd: { user: 'alice', password: 's3cret' } });
    cache = await startBerth({ proxy: { downBackoffSeconds: 1, upstreams: [{ name: 'secure', url: secured.url, username: 'alice', password: 's3cret' }] } });
  });

  after(async () => {
    await cache?.close();
    await secured?.dispose();
  });

  test('tags/list is forwarded upstream with its credentials, n and last honoured; when it is down the cached tags are served, marked stale', async () => {
    const auth = basic('alice', 's3cret');
    for (const t of ['a1', 'b2', 'c3']) await seedImage(secured.url, `${ns}/tagged`, t, { headers: auth });
    const repo = `secure/${ns}/tagged`;
    const list = async (qs = '', name = repo) => {
      const r = await fetch(`${cache.url}/v2/${name}/tags/list${qs}`);
      return { status: r.status, body: (await r.json()) as { name?: string; tags?: string[]; errors?: { code: string; detail: { upstream?: string } }[] }, link: r.headers.get('link'), how: r.headers.get('x-berth-proxy'), warning: r.headers.get('warning') };
    };
    const all = await list();
    assert.equal(all.status, 200);
    assert.deepEqual(all.body, { name: repo, tags: ['a1', 'b2', 'c3'] });
    assert.equal(all.how, 'miss');
    const first = await list('?n=2');
    assert.deepEqual(first.body.tags, ['a1', 'b2']);
    assert.equal(first.link, `</v2/${repo}/tags/list?n=2&last=b2>; rel="next"`);
    const second = await list('?n=2&last=b2');
    assert.deepEqual(second.body.tags, ['c3']);
    assert.equal(second.link, null);
    const unknown = await list('', `secure/${ns}/nothing-here`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errors?.[0]?.code, 'NAME_UNKNOWN');
    const bad = await list('?n=x');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors?.[0]?.code, 'PAGINATION_NUMBER_INVALID');

    // The cache holds the tags it was asked for; with the upstream gone those are the list.
    for (const t of ['c3', 'a1']) await (await fetch(`${cache.url}/v2/${repo}/manifests/${t}`, { headers: { accept: ACCEPT } })).arrayBuffer();
    await secured.kill();
    try {
      const stale = await list();
      assert.equal(stale.status, 200);
      assert.deepEqual(stale.body, { name: repo, tags: ['a1', 'c3'] });
      assert.equal(stale.how, 'stale');
      assert.match(stale.warning ?? '', /^110 .*stale.*secure/);
      const page = await list('?n=1');
      assert.deepEqual(page.body.tags, ['a1']);
      assert.equal(page.link, `</v2/${repo}/tags/list?n=1&last=a1>; rel="next"`);
      assert.deepEqual((await list('?n=1&last=a1')).body.tags, ['c3']);
      const never = await list('', `secure/${ns}/never-cached`);
      assert.equal(never.status, 503);
      assert.equal(never.body.errors?.[0]?.code, 'UNAVAILABLE');
      assert.equal(never.body.errors?.[0]?.detail.upstream, 'secure');
    } finally {
      await secured.start();
    }
    await sleep(1100); // past the back-off
    const back = await list();
    assert.equal(back.how, 'miss');
    assert.deepEqual(back.body.tags, ['a1', 'b2', 'c3']);
  });

});
