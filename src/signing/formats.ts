/**
 * The signature formats Berth reads, as the tools write them, and the check of one signature
 * against a project's trust (keys and certificates). Nothing here touches storage: the caller
 * hands in the signature manifest's bytes and a reader for its (small) layer blobs.
 *
 * - cosign, key-based: an OCI manifest (tag `sha256-<hex>.sig`, or a referrer with artifactType
 *   `application/vnd.dev.cosign.artifact.sig.v1+json`) whose layers are simple-signing
 *   payloads; each layer's annotation `dev.cosignproject.cosign/signature` is the base64
 *   signature over the payload bytes, and the payload names the manifest digest it covers.
 * - Sigstore bundle v0.3 with a public-key hint (key-based): a `messageSignature` over the
 *   subject manifest's bytes, or a DSSE envelope (in-toto statement or simple-signing payload).
 *   Keyless bundles (a Fulcio certificate and Rekor entries) are reported as not supported.
 * - Notation: a referrer with artifactType `application/vnd.cncf.notary.signature` whose layer
 *   is a JWS envelope (JSON serialization, `x5c` chain), verified against trusted X.509
 *   certificates.
 */
import { createHash, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { fingerprintOf, whichKey, type TrustedKey } from './keys.js';

export const COSIGN_SIMPLESIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json';
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';
export const SIGSTORE_BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const NOTATION_SIGNATURE = 'application/vnd.cncf.notary.signature';
export const JWS_ENVELOPE = 'application/jose+json';
export const NOTATION_PAYLOAD = 'application/vnd.cncf.notary.payload.v1+json';
const IN_TOTO = 'application/vnd.in-toto+json';

/** Artifact types that are signatures (referrers Berth reads as such). */
export const SIGNATURE_ARTIFACT_TYPES: ReadonlySet<string> = new Set([COSIGN_SIGNATURE_ARTIFACT, SIGSTORE_BUNDLE, NOTATION_SIGNATURE]);

/**
 * Media types of signature, attestation and SBOM artifacts: a manifest whose artifact type (or
 * config, or every layer) is one of these stays readable under an enforcing policy, so clients
 * can fetch what proves an image.
 */
export const SUPPLY_CHAIN_MEDIA_TYPES: ReadonlySet<string> = new Set([
  COSIGN_SIMPLESIGNING,
  COSIGN_SIGNATURE_ARTIFACT,
  SIGSTORE_BUNDLE,
  NOTATION_SIGNATURE,
  JWS_ENVELOPE,
  'application/vnd.dsse.envelope.v1+json',
  'application/vnd.dev.cosign.artifact.sbom.v1+json',
  'application/vnd.dev.cosign.attestation.v1+json',
  'application/vnd.in-toto+json',
  'application/spdx+json',
  'text/spdx',
  'text/spdx+json',
  'application/vnd.cyclonedx+json',
  'application/vnd.cyclonedx+xml',
  'application/vnd.cyclonedx',
  'application/vnd.syft+json',
]);

/** The cosign tag that holds the signatures of `digest` (`sha256:ab..` -> `sha256-ab...sig`). */
export function cosignSignatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** What a project trusts. */
export interface Trust {
  keys: readonly TrustedKey[];
  certificates: readonly X509Certificate[];
}

export type SignatureFormat = 'cosign' | 'sigstore-bundle' | 'notation';

/** The outcome of checking one signature. */
export interface SignatureCheck {
  format: SignatureFormat;
  /** The digest of the manifest holding the signature. */
  manifest: string;
  /** True when a trusted key or certificate made it and it covers the subject digest. */
  verified: boolean;
  /** Fingerprint of the key that made it (`sha256:...`), or the signing certificate's subject. */
  signer: string | null;
  /** Why it does not verify (or what it proves). */
  reason: string;
}

export interface Subject {
  digest: string;
  content: Buffer;
}

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  annotations?: Record<string, unknown>;
}

/** Reads a small blob (a signature payload or envelope); undefined when absent or too large. */
export type ReadBlob = (digest: string) => Promise<Buffer | undefined>;

function json(buf: Buffer): any {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}

