/**
 * Attaching an artifact (an SBOM, a report) to a stored manifest as an OCI 1.1 referrer, the
 * way a client would push one: the artifact's blob and the empty config go through the upload
 * path (verified, durable, then recorded) and the artifact manifest, whose `subject` names
 * the manifest, through the manifest path (so quotas, listeners and the referrers index see it
 * like any push). `oras discover`, cosign and other registries then find it.
 */
import { createHash } from 'node:crypto';
import { parseReference, type Digest, type RepoName } from '../domain/names.js';
import type { MetadataStore } from '../metadata/store.js';
import type { ArtifactWriter } from '../signing/signer.js';
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

/** Stores `bytes` as a blob of `repo` through the upload path, unless the repository holds it already. */
async function putBlob(meta: MetadataStore, uploads: RegistryServices['uploads'], repo: RepoName, bytes: Buffer): Promise<Digest> {
  const digest = sha256(bytes);
  if ((await meta.blobs.sizeInRepository(repo, digest)) === undefined) await uploads.putMonolithic(repo, digest, once(bytes), bytes.length);
  return digest;
}

/** What sign on push writes through (src/signing/signer.ts): the registry's own push paths. */
export function registryArtifactWriter(meta: MetadataStore, registry: Pick<RegistryServices, 'uploads' | 'manifests'>): ArtifactWriter {
  return {
    putBlob: (repo, bytes) => putBlob(meta, registry.uploads, repo, bytes),
    async getManifest(repo, tag) {
      const digest = await meta.tags.digestOf(repo, tag);
      return digest ? (await meta.manifests.get(repo, { kind: 'digest', digest }))?.content : undefined;
    },
    async putManifest(repo, tag, body, mediaType) {
      await registry.manifests.put(repo, parseReference(tag), body, mediaType);
    },
    async exists(repo, digest) {
      return (await meta.manifests.get(repo, { kind: 'digest', digest })) !== undefined;
    },
  };
}

/** Pushes `bytes` as an artifact of `artifactType` referring to `subject`; resolves to the artifact manifest's digest. */
export async function attachArtifact(meta: MetadataStore, uploads: RegistryServices['uploads'], manifests: RegistryServices['manifests'], repo: RepoName, subject: ArtifactSubject, artifactType: string, bytes: Buffer, annotations: Record<string, string> = {}): Promise<Digest> {
  await putBlob(meta, uploads, repo, EMPTY);
  const layer = await putBlob(meta, uploads, repo, bytes);
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
