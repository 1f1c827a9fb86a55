/**
 * Sign on push: a project with `signOnPush` gets a cosign signature for every manifest pushed
 * to it, made by a job enqueued in the push's transaction. An independent verifier
 * (cosign-verifier.ts, written from the cosign format) accepts them with the public key the API
 * publishes; the private key is stored sealed and no API returns it; rotation makes a new key
 * and the old public key still verifies what it signed; the signatures themselves are not
 * signed; and enforcement accepts the project's own signatures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api } from '../helpers/auth.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { sqlOf } from '../helpers/metadata.js';
import { pushImage } from '../helpers/oci.js';
import { cosignVerify } from './cosign-verifier.js';

const P = 'auto';
const R = `${P}/app`;

async function waitForSignature(url: string, repo: string, digest: string): Promise<void> {
  const tag = `sha256-${digest.slice('sha256:'.length)}.sig`;
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD' });
    if (r.status === 200) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no signature for ${digest} after 10 s`);
}

describe('sign on push', () => {
  let b: TestBerth;
  before(async () => {
    b = await startBerth({ jobs: { enabled: true, concurrency: 2, pollMs: 50, leaseSeconds: 60 }, signing: { referenceHost: 'registry.example:5000' } });
    assert.equal((await api(b.url, 'POST', '/projects', undefined, { name: P })).status, 201);
  });
  after(() => b?.close());

  it('signs every push so a cosign verifier accepts it; rotation keeps old signatures verifiable; no API returns a private key', async () => {
    assert.equal((await api(b.url, 'GET', `/projects/${P}/signing/public-key`, undefined)).status, 404);
    const set = await api(b.url, 'PUT', `/projects/${P}/signing`, undefined, { verify: { enforce: true }, signOnPush: true });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.signingKeys.length, 1);
    const first = (await api(b.url, 'GET', `/projects/${P}/signing/public-key`, undefined)).body;
    assert.match(first.publicKey, /BEGIN PUBLIC KEY/);

    const one = await pushImage(b.url, R, 'one');
    await waitForSignature(b.url, R, one.digest);
    const sigs = await cosignVerify(b.url, R, one.digest, first.publicKey);
    assert.equal(sigs.length, 1);
    assert.equal(sigs[0]!.payload.critical.image['docker-manifest-digest'], one.digest);
    assert.equal(sigs[0]!.payload.critical.identity['docker-reference'], `registry.example:5000/${R}`, 'signing.referenceHost names the registry');
    // Enforcement trusts the project's own key.
    assert.equal((await fetch(`${b.url}/v2/${R}/manifests/one`)).status, 200);
    // The signature manifest was not signed in turn.
    const sigDigest = (await fetch(`${b.url}/v2/${R}/manifests/sha256-${one.digest.slice(7)}.sig`, { method: 'HEAD' })).headers.get('docker-content-digest')!;
    assert.equal((await fetch(`${b.url}/v2/${R}/manifests/sha256-${sigDigest.slice(7)}.sig`, { method: 'HEAD' })).status, 404);

    const rotated = await api(b.url, 'POST', `/projects/${P}/signing/rotate`, undefined);
    assert.equal(rotated.status, 200);
    const second = (await api(b.url, 'GET', `/projects/${P}/signing/public-key`, undefined)).body;
    assert.notEqual(second.fingerprint, first.fingerprint);
    assert.deepEqual(second.previous.map((k: { fingerprint: string }) => k.fingerprint), [first.fingerprint]);

    const two = await pushImage(b.url, R, 'two');
    await waitForSignature(b.url, R, two.digest);
    assert.equal((await cosignVerify(b.url, R, two.digest, second.publicKey)).length, 1);
    assert.equal((await cosignVerify(b.url, R, two.digest, first.publicKey)).length, 0);
    assert.equal((await cosignVerify(b.url, R, one.digest, second.previous[0].publicKey)).length, 1, 'the old public key still verifies what it signed');
    assert.equal((await fetch(`${b.url}/v2/${R}/manifests/one`)).status, 200, 'signatures by a rotated key still count');
    assert.equal((await fetch(`${b.url}/v2/${R}/manifests/two`)).status, 200);

    // Private keys: sealed at rest, never in an answer.
    const rows = await sqlOf(b.berth.meta).selectFrom('project_signing_keys').select(['private_key']).execute();
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.match(r.private_key, /^sealed:v1:/);
      assert.doesNotMatch(r.private_key, /PRIVATE KEY/);
    }
    for (const path of [`/projects/${P}/signing`, `/projects/${P}/signing/public-key`, `/repositories/${encodeURIComponent(R)}/manifests/${one.digest}/signatures`]) {
      assert.doesNotMatch(JSON.stringify((await api(b.url, 'GET', path, undefined)).body), /PRIVATE KEY|sealed:v1/);
    }
    assert.doesNotMatch(JSON.stringify(rotated.body), /PRIVATE KEY|sealed:v1/);
  });
});
