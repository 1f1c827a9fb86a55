/**
 * Cache eviction per upstream (`cacheMaxAgeDays`, `cacheMaxBytes`), least recently pulled
 * first, reusing what exists: pull times recorded on the cached manifest rows, the project's
 * usage figure (the one quota and the UI read), and garbage collection for the bytes.
 *
 * An evicted manifest's rows go (its tag and digest references), and each of its blobs is
 * unlinked from the proxy repository unless another cached manifest of that repository still
 * lists it. Unlinked blobs are then ordinary unreferenced blobs: the next GC run reclaims
 * their bytes after the grace period, with GC's own re-checks, so a blob that was pulled again
 * (and linked again) meanwhile stays. A blob being streamed in is not a blob row yet (its
 * bytes are in an upload until they are verified), so eviction and GC cannot remove it.
 */
import type { UpstreamConfig } from '../config/proxy-schema.js';
import type { CachedManifest, ProxyCacheQueries } from '../metadata/proxy-store.js';
import type { MetadataStore } from '../metadata/store.js';
import { parseManifest } from '../registry/manifest/parse.js';
import type { Digest } from '../domain/names.js';

export interface EvictionReport {
  upstream: string;
  manifestsEvicted: number;
  blobsUnlinked: number;
  /** The project's usage before and after (bytes; GC frees the unlinked bytes later). */
  bytesBefore: number;
  bytesAfter: number;
}

const DAY_MS = 86_400_000;
/** Rows read per eviction pass. */
const SCAN_LIMIT = 100_000;

export class Evictor {
  constructor(
    private readonly meta: MetadataStore,
    private readonly cache: ProxyCacheQueries,
    private readonly now: () => number = Date.now,
  ) {}

  async evict(u: UpstreamConfig): Promise<EvictionReport> {
    const before = (await this.meta.usage.of({ project: u.name })).bytes;
    const report: EvictionReport = { upstream: u.name, manifestsEvicted: 0, blobsUnlinked: 0, bytesBefore: before, bytesAfter: before };
    if (u.cacheMaxAgeDays <= 0 && u.cacheMaxBytes <= 0) return report;
    const rows = await this.cache.list(u.name, SCAN_LIMIT);
    // One entry per cached manifest (a tag row and its digest row are one manifest).
    const byManifest = new Map<string, CachedManifest[]>();
    for (const r of rows) {
      const k = `${r.repository}@${r.digest}`;
      byManifest.set(k, [...(byManifest.get(k) ?? []), r]);
    }
    const entries = [...byManifest.values()]
      .map((rs) => ({ rows: rs, pulledAt: Math.max(...rs.map((r) => r.pulledAt)) }))
      .sort((a, b) => a.pulledAt - b.pulledAt);
    const cutoff = u.cacheMaxAgeDays > 0 ? this.now() - u.cacheMaxAgeDays * DAY_MS : -Infinity;
    let bytes = before;
    for (const e of entries) {
      const old = e.pulledAt < cutoff;
      const over = u.cacheMaxBytes > 0 && bytes > u.cacheMaxBytes;
      if (!old && !over) break;
      bytes -= await this.evictOne(e.rows, rows, report);
    }
    report.bytesAfter = (await this.meta.usage.of({ project: u.name })).bytes;
    return report;
  }

  /** Removes one manifest's rows and unlinks its blobs no other cached manifest lists; returns the bytes released. */
  private async evictOne(victims: CachedManifest[], all: CachedManifest[], report: EvictionReport): Promise<number> {
    const first = victims[0]!;
    for (const v of victims) await this.cache.delete(v.repository, v.reference);
    report.manifestsEvicted++;
    let released = first.content.length;
    const gone = new Set(victims.map((v) => v.reference));
    const kept = new Set<Digest>();
    for (const r of all) {
      if (r.repository !== first.repository || (gone.has(r.reference) && r.repository === first.repository) || r.digest === first.digest) continue;
      for (const d of blobsOf(r)) kept.add(d);
    }
    for (const d of blobsOf(first)) {
      if (kept.has(d)) continue;
      const size = (await this.meta.blobs.get(d))?.size ?? 0;
      if (await this.meta.blobs.unlink(first.repository, d)) {
        report.blobsUnlinked++;
        released += size;
      }
    }
    // Later victims must not count the rows just removed as keeping blobs.
    for (let i = all.length - 1; i >= 0; i--) if (all[i]!.repository === first.repository && gone.has(all[i]!.reference)) all.splice(i, 1);
    return released;
  }
}

function blobsOf(m: CachedManifest): Digest[] {
  try {
    return parseManifest(m.content, m.mediaType).blobs;
  } catch {
    return [];
  }
}