const sha256Hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Checks every signature one signature manifest holds against `trust`, for `subject`. */
export async function checkSignatureManifest(sig: { digest: string; content: Buffer }, subject: Subject, trust: Trust, readBlob: ReadBlob): Promise<SignatureCheck[]> {
  const m = json(sig.content);
  if (!m || typeof m !== 'object' || !Array.isArray(m.layers)) return [];
  const out: SignatureCheck[] = [];
  for (const layer of m.layers as Descriptor[]) {
    if (!layer || typeof layer.digest !== 'string') continue;
    const mt = layer.mediaType;
    if (mt !== COSIGN_SIMPLESIGNING && mt !== SIGSTORE_BUNDLE && mt !== JWS_ENVELOPE) continue;
    const format: SignatureFormat = mt === COSIGN_SIMPLESIGNING ? 'cosign' : mt === SIGSTORE_BUNDLE ? 'sigstore-bundle' : 'notation';
    const fail = (reason: string, signer: string | null = null): SignatureCheck => ({ format, manifest: sig.digest, verified: false, signer, reason });
    const blob = await readBlob(layer.digest);
    if (!blob) {
      out.push(fail(`the signature blob ${layer.digest} cannot be read`));
      continue;
    }
    if (`sha256:${sha256Hex(blob)}` !== layer.digest) {
      out.push(fail('the signature blob does not match its digest'));
      continue;
    }
    if (format === 'cosign') {
      const sigB64 = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
      out.push(typeof sigB64 === 'string' ? checkSimpleSigning(blob, Buffer.from(sigB64, 'base64'), subject, trust, sig.digest) : fail(`the layer has no ${COSIGN_SIGNATURE_ANNOTATION} annotation`));
    } else if (format === 'sigstore-bundle') {
      out.push(checkBundle(blob, subject, trust, sig.digest));
    } else {
      out.push(checkNotation(blob, subject, trust, sig.digest));
    }
  }
  return out;
}

/** The digest a simple-signing payload covers, or a reason it is not one. */
export function simpleSigningDigest(payload: Buffer): { digest: string } | { error: string } {
  const p = json(payload);
  const critical = p?.critical;
  if (!critical || typeof critical !== 'object') return { error: 'the payload is not a simple-signing document' };
  if (critical.type !== COSIGN_SIGNATURE_TYPE) return { error: `the payload's critical.type is not "${COSIGN_SIGNATURE_TYPE}"` };
  const digest = critical.image?.['docker-manifest-digest'];
  if (typeof digest !== 'string') return { error: 'the payload names no critical.image.docker-manifest-digest' };
  return { digest };
}

function checkSimpleSigning(payload: Buffer, signature: Buffer, subject: Subject, trust: Trust, manifest: string): SignatureCheck {
  const base = { format: 'cosign' as const, manifest };
  const covered = simpleSigningDigest(payload);
  const key = whichKey(trust.keys, payload, signature);
  const signer = key?.fingerprint ?? null;
  if ('error' in covered) return { ...base, verified: false, signer, reason: covered.error };
  if (covered.digest !== subject.digest) return { ...base, verified: false, signer, reason: `the signature covers ${covered.digest}, not ${subject.digest}` };
  if (!key) return { ...base, verified: false, signer: null, reason: 'signed by a key the project does not trust' };
  return { ...base, verified: true, signer, reason: 'signed by a trusted key' };
}

/** DSSE pre-authentication encoding: what a DSSE signature signs. */
export function dssePae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

function checkBundle(raw: Buffer, subject: Subject, trust: Trust, manifest: string): SignatureCheck {
  const base = { format: 'sigstore-bundle' as const, manifest };
  const fail = (reason: string, signer: string | null = null): SignatureCheck => ({ ...base, verified: false, signer, reason });
  const b = json(raw);
  if (!b || b.mediaType !== SIGSTORE_BUNDLE) return fail('not a Sigstore bundle v0.3');
  const material = b.verificationMaterial ?? {};
  if (material.certificate || material.x509CertificateChain) return fail('keyless (certificate) bundles are not supported: Berth verifies key-based bundles only');
  if (!material.publicKey) return fail('the bundle names no public key');
  if (b.messageSignature) {
    const ms = b.messageSignature;
    const digest = Buffer.from(String(ms.messageDigest?.digest ?? ''), 'base64').toString('hex');
    if (ms.messageDigest?.algorithm !== 'SHA2_256' || `sha256:${digest}` !== subject.digest) return fail(`the bundle's message digest is not ${subject.digest}`);
    if (sha256Hex(subject.content) !== digest) return fail('the subject bytes do not match its digest');
    const key = whichKey(trust.keys, subject.content, Buffer.from(String(ms.signature ?? ''), 'base64'));
    return key ? { ...base, verified: true, signer: key.fingerprint, reason: 'signed by a trusted key' } : fail('signed by a key the project does not trust');
  }
  const env = b.dsseEnvelope;
  if (!env || typeof env.payload !== 'string' || typeof env.payloadType !== 'string' || !Array.isArray(env.signatures)) return fail('the bundle has neither a message signature nor a DSSE envelope');
  const body = Buffer.from(env.payload, 'base64');
  const pae = dssePae(env.payloadType, body);
  let key: TrustedKey | undefined;
  for (const s of env.signatures) if (!key && typeof s?.sig === 'string') key = whichKey(trust.keys, pae, Buffer.from(s.sig, 'base64'));
  const signer = key?.fingerprint ?? null;
  let covers: boolean;
  if (env.payloadType === IN_TOTO) {
    const st = json(body);
    covers = Array.isArray(st?.subject) && st.subject.some((s: any) => typeof s?.digest?.sha256 === 'string' && `sha256:${s.digest.sha256}` === subject.digest);
  } else {
    const d = simpleSigningDigest(body);
    covers = 'digest' in d && d.digest === subject.digest;
  }
  if (!covers) return fail(`the envelope does not cover ${subject.digest}`, signer);
  return key ? { ...base, verified: true, signer, reason: 'signed by a trusted key' } : fail('signed by a key the project does not trust');
}

