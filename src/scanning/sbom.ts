/**
 * SBOMs of a stored inventory: SPDX 2.3 JSON and CycloneDX 1.6 JSON (the latter built and
 * serialized by @cyclonedx/cyclonedx-library), each package identified by its package URL
 * (packageurl-js). Both are deterministic for one image and inventory (identifiers derive from
 * the image digest, the creation time is the image's push time), so attaching them again
 * after a re-scan yields the same bytes and the same referrer, not a pile of copies.
 */
import { createHash } from 'node:crypto';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';
import type { Inventory, OsInfo, Package } from './inventory.js';

export const SBOM_FORMATS = {
  spdx: { artifactType: 'application/spdx+json' },
  cyclonedx: { artifactType: 'application/vnd.cyclonedx+json' },
} as const;
export type SbomFormat = keyof typeof SBOM_FORMATS;

export interface SbomSubject {
  repository: string;
  digest: string;
  /** When the image was pushed (the SBOM's creation time). */
  createdAt: number;
}

const DISTROS: Record<string, string> = { deb: 'debian', apk: 'alpine', rpm: 'redhat' };

/** The package URL of an inventory entry. */
export function purlOf(p: Package, os: OsInfo | null): string {
  const distro = os?.id && os.versionId ? { distro: `${os.id}-${os.versionId}` } : undefined;
  switch (p.type) {
    case 'deb':
    case 'apk':
    case 'rpm':
      return new PackageURL(p.type, os?.id ?? DISTROS[p.type]!, p.name, p.version, { ...distro, ...(p.source ? { upstream: p.source } : {}) }).toString();
    case 'npm': {
      const scoped = p.name.startsWith('@') && p.name.includes('/');
      return new PackageURL('npm', scoped ? p.name.slice(0, p.name.indexOf('/')) : undefined, scoped ? p.name.slice(p.name.indexOf('/') + 1) : p.name, p.version).toString();
    }
    case 'golang': {
      const i = p.name.lastIndexOf('/');
      return new PackageURL('golang', i > 0 ? p.name.slice(0, i) : undefined, i > 0 ? p.name.slice(i + 1) : p.name, `v${p.version}`).toString();
    }
    case 'maven': {
      const [group, artifact] = p.name.split(':');
      return new PackageURL('maven', group, artifact ?? p.name, p.version).toString();
    }
    case 'cargo':
      return new PackageURL('cargo', undefined, p.name, p.version).toString();
    case 'pypi':
      return new PackageURL('pypi', undefined, p.name.toLowerCase().replace(/[-_.]+/g, '-'), p.version).toString();
    default:
      return new PackageURL('generic', undefined, p.name, p.version).toString();
  }
}

function uuidOf(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function spdxDocument(subject: SbomSubject, inv: Inventory): Record<string, unknown> {
  const image = 'SPDXRef-Image';
  const packages = inv.packages.map((p, i) => ({
    SPDXID: `SPDXRef-Package-${i + 1}`,
    name: p.name,
    versionInfo: p.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    sourceInfo: `found in ${p.path}`,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purlOf(p, inv.os) }],
  }));
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${subject.repository}@${subject.digest}`,
    documentNamespace: `https://berth.invalid/spdx/${encodeURIComponent(subject.repository)}/${subject.digest}-${uuidOf(`spdx:${subject.digest}:${inv.packages.length}`)}`,
    creationInfo: { created: iso(subject.createdAt), creators: ['Tool: berth'] },
    documentDescribes: [image],
    packages: [
      {
        SPDXID: image,
        name: subject.repository,
        versionInfo: subject.digest,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        primaryPackagePurpose: 'CONTAINER',
        ...(inv.os ? { description: inv.os.prettyName || `${inv.os.id} ${inv.os.versionId}` } : {}),
        externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: new PackageURL('oci', undefined, subject.repository.split('/').pop()!, subject.digest, { repository_url: subject.repository }).toString() }],
      },
      ...packages,
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image },
      ...packages.map((p) => ({ spdxElementId: image, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
}

export function cycloneDxDocument(subject: SbomSubject, inv: Inventory): string {
  const bom = new CDX.Models.Bom();
  bom.serialNumber = `urn:uuid:${uuidOf(`cyclonedx:${subject.digest}:${inv.packages.length}`)}`;
  bom.metadata.timestamp = new Date(subject.createdAt);
  bom.metadata.tools.components.add(new CDX.Models.Component(CDX.Enums.ComponentType.Application, 'berth'));
  bom.metadata.component = new CDX.Models.Component(CDX.Enums.ComponentType.Container, subject.repository, { version: subject.digest, bomRef: 'image' });
  inv.packages.forEach((p, i) => {
    bom.components.add(new CDX.Models.Component(CDX.Enums.ComponentType.Library, p.name, { version: p.version, purl: purlOf(p, inv.os), bomRef: `pkg-${i + 1}` }));
  });
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6));
  return serializer.serialize(bom, { sortLists: false });
}

/** The SBOM of `inv` in `format`, as the bytes served and attached. */
export function sbomBytes(format: SbomFormat, subject: SbomSubject, inv: Inventory): Buffer {
  return Buffer.from(format === 'spdx' ? JSON.stringify(spdxDocument(subject, inv)) : cycloneDxDocument(subject, inv));
}
