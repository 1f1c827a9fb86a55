/**
 * The pull-through cache: reads of a proxy project (an upstream's name as the first path
 * segment) answered from the cache or fetched from the upstream:
 *
 * - Manifests are cached per reference in `proxy_manifests` (metadata/proxy-store.ts). A digest
 *   never expires; a tag older than `tagTtlSeconds` is revalidated with a HEAD (free on Docker
 *   Hub's pull limit) and fetched again only when its digest changed. An index is cached
 *   alone: its children are fetched when a client asks for them (platform-aware).
 * - Manifests are verified before they are kept: by digest, the bytes must hash to it; by tag,
 *   to the upstream's Docker-Content-Digest when it sends one; and they must parse.
 * - Blobs stream through a BlobFlight (blob-flight.ts): one upstream GET per blob per process
 *   however many clients ask at once, bytes to the clients as they arrive (later ones read
 *   along), stored through the upload service's blob writer (digest and size verified, quota
 *   checked, committed as a blob linked to the proxy repository), the connection cut before
 *   the last byte on a mismatch. Single flight holds per process; nodes sharing a database each fetch once at
 *   most and the second commit finds the blob already stored.
 * - Quota: cached blobs are written through the upload service, so they count against the
 *   cache project's quota; a blob that does not fit is refused (DENIED) before the response
 *   starts, not cut off half-way.
 * - Stale-if-error: when the upstream fails (network, timeout, 5xx, 429) or is backing off,
 *   cached manifests (and the cached tags of a tag list) are served with `Warning: 110` and
 *   `X-Berth-Proxy: stale`; content never cached fails with UNAVAILABLE naming the upstream
 *   and its answer.
 */
import { Readable } from 'node:stream';
import type { UpstreamConfig } from '../config/proxy-schema.js';
import { OciError } from '../errors/oci.js';
import type { ManifestRecord } from '../metadata/store.js';
import type { CachedManifest, ProxyCacheQueries } from '../metadata/proxy-store.js';
import type { BlobInfo } from '../registry/blobs.js';
import type { Page, PageRequest } from '../registry/listing.js';
import { digestLike, digestOf } from '../registry/digester.js';
import { baseMediaType, parseManifest } from '../registry/manifest/parse.js';
import type { RegistryServices } from '../registry/services.js';
import { allowAllWrites, type WritePolicy } from '../policy/write-policy.js';
import { referenceString, type Digest, type Reference, type RepoName } from '../domain/names.js';
import { BlobFlight } from './blob-flight.js';
import type { ProxyStats } from './stats.js';
import { discard, header, readBytes, readText, type RemoteResponse } from '../registry-client/client.js';
import { UpstreamError, type UpstreamClient } from './upstream-client.js';

/** Media types asked of upstreams, so they answer in the form the client asked for or any. */
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.artifact.manifest.v1+json',
].join(', ');

/** The largest tag list page taken from an upstream. */
const TAGS_MAX_BYTES = 16 * 1024 * 1024;

/** A blob fetch nobody reads (a HEAD) starts filling the cache after this long. */
const START_ALONE_MS = 2000;

export interface ProxiedManifest extends ManifestRecord {
  /** Extra response headers (X-Berth-Proxy, Warning). */
  headers: Record<string, string>;
}

export class PullThrough {
  private readonly manifestFlights = new Map<string, Promise<{ m: CachedManifest; how: string }>>();
  private readonly blobFlights = new Map<string, Promise<BlobFlight>>();

  constructor(
    private readonly upstreams: ReadonlyMap<string, UpstreamClient>,
    private readonly cache: ProxyCacheQueries,
    /** The registry core the cache stores into (never the decorated services). */
    private readonly core: RegistryServices,
    private readonly stats: ProxyStats,
    private readonly now: () => number = Date.now,
    /** The project's write checks: a blob that would exceed the cache project's quota is refused before any byte is sent. */
    private readonly policy: WritePolicy = allowAllWrites,
  ) {}

  /** The upstream serving `repo`, when its first segment names one. */
  upstreamOf(repo: string): UpstreamClient | undefined {
    const i = repo.indexOf('/');
    return this.upstreams.get(i < 0 ? repo : repo.slice(0, i));
  }

