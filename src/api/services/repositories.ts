/**
 * Repository views for the management API: repositories the caller may read, tags with their
 * size and platforms, one manifest with its config, layers, children and referrers, and
 * deletes (through the registry core, so its rules apply). Image platforms come from the
 * config blob, read once and remembered by digest (content-addressed, so never stale).
 */
import type { AuditLog } from '../../audit/audit-log.js';
import { OciError } from '../../errors/oci.js';
import { ProblemError, problemCodeForStatus } from '../../errors/problem.js';
import type { BrowseQueries, RepositoryRow } from '../../metadata/sql/browse.js';
import type { MetadataStore } from '../../metadata/store.js';
import type { AccessService } from '../../policy/access.js';
import { principalName, type Principal } from '../../policy/principal.js';
import { REPOSITORY_ACTIONS } from '../../policy/roles.js';
import type { ManifestService } from '../../registry/manifests.js';
import { parseDigest, parseRepoName, parseTag, projectOf, type Digest, type RepoName } from '../../domain/names.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { decodeCursor, pageOf, type Page } from '../paging.js';

export interface Platform {
  os: string | undefined;
  architecture: string | undefined;
  variant: string | undefined;
}

type Json = Record<string, any>;

function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

function repoView(r: RepositoryRow) {
  return { name: r.name, project: r.project, tagCount: r.tagCount, manifestCount: r.manifestCount, sizeBytes: r.sizeBytes, pushedAt: iso(r.pushedAt), pulledAt: iso(r.pulledAt) };
}

function platformOf(p: Json | undefined): Platform {
  return { os: p?.os, architecture: p?.architecture, variant: p?.variant };
}

export class RepositoryService {
  private readonly configCache = new Map<string, Json | null>();

  constructor(
    private readonly meta: MetadataStore,
    private readonly browse: BrowseQueries,
    private readonly blobs: BlobStore,
    private readonly manifests: ManifestService,
    private readonly access: AccessService,
    private readonly audit: AuditLog,
    private readonly authEnabled: boolean,
  ) {}

  private async may(caller: Principal, action: 'pull' | 'push' | 'delete', name: string): Promise<boolean> {
    if (!this.authEnabled) return true;
    return (await this.access.check(caller, action, { kind: 'repository', name, project: projectOf(name as RepoName) })).allow;
  }

  async list(caller: Principal, f: { project?: string | undefined; q?: string | undefined; limit: number; cursor?: string | undefined }): Promise<Page<ReturnType<typeof repoView>>> {
    let after = decodeCursor<string>(f.cursor, 'string');
    const out: RepositoryRow[] = [];
    for (;;) {
      const batch = await this.browse.repositories({ project: f.project, q: f.q, after, limit: f.limit + 1 });
      for (const r of batch) if (await this.may(caller, 'pull', r.name)) out.push(r);
      if (out.length > f.limit || batch.length < f.limit + 1) break;
      after = batch[batch.length - 1]!.name;
    }
    return pageOf(out, f.limit, (r) => r.name, repoView);
  }

  async get(caller: Principal, name: string) {
    const repo = parseRepo(name);
    const r = await this.browse.repository(repo);
    if (!r) throw new ProblemError('NOT_FOUND', `repository ${name} does not exist`);
    const permissions: string[] = [];
    for (const a of REPOSITORY_ACTIONS) if (await this.may(caller, a, repo)) permissions.push(a);
    return { name: r.name, project: r.project, tagCount: r.tagCount, sizeBytes: r.sizeBytes, permissions };
  }

  async tags(name: string, f: { q?: string | undefined; limit: number; cursor?: string | undefined }) {
    const repo = parseRepo(name);
    const rows = await this.browse.tags(repo, { q: f.q, after: decodeCursor<string>(f.cursor, 'string'), limit: f.limit + 1 });
    if (!rows) throw new ProblemError('NOT_FOUND', `repository ${name} does not exist`);
    const page = pageOf(rows, f.limit, (t) => t.name, (t) => t);
    const items = [];
    for (const t of page.items) {
      const manifest = safeJson(t.content);
      items.push({ name: t.name, digest: t.digest, mediaType: t.mediaType, size: t.size, platforms: await this.platforms(manifest), pushedAt: iso(t.pushedAt), pulledAt: iso(t.pulledAt) });
    }
    return { items, next: page.next };
  }