const JWS_ALGS: Record<string, { hash: string; pss?: number; ec?: true }> = {
  PS256: { hash: 'sha256', pss: 32 },
  PS384: { hash: 'sha384', pss: 48 },
  PS512: { hash: 'sha512', pss: 64 },
  ES256: { hash: 'sha256', ec: true },
  ES384: { hash: 'sha384', ec: true },
  ES512: { hash: 'sha512', ec: true },
};

const NOTATION_CRIT_KNOWN = new Set(['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry', 'io.cncf.notary.authenticSigningTime', 'io.cncf.notary.verificationPlugin', 'io.cncf.notary.verificationPluginMinVersion']);

function b64url(s: unknown): Buffer {
  return Buffer.from(typeof s === 'string' ? s : '', 'base64url');
}

/** Whether `chain` (leaf first) links up to a certificate of `trusted`, each valid at `now`. */
export function chainTrusted(chain: readonly X509Certificate[], anchors: readonly X509Certificate[], now: Date): { ok: true } | { ok: false; reason: string } {
  for (const c of chain) {
    if (new Date(c.validFrom) > now || new Date(c.validTo) < now) return { ok: false, reason: `certificate ${c.subject.replace(/\n/g, ', ')} is not valid now` };
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) return { ok: false, reason: 'the certificate chain is broken' };
  }
  for (const c of chain) {
    for (const a of anchors) {
      if (c.fingerprint256 === a.fingerprint256) return { ok: true };
      if (c.checkIssued(a) && c.verify(a.publicKey)) return { ok: true };
    }
  }
  return { ok: false, reason: 'the certificate chain ends at no trusted certificate' };
}

function checkNotation(raw: Buffer, subject: Subject, trust: Trust, manifest: string, now = new Date()): SignatureCheck {
  const base = { format: 'notation' as const, manifest };
  const fail = (reason: string, signer: string | null = null): SignatureCheck => ({ ...base, verified: false, signer, reason });
  const env = json(raw);
  if (!env || typeof env.protected !== 'string' || typeof env.payload !== 'string' || typeof env.signature !== 'string') return fail('not a JWS envelope (JSON serialization)');
  const header = json(b64url(env.protected));
  const alg = JWS_ALGS[String(header?.alg)];
  if (!alg) return fail(`unsupported JWS algorithm ${String(header?.alg)}`);
  if (header.cty !== NOTATION_PAYLOAD) return fail(`the protected header's cty is not ${NOTATION_PAYLOAD}`);
  if (header['io.cncf.notary.signingScheme'] !== 'notary.x509') return fail('only the notary.x509 signing scheme is supported');
  const crit: unknown = header.crit;
  if (!Array.isArray(crit) || !crit.includes('io.cncf.notary.signingScheme')) return fail('the protected header must mark io.cncf.notary.signingScheme critical');
  for (const c of crit) if (!NOTATION_CRIT_KNOWN.has(String(c)) || !(String(c) in header)) return fail(`unsupported or missing critical header ${String(c)}`);
  if (header['io.cncf.notary.verificationPlugin']) return fail('signatures that need a verification plugin are not supported');
  const expiry = header['io.cncf.notary.expiry'];
  if (typeof expiry === 'string' && new Date(expiry) < now) return fail(`the signature expired at ${expiry}`);
  const x5c: unknown = env.header?.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0) return fail('the envelope carries no certificate chain (x5c)');
  let chain: X509Certificate[];
  try {
    chain = x5c.map((c) => new X509Certificate(Buffer.from(String(c), 'base64')));
  } catch {
    return fail('unreadable certificate in x5c');
  }
  const leaf = chain[0]!;
  const signer = leaf.subject.replace(/\n/g, ', ');
  const signingInput = Buffer.from(`${env.protected}.${env.payload}`, 'ascii');
  let ok = false;
  try {
    ok = alg.pss
      ? leaf.publicKey.asymmetricKeyType === 'rsa' && cryptoVerify(alg.hash, signingInput, { key: leaf.publicKey, padding: 6, saltLength: alg.pss }, b64url(env.signature))
      : leaf.publicKey.asymmetricKeyType === 'ec' && cryptoVerify(alg.hash, signingInput, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, b64url(env.signature));
  } catch {
    ok = false;
  }
  if (!ok) return fail("the JWS signature does not verify with the leaf certificate's key", signer);
  const payload = json(b64url(env.payload));
  if (payload?.targetArtifact?.digest !== subject.digest) return fail(`the signature covers ${String(payload?.targetArtifact?.digest)}, not ${subject.digest}`, signer);
  const chained = chainTrusted(chain, trust.certificates, now);
  if (!chained.ok) return fail(chained.reason, signer);
  return { ...base, verified: true, signer, reason: `signed by ${signer}, trusted through the project's certificates (key ${fingerprintOf(leaf.publicKey.export({ type: 'spki', format: 'der' }))})` };
}