  /** The repository path on the upstream (`hub/library/alpine` -> `library/alpine`; Docker Hub's `hub/alpine` -> `library/alpine`). */
  private remoteName(u: UpstreamClient, repo: RepoName): string {
    const rest = repo.slice(u.name.length + 1);
    if (!rest) throw new OciError('NAME_UNKNOWN', { reason: `${repo} is the pull-through cache of ${u.config.url}; pull ${u.name}/<repository> (for example ${u.name}/library/alpine)` });
    if (!rest.includes('/') && u.config.mirrorOf.includes('docker.io')) return `library/${rest}`;
    return rest;
  }

  // ---- manifests ----------------------------------------------------------------------------

  async manifest(u: UpstreamClient, repo: RepoName, ref: Reference, pulled: boolean): Promise<ProxiedManifest> {
    const key = referenceString(ref);
    const counters = this.stats.of(u.name);
    const cached = await this.cache.get(repo, key);
    const fresh = cached && (ref.kind === 'digest' || this.now() - cached.checkedAt < u.config.tagTtlSeconds * 1000);
    let served: CachedManifest;
    let how: string;
    if (cached && fresh) {
      served = cached;
      how = 'hit';
    } else {
      try {
        const r = await this.single(this.manifestFlights, `${repo}@${key}`, () => this.refresh(u, repo, ref, cached));
        served = r.m;
        how = r.how;
      } catch (e) {
        if (!(e instanceof UpstreamError)) throw e;
        if (!cached) throw unavailable(u, e);
        counters.staleServed++;
        served = cached;
        how = 'stale';
      }
    }
    if (how === 'miss') counters.manifestMisses++;
    else counters.manifestHits++;
    if (pulled) void this.cache.markPulled(repo, key, this.now()).catch(() => {});
    const headers: Record<string, string> = { 'X-Berth-Proxy': how };
    if (how === 'stale') headers.Warning = staleWarning(u);
    return { digest: served.digest, mediaType: served.mediaType, artifactType: null, subject: null, size: served.content.length, content: served.content, pushedAt: served.fetchedAt, headers };
  }

  /** Revalidates a cached tag (HEAD) or fetches the manifest; UpstreamError when the upstream failed. */
  private async refresh(u: UpstreamClient, repo: RepoName, ref: Reference, cached: CachedManifest | undefined): Promise<{ m: CachedManifest; how: string }> {
    const remote = this.remoteName(u, repo);
    const key = referenceString(ref);
    const counters = this.stats.of(u.name);
    if (cached && ref.kind === 'tag') {
      counters.upstreamRequests++;
      const head = await u.request('HEAD', remote, `manifests/${key}`, { accept: ACCEPT });
      await discard(head);
      const digest = header(head, 'docker-content-digest');
      if (head.status === 200 && digest === cached.digest) {
        const at = this.now();
        await this.cache.markChecked(repo, key, at);
        return { m: { ...cached, checkedAt: at }, how: 'revalidated' };
      }
      if (head.status === 200 && digest) counters.tagsChanged++;
    }
    counters.upstreamRequests++;
    const res = await u.request('GET', remote, `manifests/${key}`, { accept: ACCEPT });
    if (res.status !== 200) throw await refusal(u, res, 'MANIFEST_UNKNOWN', ref.kind === 'tag' ? { tag: ref.tag } : { digest: ref.digest });
    const limit = this.core.limits.maxManifestBytes;
    const body = await readLimited(res, limit, u);
    const contentType = baseMediaType(header(res, 'content-type'));
    const parsed = parseManifest(body, contentType);
    let digest: Digest;
    if (ref.kind === 'digest') {
      digest = digestLike(body, ref.digest);
      if (digest !== ref.digest) throw u.failed(res.status, `upstream ${u.name} sent a manifest for ${ref.digest} whose bytes hash to ${digest}`);
    } else {
      digest = digestOf(body);
      const claimed = header(res, 'docker-content-digest');
      if (claimed && claimed.startsWith('sha256:') && claimed !== digest) throw u.failed(res.status, `upstream ${u.name} sent manifest ${key} whose bytes hash to ${digest}, not ${claimed} as it said`);
    }
    const at = this.now();
    const m: CachedManifest = { repository: repo, reference: key, upstream: u.name, digest, mediaType: parsed.mediaType, content: body, fetchedAt: at, checkedAt: at, pulledAt: at };
    await this.cache.put(m);
    if (ref.kind === 'tag') await this.cache.put({ ...m, reference: digest });
    return { m, how: 'miss' };
  }

  // ---- tags -------------------------------------------------------------------------------

