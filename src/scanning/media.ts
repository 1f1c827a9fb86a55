/**
 * Which manifests scanning looks at, named once: image manifests (scanned), indexes (judged
 * through their platforms' results), and artifacts (SBOMs, signatures: never scanned, never
 * refused). Also the scanner name of built-in results and the change-feed messages that tell
 * the pull gate in every process which verdicts to drop.
 */
import type { Finding } from './match.js';

export const SCANNER = 'berth';

const IMAGE_MANIFESTS = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
export const IMAGE_CONFIGS = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
export const INDEX_MANIFESTS = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** Change-feed message: the result of one manifest digest changed (`scan:<digest>`). */
export const RESULT_CHANGED = 'scan:';
/** Change-feed message: a project's security policy changed (`security:<project>`; `security:*` for the default or many results). */
export const POLICY_CHANGED = 'security:';
export const EVERYTHING_CHANGED = `${POLICY_CHANGED}*`;

export interface ImageManifestJson {
  mediaType?: string;
  config?: { mediaType?: string; digest?: string };
  layers?: { mediaType?: string; digest?: string; size?: number }[];
  manifests?: { digest?: string; mediaType?: string }[];
}

/**
 * Whether a pushed manifest is an image worth scanning: not an index, SBOM, signature or other
 * artifact. (The registry records an image's artifact type as its config media type.)
 */
export function isScannableImage(m: { mediaType: string; artifactType?: string | null; subject?: string | null }): boolean {
  return IMAGE_MANIFESTS.has(m.mediaType) && (!m.artifactType || IMAGE_CONFIGS.has(m.artifactType)) && !m.subject;
}

/** Whether a manifest is an artifact (SBOM, signature, attestation ...) rather than an image or index. */
export function isArtifact(m: { mediaType: string; artifactType?: string | null; subject?: string | null }): boolean {
  return !!m.subject || (!!m.artifactType && !IMAGE_CONFIGS.has(m.artifactType));
}

/** The platform manifests an index names (an unreadable index names none). */
export function childDigests(content: Buffer): string[] {
  try {
    return ((JSON.parse(content.toString('utf8')) as ImageManifestJson).manifests ?? []).map((m) => m.digest).filter((d): d is string => typeof d === 'string');
  } catch {
    return [];
  }
}

/** Search rows of findings: one per advisory and package (aliases are the database's, see vuln_aliases). */
export function findingRows(vulns: readonly Finding[]): { advisoryId: string; package: string; severity: string }[] {
  return vulns.map((v) => ({ advisoryId: v.id, package: v.package, severity: v.severity }));
}
