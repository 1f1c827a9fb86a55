/**
 * In-memory cache of manifests by (repository, reference): the hot path of every pull.
 * Entries carry the repository's generation when they were read; invalidating a repository
 * bumps its generation, which retires all its entries at once (also those filled by a read
 * that raced with the write). Bounded, by second chance (an approximation of least recently
 * used): the oldest entry goes unless it was read since eviction last passed it, in which case
 * it moves to the back. A hit then costs a flag instead of moving its entry in the map.
 */
import type { ManifestRecord } from '../metadata/store.js';

interface Entry {
  generation: number;
  record: ManifestRecord;
  /** Read since it was stored, or since eviction last passed it. */
  used: boolean;
}

export class ManifestCache {
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();
  /** Last generation handed out; `floor` is the generation of repositories not in the map. */
  private counter = 0;
  private floor = 0;

  constructor(
    private readonly capacity: number,
    /** Told whether each lookup was answered from the cache (the hit-ratio metric). */
    private readonly observe: (hit: boolean) => void = () => {},
  ) {}

  generation(repo: string): number {
    return this.generations.get(repo) ?? this.floor;
  }

  get(repo: string, reference: string): ManifestRecord | undefined {
    const key = `${repo}\n${reference}`;
    const entry = this.entries.get(key);
    if (!entry || entry.generation !== this.generation(repo)) {
      if (entry) this.entries.delete(key);
      this.observe(false);
      return undefined;
    }
    entry.used = true;
    this.observe(true);
    return entry.record;
  }

  /** Stores a record read while the repository was at `generation`. */
  set(repo: string, reference: string, generation: number, record: ManifestRecord): void {
    if (this.capacity === 0 || generation !== this.generation(repo)) return;
    const key = `${repo}\n${reference}`;
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) this.evictOne();
    this.entries.set(key, { generation, record, used: false });
  }

  /** Removes the oldest entry not read since it was last passed over (each pass clears the flags it meets). */
  private evictOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.entries.set(key, entry);
    }
  }

  invalidate(repo: string): void {
    this.generations.set(repo, ++this.counter);
  }

  /** Retires every entry (changes may have been missed). */
  clear(): void {
    this.floor = ++this.counter;
    this.generations.clear();
    this.entries.clear();
  }
}
