/**
 * The trash: tags (and untagged manifests) removed by retention runs, restorable until their
 * entry expires. Garbage collection keeps a trashed entry's manifest (and so its blobs) until
 * then. Restoring puts each tag back on exactly the manifest it pointed at; a tag that was
 * pushed again meanwhile to another manifest is left alone and reported as skipped.
 */
import type { TrashRecord } from '../metadata/lifecycle-store.js';
import type { MetadataQueries, MetadataStore } from '../metadata/store.js';
import type { Digest, RepoName, Tag } from '../domain/names.js';
import { iso, withIsoTimes, type WithIsoTimes } from './times.js';

const TIMES = ['removedAt', 'expiresAt', 'restoredAt'] as const;

/** A trash entry as the API shows it. */
export type TrashEntry = WithIsoTimes<TrashRecord, (typeof TIMES)[number]>;

export interface RestoreResult {
  restored: TrashEntry[];
  skipped: { entry: TrashEntry; reason: string }[];
}

function toEntry(r: TrashRecord): TrashEntry {
  return withIsoTimes(r, TIMES);
}

export class TrashService {
  constructor(
    private readonly meta: MetadataStore,
    private readonly onChange: (repo: string) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Restorable entries (not restored, not expired), newest first, keyset-paginated by id. */
  async list(filter: { project?: string | undefined; runId?: number | undefined; after?: number | undefined; limit: number }): Promise<TrashEntry[]> {
    const rows = await this.meta.trash.restorable({ project: filter.project, runId: filter.runId, before: filter.after, limit: filter.limit }, this.now());
    return rows.map(toEntry);
  }

  /** Restores the given entries (by id, or all of a run), within their window. */
  async restore(sel: { ids?: number[] | undefined; runId?: number | undefined; project?: string | undefined }): Promise<RestoreResult> {
    const now = this.now();
    const result = await this.meta.transaction(
      async (tx) => {
        const out: RestoreResult = { restored: [], skipped: [] };
        for (const row of await tx.trash.restorable({ ids: sel.ids, runId: sel.runId, project: sel.project, order: 'oldest' }, now)) {
          const skipped = await this.restoreEntry(tx, row, now);
          if (skipped) out.skipped.push({ entry: toEntry(row), reason: skipped });
          else out.restored.push({ ...toEntry(row), restoredAt: iso(now) });
        }
        return out;
      },
      { isolation: 'read-committed' },
    );
    for (const repo of new Set(result.restored.map((e) => e.repository))) await this.onChange(repo);
    return result;
  }

  /** Puts one entry back; returns why it was skipped, or undefined when it was restored. */
  private async restoreEntry(tx: MetadataQueries, row: TrashRecord, now: number): Promise<string | undefined> {
    const repo = row.repository as RepoName;
    const digest = row.digest as Digest;
    if ((await tx.manifests.missingManifests(repo, [digest])).length > 0) return 'the manifest no longer exists';
    if (row.tag !== null) {
      const current = await tx.tags.digestOf(repo, row.tag);
      if (current !== undefined && current !== digest) return `tag ${row.tag} now points at another manifest`;
      if (current === undefined) await tx.tags.set(repo, row.tag as Tag, digest, now);
    }
    await tx.trash.markRestored(row.id, now);
    return undefined;
  }
}
