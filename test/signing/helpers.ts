/**
 * Signatures made the way the tools make them, for tests: keys from the `openssl` CLI and from
 * node:crypto; cosign simple-signing payloads signed over their exact bytes (ECDSA as ASN.1
 * DER, base64 in the layer annotation), pushed as the `sha256-<hex>.sig` tag or as an OCI 1.1
 * referrer; Sigstore bundles v0.3 (message signature, DSSE); Notation JWS envelopes built to
 * the Notary Project specification with an X.509 chain made by openssl. Nothing here imports
 * src/signing: these are independent producers.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/tools.js';
import { pushBlob, putManifest, sha256 } from '../helpers/oci.js';

export const SIMPLESIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json';

export interface TestKey {
  /** PEM public key. */
  publicKey: string;
  /** Signs `data` as the tool would (cosign: SHA-256 then ECDSA DER; Ed25519: pure). */
  sign(data: Buffer): Promise<Buffer>;
}

/** A P-256 key made by `openssl ecparam`, signing with `openssl dgst -sha256 -sign` (cosign's DER ECDSA). */
export async function opensslKey(): Promise<TestKey> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-openssl-'));
  const priv = join(dir, 'key.pem');
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', priv]);
  const { stdout: publicKey } = await run('openssl', ['ec', '-in', priv, '-pubout']);
  let n = 0;
  return {
    publicKey,
    async sign(data) {
      const file = join(dir, `data-${n++}`);
      await writeFile(file, data);
      await run('openssl', ['dgst', '-sha256', '-sign', priv, '-out', `${file}.sig`, file]);
      return readFile(`${file}.sig`);
    },
  };
}

/** A node:crypto key: `ec-p256`, `ec-p384`, `rsa`, `ed25519`. */
export function nodeKey(type: 'ec-p256' | 'ec-p384' | 'rsa' | 'ed25519'): TestKey & { privateKey: KeyObject } {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: type === 'ec-p256' ? 'P-256' : 'P-384' });
  const hash = type === 'ed25519' ? null : type === 'ec-p384' ? 'sha384' : 'sha256';
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: async (data) => sign(hash, data, pair.privateKey),
  };
}

/** The simple-signing payload cosign writes for `digest`. */
export function payloadFor(repoRef: string, digest: string): Buffer {
  return Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': repoRef }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }));
}

async function pushEmptyConfig(url: string, repo: string): Promise<{ mediaType: string; digest: string; size: number }> {
  const empty = Buffer.from('{}');
  await pushBlob(url, repo, empty);
  return { mediaType: EMPTY_CONFIG, digest: sha256(empty), size: 2 };
}

/**
 * Pushes a cosign signature manifest for `subject` whose layers are `payloads` signed by `key`
 * (one layer each): as the `sha256-<hex>.sig` tag, or as a referrer (subject + artifactType).
 */
export async function pushCosign(url: string, repo: string, subject: { digest: string; size: number }, sigs: { payload: Buffer; key: TestKey }[], mode: 'tag' | 'referrer'): Promise<string> {
  const layers = [];
  for (const s of sigs) {
    await pushBlob(url, repo, s.payload);
    layers.push({ mediaType: SIMPLESIGNING, digest: sha256(s.payload), size: s.payload.length, annotations: { 'dev.cosignproject.cosign/signature': (await s.key.sign(s.payload)).toString('base64') } });
  }
  const config = await pushEmptyConfig(url, repo);
  const manifest: Record<string, unknown> = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers };
  if (mode === 'referrer') {
    manifest.artifactType = 'application/vnd.dev.cosign.artifact.sig.v1+json';
    manifest.subject = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size };
  }
  const body = Buffer.from(JSON.stringify(manifest));
  await putManifest(url, repo, mode === 'tag' ? `${subject.digest.replace(':', '-')}.sig` : sha256(body), body);
  return sha256(body);
}

