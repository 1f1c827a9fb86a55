/** Upload session rows: where an upload stands, so any node can continue it. */
import type { Kysely, Selectable } from 'kysely';
import type { RepoName } from '../../domain/names.js';
import type { UploadQueries, UploadRecord } from '../store.js';
import type { Database, UploadsTable } from '../tables.js';
import { unacknowledged } from './durability.js';

export class SqlUploads implements UploadQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async create(upload: { id: string; repository: RepoName; handle: string; project?: string; owner?: string }, now: number): Promise<void> {
    await this.db
      .insertInto('uploads')
      .values({ id: upload.id, repository: upload.repository, byte_offset: 0, handle: upload.handle, started_at: now, updated_at: now, project: upload.project ?? null, owner: upload.owner ?? null })
      .modifyEnd(unacknowledged())
      .execute();
  }

  async countOpen(filter: { repository: RepoName } | { owner: string }, since: number): Promise<number> {
    let q = this.db.selectFrom('uploads').select((eb) => eb.fn.countAll<number>().as('n')).where('updated_at', '>=', since);
    q = 'repository' in filter ? q.where('repository', '=', filter.repository) : q.where('owner', '=', filter.owner);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    const row = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  }

  async advance(id: string, fromOffset: number, toOffset: number, handle: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('uploads')
      .set({ byte_offset: toOffset, handle, updated_at: now })
      .where('id', '=', id)
      .where('byte_offset', '=', fromOffset)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('uploads').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async lock(id: string, owner: string, until: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('uploads')
      .set({ writer: owner, writer_until: until })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('writer', 'is', null), eb('writer', '=', owner), eb('writer_until', '<', now)]))
      .modifyEnd(unacknowledged())
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async releaseAllLocks(): Promise<void> {
    await this.db.updateTable('uploads').set({ writer: null, writer_until: null }).where('writer', 'is not', null).execute();
  }

  async unlock(id: string, owner: string): Promise<void> {
    await this.db.updateTable('uploads').set({ writer: null, writer_until: null }).where('id', '=', id).where('writer', '=', owner).modifyEnd(unacknowledged()).execute();
  }

  async listStale(before: number, limit: number): Promise<UploadRecord[]> {
    const rows = await this.db.selectFrom('uploads').selectAll().where('updated_at', '<', before).orderBy('updated_at').limit(limit).execute();
    return rows.map(toRecord);
  }
}

function toRecord(row: Selectable<UploadsTable>): UploadRecord {
  return {
    id: row.id,
    repository: row.repository as RepoName,
    offset: Number(row.byte_offset),
    handle: row.handle,
    startedAt: Number(row.started_at),
    updatedAt: Number(row.updated_at),
  };
}
