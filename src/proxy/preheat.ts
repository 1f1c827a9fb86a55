/**
 * Preheat: fetch images into the cache ahead of time (edge sites before a rollout). One
 * `proxy.preheat` job per request walks each reference (`library/alpine:3.20`,
 * `library/alpine@sha256:...`, or a bare name for `latest`) through the same pull-through path
 * clients use (single flight, verification, quota), every platform of an index included, and
 * writes its progress to the request's row after each reference so any node can report it.
 * A reference that fails is recorded with why and the others continue; the request fails
 * only when every reference failed.
 */
import type { ProxyCacheQueries, PreheatRecord } from '../metadata/proxy-store.js';
import { parseManifest } from '../registry/manifest/parse.js';
import { isDigest, parseReference, parseRepoName, type Digest, type Reference, type RepoName } from '../domain/names.js';
import type { PullThrough } from './pull-through.js';
import type { UpstreamClient } from './upstream-client.js';

/** `name:tag`, `name@digest` or `name` (latest), split; throws OciError on a bad part. */
export function parseImageReference(s: string): { name: string; ref: Reference } {
  const at = s.indexOf('@');
  const colon = s.lastIndexOf(':');
  const [name, ref] = at >= 0 ? [s.slice(0, at), s.slice(at + 1)] : colon > s.lastIndexOf('/') ? [s.slice(0, colon), s.slice(colon + 1)] : [s, 'latest'];
  return { name: parseRepoName(name), ref: parseReference(ref) };
}

export class Preheater {
  constructor(
    private readonly pull: PullThrough,
    private readonly upstreams: ReadonlyMap<string, UpstreamClient>,
    private readonly cache: ProxyCacheQueries,
    private readonly now: () => number = Date.now,
  ) {}

  async run(id: string, signal?: AbortSignal): Promise<void> {
    const p = await this.cache.getPreheat(id);
    if (!p || p.status === 'succeeded' || p.status === 'failed') return;
    const u = this.upstreams.get(p.upstream);
    const progress: Pick<PreheatRecord, 'status' | 'done' | 'failed' | 'blobs' | 'bytes' | 'errors'> = { status: 'running', done: 0, failed: 0, blobs: 0, bytes: 0, errors: [] };
    const save = () => this.cache.updatePreheat(id, progress, this.now());
    await save();
    for (const reference of p.references) {
      signal?.throwIfAborted();
      try {
        if (!u) throw new Error(`upstream ${p.upstream} is no longer configured`);
        const { name, ref } = parseImageReference(reference);
        const repo = parseRepoName(`${u.name}/${name}`);
        await this.image(u, repo, ref, progress, signal);
      } catch (e) {
        progress.failed++;
        if (progress.errors.length < 100) progress.errors.push(`${reference}: ${(e as Error).message}`.slice(0, 500));
      }
      progress.done++;
      await save();
    }
    progress.status = progress.failed === p.references.length && p.references.length > 0 ? 'failed' : 'succeeded';
    await save();
  }

  private async image(u: UpstreamClient, repo: RepoName, ref: Reference, progress: { blobs: number; bytes: number }, signal?: AbortSignal): Promise<void> {
    const m = await this.pull.manifest(u, repo, ref, false);
    const parsed = parseManifest(m.content, m.mediaType);
    for (const child of parsed.children) await this.image(u, repo, { kind: 'digest', digest: child }, progress, signal);
    for (const digest of parsed.blobs) {
      signal?.throwIfAborted();
      if (!isDigest(digest)) continue;
      await this.blob(u, repo, digest, progress);
    }
  }

  private async blob(u: UpstreamClient, repo: RepoName, digest: Digest, progress: { blobs: number; bytes: number }): Promise<void> {
    const info = await this.pull.blob(u, repo, digest);
    if (info.headers['X-Berth-Proxy'] === 'hit' || info.body.kind !== 'stream') return;
    // Reading the stream drives the fetch (or waits for another client's), and proves it completed.
    let n = 0;
    for await (const chunk of await info.body.open()) n += (chunk as Buffer).length;
    if (n !== info.size) throw new Error(`blob ${digest}: ${n} of ${info.size} bytes`);
    progress.blobs++;
    progress.bytes += n;
  }
}
