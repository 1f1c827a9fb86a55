/**
 * Attaching an artifact (an SBOM, a report) to a stored manifest as an OCI 1.1 referrer, the
 * way a client would push one: the artifact's blob and the empty config go through the upload
 * path (verified, durable, then recorded) and the artifact manifest, whose `subject` names
 * the manifest, through the manifest path (so quotas, listeners and the referrers index see it
 * like any push). `oras discover`, cosign and other registries then find it.
 */
import { createHash } from 'node:crypto';
import type { Digest, RepoName } from '../domain/names.js';
import type { RegistryServices } from './services.js';

const EMPTY = Buffer.from('{}');
async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}
const sha256 = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

export interface ArtifactSubject {
  digest: string;
  mediaType: string;
  size: number;
}

/** Pushes `bytes` as an artifact of `artifactType` referring to `subject`; resolves to the artifact manifest's digest. */
export async function attachArtifact(uploads: RegistryServices['uploads'], manifests: RegistryServices['manifests'], repo: RepoName, subject: ArtifactSubject, artifactType: string, bytes: Buffer, annotations: Record<string, string> = {}): Promise<Digest> {
  const layer = sha256(bytes);
  await uploads.putMonolithic(repo, sha256(EMPTY), once(EMPTY), EMPTY.length);
  await uploads.putMonolithic(repo, layer, once(bytes), bytes.length);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY), size: EMPTY.length },
      layers: [{ mediaType: artifactType, digest: layer, size: bytes.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations,
    }),
  );
  const digest = sha256(manifest);
  await manifests.put(repo, { kind: 'digest', digest }, manifest, 'application/vnd.oci.image.manifest.v1+json');
  return digest;
}
