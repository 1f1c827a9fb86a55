/**
 * The trash: tags (and untagged manifests) removed by retention runs, restorable until their
 * entry expires. Garbage collection keeps a trashed entry's manifest (and so its blobs) until
 * then. Restoring puts each tag back on exactly the manifest it pointed at; a tag that was
 * pushed again meanwhile to another manifest is left alone and reported as skipped.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../metadata/tables.js';
import { writeTransaction, type Dialect } from './tx.js';

export interface TrashEntry {
  id: number;
  runId: number;
  project: string;
  repository: string;
  tag: string | null;
  digest: string;
  removedAt: string;
  expiresAt: string;
  restoredAt: string | null;
}

export interface RestoreResult {
  restored: TrashEntry[];
  skipped: { entry: TrashEntry; reason: string }[];
}

type Row = { id: number; run_id: number; project: string; repository: string; tag: string | null; digest: string; removed_at: number; expires_at: number; restored_at: number | null };

function toEntry(r: Row): TrashEntry {
  return {
    id: Number(r.id),
    runId: Number(r.run_id),
    project: r.project,
    repository: r.repository,
    tag: r.tag,
    digest: r.digest,
    removedAt: new Date(Number(r.removed_at)).toISOString(),
    expiresAt: new Date(Number(r.expires_at)).toISOString(),
    restoredAt: r.restored_at === null ? null : new Date(Number(r.restored_at)).toISOString(),
  };
}

export class TrashService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly onChange: (repo: string) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Restorable entries (not restored, not expired), newest first, keyset-paginated by id. */
  async list(filter: { project?: string | undefined; runId?: number | undefined; after?: number | undefined; limit: number }): Promise<TrashEntry[]> {
    let q = this.db.selectFrom('trash').selectAll().where('restored_at', 'is', null).where('expires_at', '>', this.now()).orderBy('id', 'desc').limit(filter.limit);
    if (filter.project !== undefined) q = q.where('project', '=', filter.project);
    if (filter.runId !== undefined) q = q.where('run_id', '=', filter.runId);
    if (filter.after !== undefined) q = q.where('id', '<', filter.after);
    return (await q.execute()).map((r) => toEntry(r as Row));
  }

  /** Restores the given entries (by id, or all of a run), within their window. */
  async restore(sel: { ids?: number[] | undefined; runId?: number | undefined; project?: string | undefined }): Promise<RestoreResult> {
    const now = this.now();
    const result = await writeTransaction(this.db, this.dialect, async (db) => {
      let q = db.selectFrom('trash').selectAll().where('restored_at', 'is', null).where('expires_at', '>', now).orderBy('id');
      if (sel.ids) q = q.where('id', 'in', sel.ids.length > 0 ? sel.ids : [-1]);
      if (sel.runId !== undefined) q = q.where('run_id', '=', sel.runId);
      if (sel.project !== undefined) q = q.where('project', '=', sel.project);
      const out: RestoreResult = { restored: [], skipped: [] };
      for (const row of (await q.execute()) as Row[]) {
        const entry = toEntry(row);
        const m = await db
          .selectFrom('manifests as m')
          .innerJoin('repositories as r', 'r.id', 'm.repository_id')
          .select(['m.id', 'm.repository_id'])
          .where('r.name', '=', row.repository)
          .where('m.digest', '=', row.digest)
          .executeTakeFirst();
        if (!m) {
          out.skipped.push({ entry, reason: 'the manifest no longer exists' });
          continue;
        }
        if (row.tag !== null) {
          const current = await db.selectFrom('tags').select('manifest_id').where('repository_id', '=', m.repository_id).where('name', '=', row.tag).executeTakeFirst();
          if (current && Number(current.manifest_id) !== Number(m.id)) {
            out.skipped.push({ entry, reason: `tag ${row.tag} now points at another manifest` });
            continue;
          }
          if (!current) await db.insertInto('tags').values({ repository_id: m.repository_id, name: row.tag, manifest_id: m.id, updated_at: now }).execute();
        }
        await db.updateTable('trash').set({ restored_at: now }).where('id', '=', row.id).execute();
        out.restored.push({ ...entry, restoredAt: new Date(now).toISOString() });
      }
      return out;
    });
    for (const repo of new Set(result.restored.map((e) => e.repository))) await this.onChange(repo);
    return result;
  }
}
