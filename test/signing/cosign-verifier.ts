/**
 * A cosign signature verifier written from the cosign format alone, to check the signatures
 * Berth makes (it shares no code with src/signing). What `cosign verify --key` does for a
 * key-based signature: read the manifest at tag `sha256-<hex>.sig`; for each layer of media
 * type `application/vnd.dev.cosign.simplesigning.v1+json`, fetch the payload blob, check its
 * digest, check `critical.type` and that `critical.image.docker-manifest-digest` is the image
 * digest, and verify the base64 signature in the annotation `dev.cosignproject.cosign/signature`
 * (ECDSA, SHA-256, ASN.1 DER) over the payload bytes with the public key.
 */
import { createHash, verify } from 'node:crypto';

export interface VerifiedSignature {
  payload: { critical: { identity: { 'docker-reference': string }; image: { 'docker-manifest-digest': string }; type: string } };
}

/** The verified signatures of `digest` by `publicKeyPem` (empty when none verify). */
export async function cosignVerify(registry: string, repo: string, digest: string, publicKeyPem: string): Promise<VerifiedSignature[]> {
  const tag = `sha256-${digest.slice('sha256:'.length)}.sig`;
  const r = await fetch(`${registry}/v2/${repo}/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (r.status !== 200) return [];
  const manifest = (await r.json()) as { layers: { mediaType: string; digest: string; annotations?: Record<string, string> }[] };
  const out: VerifiedSignature[] = [];
  for (const layer of manifest.layers) {
    if (layer.mediaType !== 'application/vnd.dev.cosign.simplesigning.v1+json') continue;
    const blob = Buffer.from(await (await fetch(`${registry}/v2/${repo}/blobs/${layer.digest}`)).arrayBuffer());
    if (`sha256:${createHash('sha256').update(blob).digest('hex')}` !== layer.digest) continue;
    const payload = JSON.parse(blob.toString('utf8')) as VerifiedSignature['payload'];
    if (payload.critical.type !== 'cosign container image signature') continue;
    if (payload.critical.image['docker-manifest-digest'] !== digest) continue;
    const sig = layer.annotations?.['dev.cosignproject.cosign/signature'];
    if (!sig) continue;
    if (verify('sha256', blob, { key: publicKeyPem, dsaEncoding: 'der' }, Buffer.from(sig, 'base64'))) out.push({ payload });
  }
  return out;
}
