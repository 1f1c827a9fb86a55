/**
 * Plain counters of the pull-through cache, per upstream: requests sent upstream, hits and
 * misses, bytes served from upstream and from the cache, stale answers. Kept in memory per
 * process (the metrics exporter reads them; the API reports them with each upstream).
 */
export interface UpstreamCounters {
  upstreamRequests: number;
  manifestHits: number;
  manifestMisses: number;
  blobHits: number;
  blobMisses: number;
  /** Cached manifests served because the upstream failed (stale-if-error). */
  staleServed: number;
  /** Tags whose revalidation HEAD found a new digest. */
  tagsChanged: number;
  bytesFromUpstream: number;
  bytesFromCache: number;
  /** Blobs the upstream sent wrong or short (nothing was stored). */
  verifyFailures: number;
}

const zero = (): UpstreamCounters => ({
  upstreamRequests: 0,
  manifestHits: 0,
  manifestMisses: 0,
  blobHits: 0,
  blobMisses: 0,
  staleServed: 0,
  tagsChanged: 0,
  bytesFromUpstream: 0,
  bytesFromCache: 0,
  verifyFailures: 0,
});

export class ProxyStats {
  private readonly byUpstream = new Map<string, UpstreamCounters>();

  of(upstream: string): UpstreamCounters {
    let c = this.byUpstream.get(upstream);
    if (!c) this.byUpstream.set(upstream, (c = zero()));
    return c;
  }

  /** Hits over all lookups (manifests and blobs), or null before any. */
  hitRatio(upstream: string): number | null {
    const c = this.of(upstream);
    const hits = c.manifestHits + c.blobHits;
    const all = hits + c.manifestMisses + c.blobMisses;
    return all === 0 ? null : hits / all;
  }

  snapshot(): Record<string, UpstreamCounters> {
    return Object.fromEntries([...this.byUpstream].map(([k, v]) => [k, { ...v }]));
  }
}