  private async platforms(manifest: Json | null): Promise<Platform[]> {
    if (!manifest) return [];
    if (Array.isArray(manifest.manifests)) return (manifest.manifests as Json[]).filter((m) => m.platform).map((m) => platformOf(m.platform));
    const config = await this.config(manifest);
    return config && (config.os || config.architecture) ? [platformOf(config)] : [];
  }

  private async config(manifest: Json): Promise<Json | null> {
    const digest = manifest.config?.digest;
    if (typeof digest !== 'string' || typeof manifest.config?.size !== 'number' || manifest.config.size > 1024 * 1024) return null;
    if (this.configCache.has(digest)) return this.configCache.get(digest)!;
    let value: Json | null = null;
    try {
      const chunks: Buffer[] = [];
      for await (const c of await this.blobs.read(parseDigest(digest))) chunks.push(c as Buffer);
      value = safeJson(Buffer.concat(chunks));
    } catch {
      value = null;
    }
    if (this.configCache.size > 5000) this.configCache.clear();
    this.configCache.set(digest, value);
    return value;
  }

  async manifest(name: string, digestText: string) {
    const repo = parseRepo(name);
    const digest = parseDigestOr404(digestText);
    const m = await this.meta.manifests.get(repo, { kind: 'digest', digest });
    const info = m && (await this.browse.manifestInfo(repo, digest));
    if (!m || !info) throw new ProblemError('NOT_FOUND', `manifest ${digestText} does not exist in ${name}`);
    const parsed = safeJson(m.content) ?? {};
    const layerList = Array.isArray(parsed.layers) ? (parsed.layers as Json[]) : [];
    const childList = Array.isArray(parsed.manifests) ? (parsed.manifests as Json[]) : [];
    const referrers = await this.meta.manifests.referrers(repo, digest, { limit: 1000 });
    return {
      digest: m.digest,
      mediaType: m.mediaType,
      artifactType: m.artifactType,
      // The manifest document's own bytes, and the image's: the manifest, its config and layers
      // (an index: with every platform's manifest and blobs), each distinct blob once.
      size: m.content.length,
      totalSize: info.size,
      tags: info.tags,
      manifest: parsed,
      config: Array.isArray(parsed.manifests) ? null : await this.config(parsed),
      layers: layerList.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      children: childList.map((c) => ({ digest: c.digest, mediaType: c.mediaType, size: c.size, platform: c.platform ? platformOf(c.platform) : null })),
      referrers: referrers.map((r) => ({ digest: r.digest, artifactType: r.artifactType, mediaType: r.mediaType, size: r.size, annotations: r.annotations ?? {} })),
    };
  }

  async deleteTag(caller: Principal, name: string, tag: string, address: string): Promise<void> {
    const repo = parseRepo(name);
    await this.deleting(caller, repo, `${repo}:${tag}`, address, () => this.manifests.delete(repo, { kind: 'tag', tag: parseTag(tag) }));
  }

  async deleteManifest(caller: Principal, name: string, digest: string, address: string): Promise<void> {
    const repo = parseRepo(name);
    await this.deleting(caller, repo, `${repo}@${digest}`, address, () => this.manifests.delete(repo, { kind: 'digest', digest: parseDigestOr404(digest) }));
  }

  private async deleting(caller: Principal, repo: RepoName, resource: string, address: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (e) {
      if (e instanceof OciError) {
        this.audit.record({ actor: principalName(caller), action: 'delete', resource, project: projectOf(repo), result: 'failure', sourceAddress: address, detail: { code: e.code } });
        const code = e.status === 404 ? 'NOT_FOUND' : e.status === 405 ? 'METHOD_NOT_ALLOWED' : e.status >= 500 ? problemCodeForStatus(e.status) : 'CONFLICT';
        throw new ProblemError(code, e.message === e.code ? String(e.detail) : `${e.message}${e.detail ? `: ${JSON.stringify(e.detail)}` : ''}`);
      }
      throw e;
    }
    this.audit.record({ actor: principalName(caller), action: 'delete', resource, project: projectOf(repo), result: 'success', sourceAddress: address, detail: { via: 'api' } });
  }
}

function safeJson(b: Buffer): Json | null {
  try {
    const v = JSON.parse(b.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

function parseRepo(name: string): RepoName {
  try {
    return parseRepoName(name);
  } catch {
    throw new ProblemError('NOT_FOUND', `repository ${name.slice(0, 300)} does not exist`);
  }
}

function parseDigestOr404(d: string): Digest {
  try {
    return parseDigest(d);
  } catch {
    throw new ProblemError('INVALID', `invalid digest ${d.slice(0, 200)}`);
  }
}
