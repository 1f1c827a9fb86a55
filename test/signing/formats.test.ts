/**
 * The format checks of src/signing/formats.ts on their own, for the cases a registry round trip
 * does not reach cheaply: what each refusal says (wrong critical.type, a payload for another
 * digest, a blob that does not match its digest, a keyless Sigstore bundle, an expired or
 * tampered Notation envelope, a broken certificate chain) and that the key types sign and verify
 * as cosign and Notation expect. Signatures come from openssl and node:crypto (helpers.ts).
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { checkSignatureManifest, type Trust } from '../../src/signing/formats.js';
import { parsePublicKey } from '../../src/signing/keys.js';
import { compileTrust, PolicyError, SigningPolicyInput } from '../../src/signing/policy.js';
import { messageSignatureBundle, nodeKey, notationEnvelope, opensslKey, opensslPki, payloadFor, SIMPLESIGNING, type TestKey, type TestPki } from './helpers.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const subject = { content: Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}') };
const SUBJECT = { ...subject, digest: sha(subject.content) };

/** A signature manifest with one layer holding `blob`, and a reader over the blobs given. */
function sigManifest(layerType: string, blob: Buffer, annotations: Record<string, string> = {}, stored: Buffer = blob) {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [{ mediaType: layerType, digest: sha(blob), size: blob.length, annotations }] }));
  return { sig: { digest: sha(content), content }, read: async (d: string) => (d === sha(blob) ? stored : undefined) };
}

async function check(layerType: string, blob: Buffer, trust: Trust, annotations: Record<string, string> = {}, stored?: Buffer) {
  const m = sigManifest(layerType, blob, annotations, stored);
  const [r] = await checkSignatureManifest(m.sig, SUBJECT, trust, m.read);
  assert.ok(r);
  return r;
}

describe('signature formats', () => {
  let openssl: TestKey;
  let pki: TestPki;
  before(async () => {
    [openssl, pki] = await Promise.all([opensslKey(), opensslPki('unit')]);
  });

  it('cosign: verifies with the trusted key, says why otherwise', async () => {
    const trust = { keys: [parsePublicKey(openssl.publicKey)], certificates: [] };
    const payload = payloadFor('r', SUBJECT.digest);
    const sig = (await openssl.sign(payload)).toString('base64');
    const ok = await check(SIMPLESIGNING, payload, trust, { 'dev.cosignproject.cosign/signature': sig });
    assert.deepEqual([ok.verified, ok.signer, ok.format], [true, trust.keys[0]!.fingerprint, 'cosign']);

    const wrongType = Buffer.from(JSON.stringify({ critical: { identity: {}, image: { 'docker-manifest-digest': SUBJECT.digest }, type: 'something else' } }));
    assert.match((await check(SIMPLESIGNING, wrongType, trust, { 'dev.cosignproject.cosign/signature': (await openssl.sign(wrongType)).toString('base64') })).reason, /critical\.type/);
    assert.match((await check(SIMPLESIGNING, payload, trust)).reason, /no dev\.cosignproject\.cosign\/signature annotation/);
    assert.match((await check(SIMPLESIGNING, payload, trust, { 'dev.cosignproject.cosign/signature': sig }, Buffer.from('other bytes'))).reason, /does not match its digest/);
    assert.match((await check(SIMPLESIGNING, payload, { keys: [parsePublicKey(nodeKey('ec-p256').publicKey)], certificates: [] }, { 'dev.cosignproject.cosign/signature': sig })).reason, /does not trust/);
  });

  it('keys: P-256, P-384, RSA and Ed25519 from node:crypto verify; P-521, short RSA and garbage are refused', async () => {
    for (const type of ['ec-p256', 'ec-p384', 'rsa', 'ed25519'] as const) {
      const k = nodeKey(type);
      const payload = payloadFor('r', SUBJECT.digest);
      const r = await check(SIMPLESIGNING, payload, { keys: [parsePublicKey(k.publicKey)], certificates: [] }, { 'dev.cosignproject.cosign/signature': (await k.sign(payload)).toString('base64') });
      assert.equal(r.verified, true, type);
    }
    const policy = (keys: string[]) => SigningPolicyInput.parse({ verify: { keys } });
    const { generateKeyPairSync } = await import('node:crypto');
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(() => compileTrust(policy([p521])), (e: Error) => e instanceof PolicyError && /P-256 and P-384/.test(e.message));
    assert.throws(() => compileTrust(policy([openssl.publicKey, rsa1024])), /verify\.keys\[1\]: RSA keys must have at least 2048 bits/);
    assert.throws(() => compileTrust(policy(['hello'])), /PEM public key/);
  });

  it('Sigstore bundles: key-based verifies, keyless is reported as not supported', async () => {
    const trust = { keys: [parsePublicKey(openssl.publicKey)], certificates: [] };
    const bundle = await messageSignatureBundle(SUBJECT.content, openssl);
    assert.equal((await check('application/vnd.dev.sigstore.bundle.v0.3+json', bundle, trust)).verified, true);
    const keyless = JSON.parse(bundle.toString());
    keyless.verificationMaterial = { certificate: { rawBytes: 'MIIB' }, tlogEntries: [{ logIndex: '1' }] };
    const r = await check('application/vnd.dev.sigstore.bundle.v0.3+json', Buffer.from(JSON.stringify(keyless)), trust);
    assert.equal(r.verified, false);
    assert.match(r.reason, /keyless .* not supported/);
  });

  it('Notation: trusted chain verifies; tampered, expired, and untrusted envelopes do not', async () => {
    const trust = { keys: [], certificates: [new X509Certificate(pki.rootPem)] };
    const env = notationEnvelope({ digest: SUBJECT.digest, size: SUBJECT.content.length }, pki);
    const ok = await check('application/jose+json', env, trust);
    assert.equal(ok.verified, true, ok.reason);
    assert.match(ok.signer!, /CN=unit signer/);

    const tampered = JSON.parse(env.toString());
    tampered.payload = Buffer.from(JSON.stringify({ targetArtifact: { digest: SUBJECT.digest, size: 1 } })).toString('base64url');
    assert.match((await check('application/jose+json', Buffer.from(JSON.stringify(tampered)), trust)).reason, /does not verify/);

    const expired = JSON.parse(env.toString());
    const header = JSON.parse(Buffer.from(expired.protected, 'base64url').toString());
    expired.protected = Buffer.from(JSON.stringify({ ...header, crit: [...header.crit, 'io.cncf.notary.expiry'], 'io.cncf.notary.expiry': '2020-01-01T00:00:00Z' })).toString('base64url');
    assert.match((await check('application/jose+json', Buffer.from(JSON.stringify(expired)), trust)).reason, /expired/);

    const other = await opensslPki('other');
    assert.match((await check('application/jose+json', env, { keys: [], certificates: [new X509Certificate(other.rootPem)] })).reason, /no trusted certificate/);
    const forDigest = notationEnvelope({ digest: `sha256:${'0'.repeat(64)}`, size: 1 }, pki);
    assert.match((await check('application/jose+json', forDigest, trust)).reason, /covers sha256:0+, not/);
  });
});