/** Pushes an artifact referring to `subject` with one layer `blob` of `layerType`. */
export async function pushReferrer(url: string, repo: string, subject: { digest: string; size: number }, artifactType: string, layerType: string, blob: Buffer, annotations: Record<string, string> = {}): Promise<string> {
  await pushBlob(url, repo, blob);
  const config = await pushEmptyConfig(url, repo);
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config,
      layers: [{ mediaType: layerType, digest: sha256(blob), size: blob.length }],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
      annotations: { 'org.opencontainers.image.created': new Date().toISOString(), ...annotations },
    }),
  );
  await putManifest(url, repo, sha256(body), body);
  return sha256(body);
}

/** A Sigstore bundle v0.3 with a key-based message signature over the subject manifest bytes. */
export async function messageSignatureBundle(subjectBytes: Buffer, key: TestKey): Promise<Buffer> {
  return Buffer.from(
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: 'test-key' }, tlogEntries: [] },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(subjectBytes).digest('base64') }, signature: (await key.sign(subjectBytes)).toString('base64') },
    }),
  );
}

/** A Sigstore bundle v0.3 with a DSSE envelope of an in-toto statement about `digest`. */
export async function dsseBundle(digest: string, key: TestKey): Promise<Buffer> {
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'image', digest: { sha256: digest.slice('sha256:'.length) } }], predicateType: 'https://example.com/provenance', predicate: {} }));
  const type = 'application/vnd.in-toto+json';
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${statement.length} `), statement]);
  return Buffer.from(
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: 'test-key' }, tlogEntries: [] },
      dsseEnvelope: { payload: statement.toString('base64'), payloadType: type, signatures: [{ sig: (await key.sign(pae)).toString('base64'), keyid: '' }] },
    }),
  );
}

export interface TestPki {
  /** The root CA certificate (PEM): what a trust store holds. */
  rootPem: string;
  /** Leaf then intermediate (DER, base64), as x5c. */
  x5c: string[];
  leafKeyPem: string;
}

/** A root CA, and a leaf code-signing certificate (RSA 2048) issued by it, made with openssl. */
export async function opensslPki(cn: string): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pki-'));
  const f = (n: string) => join(dir, n);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', `/CN=${cn} root`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', `/CN=${cn} signer/O=Berth tests`]);
  await writeFile(f('ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n');
  await run('openssl', ['x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('leaf.pem'), '-days', '1', '-extfile', f('ext')]);
  const der = async (pem: string) => (await run('openssl', ['x509', '-in', pem, '-outform', 'DER', '-out', `${pem}.der`]), (await readFile(`${pem}.der`)).toString('base64'));
  return { rootPem: await readFile(f('ca.pem'), 'utf8'), x5c: [await der(f('leaf.pem'))], leafKeyPem: await readFile(f('leaf.key'), 'utf8') };
}

/** A Notation JWS envelope (JSON serialization, PS256, notary.x509) for a target manifest. */
export function notationEnvelope(target: { digest: string; size: number; mediaType?: string }, pki: TestPki): Buffer {
  const b64u = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const protectedHeader = b64u({
    alg: 'PS256',
    crit: ['io.cncf.notary.signingScheme'],
    cty: 'application/vnd.cncf.notary.payload.v1+json',
    'io.cncf.notary.signingScheme': 'notary.x509',
    'io.cncf.notary.signingTime': new Date().toISOString(),
  });
  const payload = b64u({ targetArtifact: { mediaType: target.mediaType ?? OCI_MANIFEST, digest: target.digest, size: target.size } });
  const signature = sign('sha256', Buffer.from(`${protectedHeader}.${payload}`), { key: pki.leafKeyPem, padding: 6, saltLength: 32 }).toString('base64url');
  return Buffer.from(JSON.stringify({ payload, protected: protectedHeader, header: { x5c: pki.x5c, 'io.cncf.notary.signingAgent': 'berth-tests/1.0' }, signature }));
}