  /**
   * The upstream's tag list of the repository, page by page (`n` and `last` passed on, its
   * next page turned into ours). When the upstream fails or is backing off, the tags this
   * cache holds for the repository are served instead, marked stale as manifests are; a
   * repository the cache knows no tag of fails with UNAVAILABLE naming the upstream.
   */
  async tags(u: UpstreamClient, repo: RepoName, page: PageRequest): Promise<Page<string> & { headers: Record<string, string> }> {
    const n = this.core.listing.pageSize(page.n);
    const counters = this.stats.of(u.name);
    const query = new URLSearchParams();
    if (page.n !== undefined && page.n !== '') query.set('n', String(n));
    if (page.last !== undefined) query.set('last', page.last);
    const qs = query.size > 0 ? `?${query}` : '';
    try {
      counters.upstreamRequests++;
      const res = await u.request('GET', this.remoteName(u, repo), `tags/list${qs}`, { accept: 'application/json' });
      if (res.status !== 200) throw await refusal(u, res, 'NAME_UNKNOWN', { name: repo });
      const body = JSON.parse((await readBytes(res, TAGS_MAX_BYTES)).toString('utf8')) as { tags?: unknown };
      const tags = body.tags ?? [];
      if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw u.failed(res.status, `upstream ${u.name} answered a tag list that is not a list of strings`);
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res, 'link') ?? '');
      if (link) {
        // The upstream paged the list itself: its page, and its `last` for the next one.
        const items = (tags as string[]).slice(0, n);
        const cut = items.length < tags.length;
        const next = (cut ? undefined : new URL(link[1]!, 'http://upstream').searchParams.get('last')) ?? items[items.length - 1];
        return { items, ...(next !== undefined ? { next } : {}), headers: { 'X-Berth-Proxy': 'miss' } };
      }
      // A whole list (Distribution 2.x ignores `n` and `last` and does not sort): paged here, in
      // lexical order as the spec asks.
      const asked = page.n !== undefined && page.n !== '';
      const after = (tags as string[]).sort().filter((t) => page.last === undefined || t > page.last);
      const items = asked ? after.slice(0, n) : after;
      const next = asked && n > 0 && after.length > n ? items[items.length - 1] : undefined;
      return { items, ...(next !== undefined ? { next } : {}), headers: { 'X-Berth-Proxy': 'miss' } };
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      const rows = await this.cache.tags(repo, page.last, n + 1);
      if (rows.length === 0 && page.last === undefined) throw unavailable(u, e);
      counters.staleServed++;
      const items = rows.slice(0, n);
      return { items, ...(n > 0 && rows.length > n ? { next: items[items.length - 1]! } : {}), headers: { 'X-Berth-Proxy': 'stale', Warning: staleWarning(u) } };
    }
  }

  // ---- blobs --------------------------------------------------------------------------------

  async blob(u: UpstreamClient, repo: RepoName, digest: Digest): Promise<BlobInfo & { headers: Record<string, string> }> {
    const counters = this.stats.of(u.name);
    const stored = await this.stored(repo, digest);
    if (stored) {
      counters.blobHits++;
      counters.bytesFromCache += stored.size;
      return { ...stored, headers: { 'X-Berth-Proxy': 'hit' } };
    }
    const key = `${repo}@${digest}`;
    let flight: BlobFlight;
    try {
      flight = await this.single(this.blobFlights, key, () => this.startBlob(u, repo, digest), (f) => f.done);
    } catch (e) {
      if (e instanceof UpstreamError) throw unavailable(u, e);
      throw e;
    }
    counters.blobMisses++;
    const readStored = async (range?: { start: number; end: number }): Promise<Readable> => {
      await flight.done;
      const b = await this.core.blobs.get(repo, digest);
      return b.body.kind === 'bytes' ? Readable.from([range ? b.body.bytes.subarray(range.start, range.end + 1) : b.body.bytes]) : b.body.open(range);
    };
    return {
      digest,
      size: flight.size,
      mediaType: 'application/octet-stream',
      headers: { 'X-Berth-Proxy': 'miss' },
      body: {
        kind: 'stream',
        open: async (range) => {
          if (!range || (range.start === 0 && range.end === flight.size - 1)) {
            const sink = flight.attach();
            if (sink) return sink;
          }
          return readStored(range);
        },
      },
    };
  }

  /** The blob as the core serves it, or undefined when this repository does not hold it yet. */
  private async stored(repo: RepoName, digest: Digest): Promise<BlobInfo | undefined> {
    try {
      return await this.core.blobs.get(repo, digest);
    } catch (e) {
      if (e instanceof OciError && e.code === 'BLOB_UNKNOWN') return undefined;
      throw e;
    }
  }

  private async startBlob(u: UpstreamClient, repo: RepoName, digest: Digest): Promise<BlobFlight> {
    const counters = this.stats.of(u.name);
    counters.upstreamRequests++;
    const res = await u.request('GET', this.remoteName(u, repo), `blobs/${digest}`);
    if (res.status !== 200) throw await refusal(u, res, 'BLOB_UNKNOWN', { digest });
    const length = Number(header(res, 'content-length') ?? Number.NaN);
    if (!Number.isSafeInteger(length) || length < 0) {
      await discard(res);
      throw u.failed(res.status, `upstream ${u.name} sent blob ${digest} without a Content-Length`);
    }
    const room = await this.policy.uploadRoom(repo, digest);
    if (length > room.bytes) {
      await discard(res);
      throw room.refusal(length);
    }
    let writer;
    try {
      writer = await this.core.uploads.openBlob(repo, digest, length);
    } catch (e) {
      res.body.destroy();
      throw e;
    }
    const readStored = async (start: number, end: number): Promise<Readable> => {
      const b = await this.core.blobs.get(repo, digest);
      return b.body.kind === 'bytes' ? Readable.from([b.body.bytes.subarray(start, end + 1)]) : b.body.open({ start, end });
    };
    const flight = new BlobFlight(length, res.body as AsyncIterable<Buffer>, writer, START_ALONE_MS, readStored, (n) => (counters.bytesFromUpstream += n));
    flight.done.catch((e: unknown) => {
      // Wrong or missing bytes (a refused quota or a store failure is not the upstream's fault).
      if (!(e instanceof OciError) || e.code === 'DIGEST_INVALID' || e.code === 'SIZE_INVALID') counters.verifyFailures++;
      res.body.destroy();
    });
    return flight;
  }

  /** One run of `start` per key at a time; later callers share it until `until` settles. */
  private async single<T>(flights: Map<string, Promise<T>>, key: string, start: () => Promise<T>, until: (v: T) => Promise<unknown> = async () => {}): Promise<T> {
    const running = flights.get(key);
    if (running) return running;
    const p = start();
    flights.set(key, p);
    p.then((v) => until(v)).catch(() => {}).finally(() => {
      if (flights.get(key) === p) flights.delete(key);
    });
    return p;
  }
}

