/** Trash entries (`trash`): tags and untagged manifests a retention run removed, restorable until they expire. */
import type { Kysely, Selectable } from 'kysely';
import type { TrashQueries, TrashRecord } from '../lifecycle-store.js';
import type { Database, TrashTable } from '../tables.js';

function toRecord(r: Selectable<TrashTable>): TrashRecord {
  return {
    id: Number(r.id),
    runId: Number(r.run_id),
    project: r.project,
    repository: r.repository,
    tag: r.tag,
    digest: r.digest,
    removedAt: Number(r.removed_at),
    expiresAt: Number(r.expires_at),
    restoredAt: r.restored_at === null ? null : Number(r.restored_at),
  };
}

export class SqlTrash implements TrashQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async restorable(
    filter: { project?: string | undefined; runId?: number | undefined; ids?: number[] | undefined; before?: number | undefined; limit?: number | undefined; order?: 'newest' | 'oldest' },
    now: number,
  ): Promise<TrashRecord[]> {
    let q = this.db
      .selectFrom('trash')
      .selectAll()
      .where('restored_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('id', filter.order === 'oldest' ? 'asc' : 'desc');
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    if (filter.ids) q = q.where('id', 'in', filter.ids.length > 0 ? filter.ids : [-1]);
    if (filter.project !== undefined) q = q.where('project', '=', filter.project);
    if (filter.runId !== undefined) q = q.where('run_id', '=', filter.runId);
    if (filter.before !== undefined) q = q.where('id', '<', filter.before);
    return (await q.execute()).map(toRecord);
  }

  async markRestored(id: number, now: number): Promise<void> {
    await this.db.updateTable('trash').set({ restored_at: now }).where('id', '=', id).execute();
  }
}
