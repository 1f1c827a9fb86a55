/**
 * Validates a pushed manifest and extracts what the registry stores about it: its media
 * type, artifact type, subject, annotations and the blobs and child manifests it references.
 * The bytes themselves are never rewritten; the digest is of the bytes as pushed.
 */
import { OciError } from '../../errors/oci.js';
import { checkDigest, type Digest } from '../../domain/names.js';
import { FOREIGN_LAYER_TYPES, IMAGE_MANIFEST_TYPES, INDEX_TYPES, MANIFEST_TYPES, SCHEMA1_TYPES } from './media-types.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface ParsedManifest {
  mediaType: string;
  artifactType: string | null;
  subject: Digest | null;
  annotations: Record<string, string> | null;
  /** Blobs that must be in the repository (config and distributable layers). */
  blobs: Digest[];
  /** Manifests that must be in the repository (children of an index). */
  children: Digest[];
}

function invalid(reason: string): OciError {
  return new OciError('MANIFEST_INVALID', { reason });
}

/** The media type part of a Content-Type header, without parameters. */
export function baseMediaType(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';')[0]?.trim().toLowerCase();
  return t ? t : undefined;
}

/**
 * `maxReferences` bounds the descriptors a manifest may list (config + layers, or the
 * children of an index): each becomes rows and query parameters of the push's transaction,
 * so a hostile manifest is refused here, before any of that, instead of by the database.
 */
export function parseManifest(body: Buffer, contentType: string | undefined, maxReferences = Number.POSITIVE_INFINITY): ParsedManifest {
  const declared = baseMediaType(contentType);
  if (declared && SCHEMA1_TYPES.has(declared)) throw schema1();
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw invalid(`body is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  // Docker schema 1 is a format we do not take (UNSUPPORTED); a manifest that declares a
  // schema 2 / OCI media type and says schemaVersion 1 is simply an invalid manifest.
  const claimed = typeof doc.mediaType === 'string' ? doc.mediaType : declared;
  if (doc.schemaVersion === 1 && claimed !== undefined && MANIFEST_TYPES.has(claimed)) throw invalid(`schemaVersion must be 2 for ${claimed}`);
  if (doc.schemaVersion === 1) throw schema1();
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const bodyType = optionalString(doc, 'mediaType', 'mediaType');
  if (bodyType && SCHEMA1_TYPES.has(bodyType)) throw schema1();
  if (bodyType && declared && MANIFEST_TYPES.has(declared) && bodyType !== declared) {
    throw invalid(`Content-Type ${declared} does not match the manifest's mediaType ${bodyType}`);
  }
  const mediaType = bodyType ?? (declared && MANIFEST_TYPES.has(declared) ? declared : guessType(doc));
  if (!MANIFEST_TYPES.has(mediaType)) throw invalid(`unsupported manifest media type ${mediaType}`);

  const annotations = parseAnnotations(doc.annotations, 'annotations');
  const subject = doc.subject === undefined ? null : parseDescriptor(doc.subject, 'subject').digest;
  const artifactType = optionalString(doc, 'artifactType', 'artifactType') ?? null;

  if (IMAGE_MANIFEST_TYPES.has(mediaType)) {
    const config = parseDescriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) throw invalid('layers must be an array');
    if (doc.layers.length + 1 > maxReferences) throw tooManyReferences(doc.layers.length + 1, maxReferences, 'config and layers');
    const layers = doc.layers.map((l, i) => parseDescriptor(l, `layers[${i}]`));
    if ('manifests' in doc) throw invalid('an image manifest must not have manifests');
    return {
      mediaType,
      artifactType: artifactType ?? config.mediaType,
      subject,
      annotations,
      blobs: [config, ...layers.filter((l) => !FOREIGN_LAYER_TYPES.has(l.mediaType))].map((d) => d.digest),
      children: [],
    };
  }
  if (!INDEX_TYPES.has(mediaType)) throw invalid(`unsupported manifest media type ${mediaType}`);
  if (!Array.isArray(doc.manifests)) throw invalid('manifests must be an array');
  if (doc.manifests.length > maxReferences) throw tooManyReferences(doc.manifests.length, maxReferences, 'manifests');
  const children = doc.manifests.map((m, i) => parseDescriptor(m, `manifests[${i}]`));
  if ('layers' in doc || 'config' in doc) throw invalid('an index must not have config or layers');
  return { mediaType, artifactType, subject, annotations, blobs: [], children: children.map((c) => c.digest) };
}

function tooManyReferences(count: number, limit: number, what: string): OciError {
  return new OciError('MANIFEST_INVALID', { count, limit, reason: `the manifest lists ${count} descriptors (${what}); at most ${limit} are accepted (registry.maxManifestReferences)` });
}

function schema1(): OciError {
  return new OciError('UNSUPPORTED', {
    reason: 'Docker schema 1 manifests are not supported; push with a current client (Docker schema 2 or OCI)',
  });
}

/** Without a declared type, an OCI manifest is told apart by its fields. */
function guessType(doc: Record<string, unknown>): string {
  if (Array.isArray(doc.manifests)) return 'application/vnd.oci.image.index.v1+json';
  if (isObject(doc.config)) return 'application/vnd.oci.image.manifest.v1+json';
  throw invalid('cannot tell the manifest media type: set Content-Type or mediaType');
}

export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const mediaType = value.mediaType;
  if (typeof mediaType !== 'string' || mediaType.length === 0) throw invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof value.digest !== 'string') throw invalid(`${where}.digest must be a string`);
  const checked = checkDigest(value.digest);
  if ('reason' in checked) throw invalid(`${where}.digest ${checked.reason}`);
  const size = value.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`);
  const d: Descriptor = { mediaType, digest: checked.digest, size };
  const artifactType = optionalString(value, 'artifactType', `${where}.artifactType`);
  if (artifactType) d.artifactType = artifactType;
  const annotations = parseAnnotations(value.annotations, `${where}.annotations`);
  if (annotations) d.annotations = annotations;
  if (value.urls !== undefined && (!Array.isArray(value.urls) || !value.urls.every((u) => typeof u === 'string'))) {
    throw invalid(`${where}.urls must be an array of strings`);
  }
  if (isObject(value.platform)) d.platform = value.platform as Descriptor['platform'] & object;
  return d;
}

function parseAnnotations(value: unknown, where: string): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) throw invalid(`${where} must map strings to strings`);
  return value as Record<string, string>;
}

function optionalString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`${where} must be a string`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