/** `Warning: 110` for an answer served from the cache because the upstream failed. */
function staleWarning(u: UpstreamClient): string {
  return `110 berth "Response is stale: upstream ${u.name} failed: ${(u.health().lastError ?? 'error').replace(/["\\\r\n]/g, ' ').slice(0, 200)}"`;
}

function unavailable(u: UpstreamClient, e: UpstreamError): OciError {
  return new OciError('UNAVAILABLE', { upstream: u.name, status: e.status ?? null, reason: `${e.message}; the cache holds no copy of this content` }, { message: `upstream ${u.name} failed and the content is not cached: ${e.message}` });
}

/** The OCI error for an upstream answer other than 200 (404: unknown; 401/403: denied; else unavailable). */
async function refusal(u: UpstreamClient, res: RemoteResponse, notFound: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'NAME_UNKNOWN', detail: Record<string, string>): Promise<OciError> {
  const text = (await readText(res, 300)).trim();
  const answer = `upstream ${u.name} answered ${res.status}${text ? `: ${text}` : ''}`;
  if (res.status === 404) return new OciError(notFound, { ...detail, upstream: u.name, reason: answer });
  if (res.status === 401 || res.status === 403) return new OciError('DENIED', { ...detail, upstream: u.name, reason: `${answer} (check the upstream's credentials in the proxy configuration)` });
  return new OciError('UNAVAILABLE', { ...detail, upstream: u.name, reason: answer }, { message: answer });
}

function readLimited(res: RemoteResponse, limit: number, u: UpstreamClient): Promise<Buffer> {
  return readBytes(res, limit, () => new OciError('MANIFEST_INVALID', { upstream: u.name, reason: `the upstream's manifest is larger than the limit of ${limit} bytes` }));
}

export type { UpstreamConfig };
