/**
 * Sign on push. A project with `signOnPush` gets, for every manifest pushed to it, a job
 * (`signing.sign`) enqueued in the push's own transaction (so a push that commits is signed
 * even if this process dies right after, and a push that rolls back enqueues nothing). The
 * job signs the manifest digest with the project's active key and stores a cosign signature:
 * the simple-signing payload as a layer of the tag `sha256-<hex>.sig`, its base64 DER
 * ECDSA signature in the layer's `dev.cosignproject.cosign/signature` annotation, beside
 * any signatures the tag already holds — exactly what `cosign verify --key` reads.
 *
 * Signature and SBOM artifacts, and manifests pushed to cosign's own tags, are not signed
 * (that would sign signatures, and Berth's own signature push would loop).
 */
import { sign } from 'node:crypto';
import type { Digest, RepoName } from '../domain/names.js';
import { projectOf } from '../domain/names.js';
import type { RegistryChangeListener } from '../policy/registry-changes.js';
import { COSIGN_SIGNATURE_ANNOTATION, COSIGN_SIGNATURE_TYPE, COSIGN_SIMPLESIGNING, cosignSignatureTag, SUPPLY_CHAIN_MEDIA_TYPES } from './formats.js';
import { storedPolicy } from './policy.js';
import type { SigningService } from './service.js';

export const SIGN_JOB = 'signing.sign';
const COSIGN_TAG = /^sha256-[0-9a-f]{64}\.(sig|att|sbom)$/;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** How the signing job stores what it makes (the registry's own write path, wired in main.ts). */
export interface ArtifactWriter {
  putBlob(repo: RepoName, bytes: Buffer): Promise<Digest>;
  /** The manifest bytes a tag points at, or undefined. */
  getManifest(repo: RepoName, tag: string): Promise<Buffer | undefined>;
  putManifest(repo: RepoName, tag: string, body: Buffer, mediaType: string): Promise<void>;
  exists(repo: RepoName, digest: Digest): Promise<boolean>;
}

/** The listener that enqueues `signing.sign` for pushes to projects that sign on push. */
export function signOnPushListener(now: () => number = Date.now): RegistryChangeListener {
  return async (tx, change) => {
    if (change.kind !== 'manifest.pushed') return;
    if (change.subject || (change.artifactType && SUPPLY_CHAIN_MEDIA_TYPES.has(change.artifactType)) || (change.tag && COSIGN_TAG.test(change.tag))) return;
    const policy = storedPolicy(await tx.signing.policy(projectOf(change.repo)));
    if (!policy.signOnPush) return;
    const t = now();
    await tx.jobs.enqueue({ kind: SIGN_JOB, payload: { repository: change.repo, digest: change.digest }, maxAttempts: 5, runAt: t, dedupeKey: `${SIGN_JOB}:${change.repo}@${change.digest}` }, t);
  };
}

/** The cosign simple-signing payload for `digest` of `repo` (as `cosign sign` writes it). */
export function simpleSigningPayload(reference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({ critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': digest }, type: COSIGN_SIGNATURE_TYPE }, optional: { creator: 'berth' } }),
  );
}

/**
 * Signs `digest` of `repo` with the project's active key and stores the signature; a no-op when
 * the manifest is gone, the project has no key, or the key already signed it.
 */
export async function signManifest(signing: SigningService, writer: ArtifactWriter, repo: RepoName, digest: Digest, referenceHost: string): Promise<'signed' | 'skipped'> {
  if (!(await writer.exists(repo, digest))) return 'skipped';
  const key = await signing.activeKey(projectOf(repo));
  if (!key) return 'skipped';
  const tag = cosignSignatureTag(digest);
  const payload = simpleSigningPayload(referenceHost ? `${referenceHost}/${repo}` : repo, digest);
  const signature = sign('sha256', payload, key.privateKeyPem).toString('base64');
  const payloadDigest = await writer.putBlob(repo, payload);
  const layer = { mediaType: COSIGN_SIMPLESIGNING, size: payload.length, digest: payloadDigest, annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature, 'dev.berth.signing/key': key.record.fingerprint } };

  // Keep the signatures the tag already holds (cosign appends the same way), minus an older
  // one of the same key over the same payload.
  const existing = await writer.getManifest(repo, tag);
  let layers: any[] = [];
  if (existing) {
    try {
      const doc = JSON.parse(existing.toString('utf8'));
      if (Array.isArray(doc.layers)) layers = doc.layers.filter((l: any) => l?.mediaType === COSIGN_SIMPLESIGNING);
    } catch {
      layers = [];
    }
    if (layers.some((l) => l.digest === payloadDigest && l.annotations?.['dev.berth.signing/key'] === key.record.fingerprint)) return 'skipped';
  }
  layers.push(layer);
  const config = Buffer.from(
    JSON.stringify({ architecture: '', config: {}, created: '0001-01-01T00:00:00Z', history: [{ created: '0001-01-01T00:00:00Z' }], os: '', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }),
  );
  const configDigest = await writer.putBlob(repo, config);
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: configDigest }, layers }),
  );
  await writer.putManifest(repo, tag, manifest, OCI_MANIFEST);
  return 'signed';
}
