/**
 * This registry as one side of a replication (src/replication/endpoint.ts): reads and writes
 * go through the registry services, so a replicated push obeys the same rules as any push
 * (manifest validation, quotas, immutability, events) and a replicated pull streams blobs
 * from the blob store.
 */
import { Readable } from 'node:stream';
import { parseDigest, parseReference, parseRepoName, type Digest } from '../domain/names.js';
import { OciError } from '../errors/oci.js';
import type { MetadataStore } from '../metadata/store.js';
import type { Descriptor, Endpoint, FetchedManifest } from '../replication/endpoint.js';
import type { RegistryServices } from './services.js';

const ABSENT = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UNKNOWN']);

function absent(e: unknown): boolean {
  return e instanceof OciError && ABSENT.has(e.code);
}

export class LocalEndpoint implements Endpoint {
  readonly name = 'local';

  constructor(
    private readonly meta: MetadataStore,
    private readonly registry: Pick<RegistryServices, 'manifests' | 'blobs' | 'uploads' | 'listing'>,
  ) {}

  async manifest(repo: string, ref: string): Promise<FetchedManifest | undefined> {
    try {
      const m = await this.registry.manifests.get(parseRepoName(repo), parseReference(ref), false);
      return { body: m.content, mediaType: m.mediaType, digest: m.digest };
    } catch (e) {
      if (absent(e)) return undefined;
      throw e;
    }
  }

  async manifestDigest(repo: string, ref: string): Promise<string | undefined> {
    return (await this.manifest(repo, ref))?.digest;
  }

  async putManifest(repo: string, ref: string, m: FetchedManifest): Promise<void> {
    await this.registry.manifests.put(parseRepoName(repo), parseReference(ref), m.body, m.mediaType);
  }

  async deleteManifest(repo: string, ref: string): Promise<boolean> {
    try {
      await this.registry.manifests.delete(parseRepoName(repo), parseReference(ref));
      return true;
    } catch (e) {
      if (absent(e)) return false;
      throw e;
    }
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    return (await this.meta.blobs.sizeInRepository(parseRepoName(repo), parseDigest(digest))) !== undefined;
  }

  mountBlob(repo: string, digest: string, from: string): Promise<boolean> {
    return this.registry.blobs.mount(parseRepoName(repo), parseDigest(digest), parseRepoName(from));
  }

  async openBlob(repo: string, digest: string): Promise<{ size: number; stream: Readable }> {
    const b = await this.registry.blobs.get(parseRepoName(repo), parseDigest(digest));
    if (b.body.kind === 'bytes') return { size: b.size, stream: Readable.from([b.body.bytes]) };
    return { size: b.size, stream: await b.body.open() };
  }

  async putBlob(repo: string, digest: string, size: number, stream: Readable): Promise<void> {
    await this.registry.uploads.putMonolithic(parseRepoName(repo), parseDigest(digest), stream, size);
  }

  async tags(repo: string): Promise<string[]> {
    const out: string[] = [];
    let last: string | undefined;
    for (;;) {
      const rows = await this.meta.tags.list(parseRepoName(repo), last, 1000);
      if (!rows) return out;
      out.push(...rows);
      if (rows.length < 1000) return out;
      last = rows.at(-1);
    }
  }

  async repositories(): Promise<string[]> {
    const out: string[] = [];
    let last: string | undefined;
    for (;;) {
      const rows = await this.meta.repositories.list(last, 1000);
      out.push(...rows);
      if (rows.length < 1000) return out;
      last = rows.at(-1);
    }
  }

  async referrers(repo: string, digest: string): Promise<{ api: boolean; manifests: Descriptor[] }> {
    const out: Descriptor[] = [];
    let last: string | undefined;
    for (;;) {
      const page = await this.registry.listing.referrers(parseRepoName(repo), parseDigest(digest) as Digest, undefined, { n: '1000', last });
      out.push(...page.items);
      if (!page.next) return { api: true, manifests: out };
      last = page.next;
    }
  }
}
