/**
 * `parseManifest` on its own: what a valid manifest is (image manifests and indexes, OCI and
 * Docker schema 2), what the registry records about it (media type, artifact type, subject,
 * annotations, the blobs and children it needs), and the OCI error each kind of bad input
 * gets. Pure: bytes in, a ParsedManifest or an OciError out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OciError } from '../../src/errors/oci.js';
import { MediaType } from '../../src/registry/manifest/media-types.js';
import { baseMediaType, parseDescriptor, parseManifest } from '../../src/registry/manifest/parse.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (c: string, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip', size = 10) => ({ mediaType, digest: d(c), size });
const body = (doc: unknown) => Buffer.from(JSON.stringify(doc));
const image = (over: Record<string, unknown> = {}) => ({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: desc('c', 'application/vnd.oci.image.config.v1+json'), layers: [desc('a'), desc('b')], ...over });
const index = (over: Record<string, unknown> = {}) => ({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [desc('1', MediaType.OciManifest), desc('2', MediaType.OciManifest)], ...over });

/** Asserts `fn` throws an OciError with `code` whose reason matches `reason`. */
function refuses(fn: () => unknown, code: string, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OciError, `an OciError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match((e.detail as { reason: string }).reason, reason);
    return true;
  });
}

describe('parseManifest: valid manifests', () => {
  it('an OCI image manifest needs its config and layers; artifactType falls back to the config type', () => {
    const p = parseManifest(body(image({ annotations: { 'org.opencontainers.image.created': 'now' } })), MediaType.OciManifest);
    assert.deepEqual(p, {
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.oci.image.config.v1+json',
      subject: null,
      annotations: { 'org.opencontainers.image.created': 'now' },
      blobs: [d('c'), d('a'), d('b')],
      children: [],
    });
  });

  it('an explicit artifactType and a subject are recorded', () => {
    const p = parseManifest(body(image({ artifactType: 'application/vnd.example.sbom', subject: desc('f', MediaType.OciManifest) })), MediaType.OciManifest);
    assert.equal(p.artifactType, 'application/vnd.example.sbom');
    assert.equal(p.subject, d('f'));
  });

  it('an index needs its children, not blobs', () => {
    const p = parseManifest(body(index()), `${MediaType.OciIndex}; charset=utf-8`);
    assert.deepEqual([p.mediaType, p.blobs, p.children, p.artifactType], [MediaType.OciIndex, [], [d('1'), d('2')], null]);
  });

  it('Docker schema 2 manifests and manifest lists are accepted', () => {
    const docker = { schemaVersion: 2, mediaType: MediaType.DockerManifest, config: desc('c', 'application/vnd.docker.container.image.v1+json'), layers: [desc('a', 'application/vnd.docker.image.rootfs.diff.tar.gzip')] };
    assert.equal(parseManifest(body(docker), MediaType.DockerManifest).mediaType, MediaType.DockerManifest);
    const list = { schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [desc('1', MediaType.DockerManifest)] };
    assert.deepEqual(parseManifest(body(list), MediaType.DockerManifestList).children, [d('1')]);
  });

  it('foreign (non-distributable) layers are not required blobs', () => {
    const p = parseManifest(body(image({ layers: [desc('a'), { ...desc('e', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'), urls: ['https://example.com/layer'] }] })), MediaType.OciManifest);
    assert.deepEqual(p.blobs, [d('c'), d('a')]);
  });

  it('without a declared type the media type is told from the body, or from its fields', () => {
    assert.equal(parseManifest(body(image()), undefined).mediaType, MediaType.OciManifest);
    const { mediaType: _m, ...bare } = image();
    assert.equal(parseManifest(body(bare), 'application/octet-stream').mediaType, MediaType.OciManifest);
    const { mediaType: _i, ...bareIndex } = index();
    assert.equal(parseManifest(body(bareIndex), undefined).mediaType, MediaType.OciIndex);
    assert.equal(parseManifest(body(bare), MediaType.DockerManifest).mediaType, MediaType.DockerManifest, 'the declared type when the body has none');
  });

  it('maxReferences bounds config + layers, and the children of an index', () => {
    assert.equal(parseManifest(body(image()), MediaType.OciManifest, 3).blobs.length, 3);
    refuses(() => parseManifest(body(image()), MediaType.OciManifest, 2), 'MANIFEST_INVALID', /lists 3 descriptors \(config and layers\); at most 2/);
    refuses(() => parseManifest(body(index()), MediaType.OciIndex, 1), 'MANIFEST_INVALID', /lists 2 descriptors \(manifests\); at most 1/);
  });
});

describe('parseManifest: bad input', () => {
  const cases: [string, unknown, string | undefined, string, RegExp][] = [
    ['not JSON', 'not json', MediaType.OciManifest, 'MANIFEST_INVALID', /not valid JSON/],
    ['a JSON array', [], MediaType.OciManifest, 'MANIFEST_INVALID', /must be a JSON object/],
    ['schemaVersion 3', image({ schemaVersion: 3 }), MediaType.OciManifest, 'MANIFEST_INVALID', /schemaVersion must be 2/],
    ['schemaVersion 1 with a schema 2 type', image({ schemaVersion: 1 }), MediaType.OciManifest, 'MANIFEST_INVALID', /schemaVersion must be 2 for/],
    ['a Content-Type that disagrees with mediaType', image(), MediaType.DockerManifest, 'MANIFEST_INVALID', /does not match the manifest's mediaType/],
    ['an unknown media type', image({ mediaType: 'application/json' }), undefined, 'MANIFEST_INVALID', /unsupported manifest media type application\/json/],
    ['an untyped body without config or manifests', { schemaVersion: 2 }, undefined, 'MANIFEST_INVALID', /cannot tell the manifest media type/],
    ['layers not an array', image({ layers: {} }), MediaType.OciManifest, 'MANIFEST_INVALID', /layers must be an array/],
    ['an image with manifests', image({ manifests: [] }), MediaType.OciManifest, 'MANIFEST_INVALID', /must not have manifests/],
    ['an index with layers', index({ layers: [] }), MediaType.OciIndex, 'MANIFEST_INVALID', /must not have config or layers/],
    ['manifests not an array', index({ manifests: 'x' }), MediaType.OciIndex, 'MANIFEST_INVALID', /manifests must be an array/],
    ['a config that is no descriptor', image({ config: 'x' }), MediaType.OciManifest, 'MANIFEST_INVALID', /config must be a descriptor object/],
    ['a layer without mediaType', image({ layers: [{ digest: d('a'), size: 1 }] }), MediaType.OciManifest, 'MANIFEST_INVALID', /layers\[0\]\.mediaType must be a non-empty string/],
    ['a bad digest', image({ layers: [{ ...desc('a'), digest: 'sha256:XYZ' }] }), MediaType.OciManifest, 'MANIFEST_INVALID', /layers\[0\]\.digest sha256 digest must be 64 lowercase hex/],
    ['an unknown digest algorithm', image({ layers: [{ ...desc('a'), digest: `md5:${'a'.repeat(32)}` }] }), MediaType.OciManifest, 'MANIFEST_INVALID', /unsupported digest algorithm md5/],
    ['a negative size', image({ layers: [{ ...desc('a'), size: -1 }] }), MediaType.OciManifest, 'MANIFEST_INVALID', /layers\[0\]\.size must be a non-negative integer/],
    ['a fractional size', image({ layers: [{ ...desc('a'), size: 1.5 }] }), MediaType.OciManifest, 'MANIFEST_INVALID', /size must be a non-negative integer/],
    ['annotations with a number', image({ annotations: { a: 1 } }), MediaType.OciManifest, 'MANIFEST_INVALID', /annotations must map strings to strings/],
    ['urls not strings', image({ layers: [{ ...desc('a'), urls: [1] }] }), MediaType.OciManifest, 'MANIFEST_INVALID', /urls must be an array of strings/],
    ['artifactType not a string', image({ artifactType: 5 }), MediaType.OciManifest, 'MANIFEST_INVALID', /artifactType must be a string/],
    ['a subject that is no descriptor', image({ subject: d('f') }), MediaType.OciManifest, 'MANIFEST_INVALID', /subject must be a descriptor object/],
    ['Docker schema 1 by Content-Type', image(), 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'UNSUPPORTED', /schema 1 manifests are not supported/],
    ['Docker schema 1 by body', { schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }, undefined, 'UNSUPPORTED', /schema 1/],
    ['Docker schema 1 mediaType in a schema 2 body', image({ mediaType: 'application/vnd.docker.distribution.manifest.v1+json' }), undefined, 'UNSUPPORTED', /schema 1/],
  ];
  for (const [name, doc, contentType, code, reason] of cases) {
    it(`${name}: ${code}`, () => refuses(() => parseManifest(typeof doc === 'string' ? Buffer.from(doc) : body(doc), contentType), code, reason));
  }
});

describe('descriptors and media types', () => {
  it('a descriptor keeps artifactType, annotations and platform', () => {
    const got = parseDescriptor({ ...desc('a', MediaType.OciManifest), artifactType: 'x/y', annotations: { k: 'v' }, platform: { os: 'linux', architecture: 'arm64' } }, 'manifests[0]');
    assert.deepEqual(got, { mediaType: MediaType.OciManifest, digest: d('a'), size: 10, artifactType: 'x/y', annotations: { k: 'v' }, platform: { os: 'linux', architecture: 'arm64' } });
  });

  it('baseMediaType drops parameters and case, and reads an empty header as none', () => {
    assert.equal(baseMediaType('Application/VND.OCI.Image.Manifest.v1+json; charset=utf-8'), MediaType.OciManifest);
    assert.equal(baseMediaType(''), undefined);
    assert.equal(baseMediaType(undefined), undefined);
  });
});
