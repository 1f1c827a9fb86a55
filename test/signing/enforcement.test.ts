/**
 * Signed pulls, end to end on a real server: a project's enforcing policy refuses unsigned and
 * wrongly signed manifests and serves the ones a trusted key or certificate signed, in every
 * format Berth reads (cosign tag and referrer forms, Sigstore bundles, Notation), with keys
 * from openssl and node:crypto. Also: a moved tag, the children of a signed index, a removed
 * signature (the cached verdict must go), other projects, signature artifacts staying
 * readable, the audit record of a refusal, and what skopeo and podman print.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api } from '../helpers/auth.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { indexManifest, pushImage, putManifest, sha256 } from '../helpers/oci.js';
import { missingTools, run } from '../helpers/tools.js';
import { dsseBundle, messageSignatureBundle, nodeKey, notationEnvelope, opensslKey, opensslPki, payloadFor, pushCosign, pushReferrer, type TestKey, type TestPki } from './helpers.js';

const P = 'signed';
const R = `${P}/app`;

async function pull(url: string, repo: string, ref: string, method = 'GET'): Promise<{ status: number; code?: string; message?: string }> {
  const r = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { method, headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' } });
  if (r.status === 200 || method === 'HEAD') return { status: r.status };
  const body = (await r.json()) as { errors: { code: string; message: string }[] };
  return { status: r.status, code: body.errors[0]!.code, message: body.errors[0]!.message };
}

function assertRefused(r: { status: number; code?: string; message?: string }, why: RegExp): void {
  assert.equal(r.status, 403);
  assert.equal(r.code, 'DENIED');
  assert.match(r.message!, /signing policy of project signed/);
  assert.match(r.message!, why);
}

describe('signature enforcement', () => {
  let b: TestBerth;
  let openssl: TestKey;
  const p384 = nodeKey('ec-p384');
  const rsa = nodeKey('rsa');
  const ed = nodeKey('ed25519');
  const untrusted = nodeKey('ec-p256');
  let pki: TestPki;
  let otherPki: TestPki;

  before(async () => {
    b = await startBerth();
    [openssl, pki, otherPki] = await Promise.all([opensslKey(), opensslPki('trusted'), opensslPki('stranger')]);
    for (const name of [P, 'other']) assert.equal((await api(b.url, 'POST', '/projects', undefined, { name })).status, 201);
    const put = await api(b.url, 'PUT', `/projects/${P}/signing`, undefined, {
      verify: { keys: [openssl.publicKey, p384.publicKey, rsa.publicKey, ed.publicKey], certificates: [pki.rootPem], enforce: true },
      signOnPush: false,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.verify.keys.length, 4);
    assert.deepEqual(put.body.verify.keys.map((k: { type: string }) => k.type), ['ecdsa-p256', 'ecdsa-p384', 'rsa', 'ed25519']);
  });
  after(() => b?.close());

  it('refuses an unsigned manifest (GET and HEAD) and records the refusal in the audit log', async () => {
    const img = await pushImage(b.url, R, 'unsigned');
    assertRefused(await pull(b.url, R, 'unsigned'), /no signature covers/);
    assert.equal((await pull(b.url, R, img.digest, 'HEAD')).status, 403);
    await b.berth.app.inject({ method: 'GET', url: '/healthz' }); // let the audit batch settle below
    let events: { action: string; resource: string; result: string }[] = [];
    for (let i = 0; i < 30 && !events.some((e) => e.resource === `${R}@${img.digest}`); i++) {
      await new Promise((r) => setTimeout(r, 200));
      events = (await api(b.url, 'GET', `/audit?project=${P}&action=signing.pull_refused`, undefined)).body.items;
    }
    assert.ok(events.some((e) => e.resource === `${R}@${img.digest}` && e.result === 'failure'), JSON.stringify(events));
  });

  it('serves a manifest signed in the cosign tag form with an openssl key, and keeps the signature readable', async () => {
    const img = await pushImage(b.url, R, 'v1');
    assertRefused(await pull(b.url, R, 'v1'), /no signature/);
    await pushCosign(b.url, R, { digest: img.digest, size: img.manifest.length }, [{ payload: payloadFor(`localhost/${R}`, img.digest), key: openssl }], 'tag');
    assert.equal((await pull(b.url, R, 'v1')).status, 200);
    assert.equal((await pull(b.url, R, img.digest, 'HEAD')).status, 200);
    assert.equal((await pull(b.url, R, `${img.digest.replace(':', '-')}.sig`)).status, 200, 'the signature itself stays readable');
    const sigs = await api(b.url, 'GET', `/repositories/${encodeURIComponent(R)}/manifests/${img.digest}/signatures`, undefined);
    assert.equal(sigs.status, 200);
    assert.equal(sigs.body.verified, true);
    assert.equal(sigs.body.signatures[0].format, 'cosign');
    assert.equal(sigs.body.signatures[0].signer, (await api(b.url, 'GET', `/projects/${P}/signing`, undefined)).body.verify.keys[0].fingerprint);
  });

  it('serves manifests signed as OCI 1.1 referrers with P-384, RSA and Ed25519 node:crypto keys', async () => {
    for (const key of [p384, rsa, ed]) {
      const img = await pushImage(b.url, R, `ref-${Math.random().toString(36).slice(2, 8)}`);
      assertRefused(await pull(b.url, R, img.digest), /no signature/);
      await pushCosign(b.url, R, { digest: img.digest, size: img.manifest.length }, [{ payload: payloadFor(R, img.digest), key }], 'referrer');
      assert.equal((await pull(b.url, R, img.digest)).status, 200);
    }
  });

  it('refuses a signature by an untrusted key and a signature over another digest', async () => {
    const a = await pushImage(b.url, R, 'untrusted');
    await pushCosign(b.url, R, { digest: a.digest, size: a.manifest.length }, [{ payload: payloadFor(R, a.digest), key: untrusted }], 'tag');
    assertRefused(await pull(b.url, R, 'untrusted'), /key the project does not trust/);

    const c = await pushImage(b.url, R, 'wrong-digest');
    const other = await pushImage(b.url, R, 'elsewhere');
    // A trusted key's signature over `other`, attached to `c`: it proves nothing about `c`.
    await pushCosign(b.url, R, { digest: c.digest, size: c.manifest.length }, [{ payload: payloadFor(R, other.digest), key: openssl }], 'tag');
    assertRefused(await pull(b.url, R, 'wrong-digest'), /covers sha256:[0-9a-f]+, not/);
    // A valid payload with a corrupted signature.
    const d = await pushImage(b.url, R, 'tampered');
    const bad: TestKey = { publicKey: '', sign: async (data) => Buffer.from((await openssl.sign(data)).map((x, i) => (i === 10 ? x ^ 1 : x))) };
    await pushCosign(b.url, R, { digest: d.digest, size: d.manifest.length }, [{ payload: payloadFor(R, d.digest), key: bad }], 'referrer');
    assertRefused(await pull(b.url, R, 'tampered'), /does not trust/);
  });

  it('refuses a tag moved to an unsigned image', async () => {
    const signed = await pushImage(b.url, R, 'latest');
    await pushCosign(b.url, R, { digest: signed.digest, size: signed.manifest.length }, [{ payload: payloadFor(R, signed.digest), key: openssl }], 'tag');
    assert.equal((await pull(b.url, R, 'latest')).status, 200);
    await pushImage(b.url, R, 'latest');
    assertRefused(await pull(b.url, R, 'latest'), /no signature/);
  });

  it('serves the children of a signed index by digest, not a child outside it', async () => {
    const c1 = await pushImage(b.url, R, 'c1');
    const c2 = await pushImage(b.url, R, 'c2');
    const loose = await pushImage(b.url, R, 'loose');
    const index = indexManifest([
      { digest: c1.digest, size: c1.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      { digest: c2.digest, size: c2.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    await putManifest(b.url, R, 'multi', index, 'application/vnd.oci.image.index.v1+json');
    assertRefused(await pull(b.url, R, c1.digest), /no signature/);
    await pushCosign(b.url, R, { digest: sha256(index), size: index.length }, [{ payload: payloadFor(R, sha256(index)), key: openssl }], 'tag');
    assert.equal((await pull(b.url, R, 'multi')).status, 200);
    assert.equal((await pull(b.url, R, c1.digest)).status, 200);
    assert.equal((await pull(b.url, R, c2.digest)).status, 200);
    assertRefused(await pull(b.url, R, loose.digest), /no signature/);
    const sigs = await api(b.url, 'GET', `/repositories/${encodeURIComponent(R)}/manifests/${c1.digest}/signatures`, undefined);
    assert.equal(sigs.body.verified, true);
    assert.equal(sigs.body.coveredBy, sha256(index));
  });

  it('refuses again once the signature is deleted (the cached verdict is dropped)', async () => {
    const img = await pushImage(b.url, R, 'revoked');
    const sig = await pushCosign(b.url, R, { digest: img.digest, size: img.manifest.length }, [{ payload: payloadFor(R, img.digest), key: openssl }], 'referrer');
    for (let i = 0; i < 3; i++) assert.equal((await pull(b.url, R, 'revoked')).status, 200);
    assert.equal((await fetch(`${b.url}/v2/${R}/manifests/${sig}`, { method: 'DELETE' })).status, 202);
    assertRefused(await pull(b.url, R, 'revoked'), /no signature/);
  });

  it('refuses again once the signing key is no longer trusted', async () => {
    const img = await pushImage(b.url, R, 'by-ed25519');
    await pushCosign(b.url, R, { digest: img.digest, size: img.manifest.length }, [{ payload: payloadFor(R, img.digest), key: ed }], 'tag');
    assert.equal((await pull(b.url, R, 'by-ed25519')).status, 200);
    const keys = [openssl.publicKey, p384.publicKey, rsa.publicKey];
    assert.equal((await api(b.url, 'PUT', `/projects/${P}/signing`, undefined, { verify: { keys, certificates: [pki.rootPem], enforce: true } })).status, 200);
    assertRefused(await pull(b.url, R, 'by-ed25519'), /does not trust/);
    assert.equal((await api(b.url, 'PUT', `/projects/${P}/signing`, undefined, { verify: { keys: [...keys, ed.publicKey], certificates: [pki.rootPem], enforce: true } })).status, 200);
    assert.equal((await pull(b.url, R, 'by-ed25519')).status, 200);
  });

  it('verifies Sigstore bundles (message signature and DSSE) and refuses one by an untrusted key', async () => {
    const a = await pushImage(b.url, R, 'bundle-a');
    await pushReferrer(b.url, R, { digest: a.digest, size: a.manifest.length }, 'application/vnd.dev.sigstore.bundle.v0.3+json', 'application/vnd.dev.sigstore.bundle.v0.3+json', await messageSignatureBundle(a.manifest, openssl));
    assert.equal((await pull(b.url, R, 'bundle-a')).status, 200);
    const d = await pushImage(b.url, R, 'bundle-dsse');
    await pushReferrer(b.url, R, { digest: d.digest, size: d.manifest.length }, 'application/vnd.dev.sigstore.bundle.v0.3+json', 'application/vnd.dev.sigstore.bundle.v0.3+json', await dsseBundle(d.digest, p384));
    assert.equal((await pull(b.url, R, 'bundle-dsse')).status, 200);
    const u = await pushImage(b.url, R, 'bundle-untrusted');
    await pushReferrer(b.url, R, { digest: u.digest, size: u.manifest.length }, 'application/vnd.dev.sigstore.bundle.v0.3+json', 'application/vnd.dev.sigstore.bundle.v0.3+json', await messageSignatureBundle(u.manifest, untrusted));
    assertRefused(await pull(b.url, R, 'bundle-untrusted'), /does not trust/);
  });

  it('verifies Notation JWS signatures against the trusted root, refusing another PKI', async () => {
    const a = await pushImage(b.url, R, 'notation');
    await pushReferrer(b.url, R, { digest: a.digest, size: a.manifest.length }, 'application/vnd.cncf.notary.signature', 'application/jose+json', notationEnvelope({ digest: a.digest, size: a.manifest.length }, pki), {
      'io.cncf.notary.x509chain.thumbprint#S256': '[]',
    });
    assert.equal((await pull(b.url, R, 'notation')).status, 200);
    const sigs = await api(b.url, 'GET', `/repositories/${encodeURIComponent(R)}/manifests/${a.digest}/signatures`, undefined);
    assert.equal(sigs.body.signatures[0].format, 'notation');
    assert.match(sigs.body.signatures[0].signer, /CN=trusted signer/);
    const o = await pushImage(b.url, R, 'notation-stranger');
    await pushReferrer(b.url, R, { digest: o.digest, size: o.manifest.length }, 'application/vnd.cncf.notary.signature', 'application/jose+json', notationEnvelope({ digest: o.digest, size: o.manifest.length }, otherPki));
    assertRefused(await pull(b.url, R, 'notation-stranger'), /no trusted certificate/);
  });

  it('leaves other projects alone', async () => {
    await pushImage(b.url, 'other/app', 'v1');
    assert.equal((await pull(b.url, 'other/app', 'v1')).status, 200);
  });

  it('rejects a bad policy with INVALID and changes nothing', async () => {
    const before = (await api(b.url, 'GET', `/projects/${P}/signing`, undefined)).body;
    const r = await api(b.url, 'PUT', `/projects/${P}/signing`, undefined, { verify: { keys: ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'], enforce: false } });
    assert.equal(r.status, 400);
    assert.match(r.body.detail, /verify\.keys\[0\]/);
    assert.deepEqual((await api(b.url, 'GET', `/projects/${P}/signing`, undefined)).body, before);
    assert.equal((await api(b.url, 'PUT', '/projects/nope/signing', undefined, { verify: { enforce: true } })).status, 404);
  });

  it('forgets the policy and keys of a deleted project: a project re-created under its name starts clean', async () => {
    assert.equal((await api(b.url, 'POST', '/projects', undefined, { name: 'gone' })).status, 201);
    const set = await api(b.url, 'PUT', '/projects/gone/signing', undefined, { verify: { keys: [openssl.publicKey], enforce: true }, signOnPush: true });
    assert.equal(set.body.signingKeys.length, 1);
    assert.equal((await api(b.url, 'DELETE', '/projects/gone', undefined)).status, 204);
    assert.equal((await api(b.url, 'POST', '/projects', undefined, { name: 'gone' })).status, 201);
    const fresh = (await api(b.url, 'GET', '/projects/gone/signing', undefined)).body;
    assert.deepEqual([fresh.verify.keys, fresh.verify.enforce, fresh.signOnPush, fresh.signingKeys], [[], false, false, []]);
    assert.equal((await api(b.url, 'GET', '/projects/gone/signing/public-key', undefined)).status, 404);
  });

  describe('real clients see the refusal', { skip: missingTools('skopeo', 'podman') }, () => {
    it('skopeo inspect and podman pull print the policy and the reason', async () => {
      await pushImage(b.url, R, 'client-unsigned');
      const sk = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${b.host}/${R}:client-unsigned`]).then(
        () => '',
        (e: Error) => e.message,
      );
      assert.match(sk, /signing policy of project signed requires a trusted signature: no signature covers/);
      const pd = await run('podman', ['pull', '--tls-verify=false', `${b.host}/${R}:client-unsigned`], { timeoutMs: 120_000 }).then(
        () => '',
        (e: Error) => e.message,
      );
      assert.match(pd, /signing policy of project signed requires a trusted signature/);
    });
  });
});
