/**
 * Input sized to hurt the database: manifests listing tens of thousands of descriptors are
 * refused cleanly (MANIFEST_INVALID) before any SQL, manifests up to the limit work however
 * many bound values their rows need, and repeated query parameters never produce a 500 on any
 * route (/v2, /api/v1, /auth/token).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { bytes, sha256 } from '../helpers/oci.js';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

let b: TestBerth;
before(async () => {
  b = await startAuthBerth();
  const r = await fetch(`${b.url}/api/v1/projects`, { method: 'POST', headers: { Authorization: ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'big' }) });
  assert.equal(r.status, 201);
});
after(async () => b.close());

function fakeDigest(i: number): string {
  return sha256(`fake-${i}`);
}

async function put(repo: string, ref: string, body: Buffer, type: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${b.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes(body), headers: { 'Content-Type': type, Authorization: ADMIN } });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function pushBlob(repo: string, data: Buffer): Promise<void> {
  const r = await fetch(`${b.url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: bytes(data), headers: { Authorization: ADMIN } });
  assert.equal(r.status, 201);
}

function manifestWith(layers: { digest: string; size: number }[], config = { digest: fakeDigest(-1), size: 2 }): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })) }));
}

describe('large input', () => {
  it('a manifest with tens of thousands of layers is MANIFEST_INVALID, not a database error', async () => {
    const body = manifestWith(Array.from({ length: 25_000 }, (_, i) => ({ digest: fakeDigest(i), size: 1 })));
    assert.ok(body.length < 4 * 1024 * 1024, 'under the manifest size limit: only the descriptor count refuses it');
    await pushBlob('big/layers', Buffer.from('exists')); // the repository exists: its links are queried
    const r = await put('big/layers', 'v1', body, OCI);
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 500));
    assert.equal(r.body.errors[0].code, 'MANIFEST_INVALID');
    assert.match(r.body.errors[0].detail.reason, /25001 descriptors/);
  });

  it('an index with tens of thousands of manifests is MANIFEST_INVALID', async () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: Array.from({ length: 20_000 }, (_, i) => ({ mediaType: OCI, digest: fakeDigest(i), size: 100 })) }));
    assert.ok(body.length < 4 * 1024 * 1024);
    await pushBlob('big/index', Buffer.from('exists'));
    const r = await put('big/index', 'v1', body, INDEX);
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 500));
    assert.equal(r.body.errors[0].code, 'MANIFEST_INVALID');
  });

  it('at the limit, missing references are reported briefly (MANIFEST_BLOB_UNKNOWN)', async () => {
    const body = manifestWith(Array.from({ length: 9_999 }, (_, i) => ({ digest: fakeDigest(i), size: 1 })));
    const r = await put('big/missing', 'v1', body, OCI);
    assert.equal(r.status, 404, JSON.stringify(r.body).slice(0, 500));
    assert.equal(r.body.errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(r.body.errors[0].detail.missing.length, 100);
    assert.equal(r.body.errors[0].detail.missingCount, 10_000);
  });

  it('a manifest whose rows need thousands of bound values is stored and pulled', async () => {
    const blobs = Array.from({ length: 2_500 }, (_, i) => Buffer.from(`layer-${i}`));
    for (let i = 0; i < blobs.length; i += 25) await Promise.all(blobs.slice(i, i + 25).map((l) => pushBlob('big/many', l)));
    const config = Buffer.from('{}');
    await pushBlob('big/many', config);
    const body = manifestWith(blobs.map((l) => ({ digest: sha256(l), size: l.length })), { digest: sha256(config), size: config.length });
    const r = await put('big/many', 'v1', body, OCI);
    assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 500));
    const pulled = await fetch(`${b.url}/v2/big/many/manifests/v1`, { headers: { Authorization: ADMIN, Accept: OCI } });
    assert.equal(pulled.status, 200);
    assert.equal(sha256(Buffer.from(await pulled.arrayBuffer())), sha256(body));
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [{ mediaType: OCI, digest: sha256(body), size: body.length }] }));
    assert.equal((await put('big/many', 'idx', index, INDEX)).status, 201);
  });

  it('repeated query parameters never produce a 500, on any route', async () => {
    const d = sha256('x');
    const repeat = `n=1&n=2&last=a&last=b&digest=${d}&digest=sha256:zz&mount=${d}&mount=x&from=big/a&from=big/b&artifactType=a&artifactType=b` +
      '&limit=1&limit=2&cursor=a&cursor=b&project=big&project=other&q=a&q=b&user=a&user=b&action=a&action=b&since=1&since=2&until=1&until=2&runId=1&runId=2' +
      '&scope=repository:big/a:pull&scope=registry:catalog:*&service=berth&service=other&offline_token=true&offline_token=false';
    const sample: Record<string, string> = { name: 'big', repo: 'big/many', user: 'admin', id: '1', digest: d, reference: 'v1', '*': 'x' };
    const urls: [string, string][] = [
      ['GET', '/v2/'], ['GET', '/v2/_catalog'], ['GET', '/v2/big/many/tags/list'], ['GET', '/v2/big/many/manifests/v1'], ['HEAD', '/v2/big/many/manifests/v1'],
      ['GET', `/v2/big/many/referrers/${d}`], ['GET', `/v2/big/many/blobs/${d}`], ['POST', '/v2/big/many/blobs/uploads/'], ['GET', '/v2/big/many/blobs/uploads/x'],
      ['PUT', '/v2/big/many/blobs/uploads/x'], ['GET', '/auth/token'], ['POST', '/auth/token'],
    ];
    for (const route of b.berth.app.routeActions) {
      if (!route.url.startsWith('/api/') || route.method === 'HEAD' || route.method === 'DELETE') continue;
      urls.push([route.method, route.url.replace(/:(\w+)|\*/g, (m, k: string | undefined) => sample[k ?? m] ?? 'x')]);
    }
    const bad: string[] = [];
    for (const [method, url] of urls) {
      const withBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
      const r = await fetch(`${b.url}${url}${url.includes('?') ? '&' : '?'}${repeat}`, {
        method,
        headers: { Authorization: ADMIN, ...(withBody ? { 'Content-Type': 'application/json' } : {}) },
        ...(withBody ? { body: '{}' } : {}),
      });
      await r.arrayBuffer();
      if (r.status >= 500) bad.push(`${method} ${url}: ${r.status}`);
    }
    assert.deepEqual(bad, []);
  });
});
