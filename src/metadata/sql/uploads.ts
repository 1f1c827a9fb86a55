/** Upload session rows: where an upload stands, so any node can continue it. */
import type { Kysely, Selectable } from 'kysely';
import type { RepoName } from '../../domain/names.js';
import type { UploadQueries, UploadRecord } from '../store.js';
import type { Dialect } from '../migrations/index.js';
import type { Database, UploadsTable } from '../tables.js';
import { unacknowledged } from './durability.js';
import { PreparedQuery } from './prepared.js';

// The statements every blob upload runs (prepared.ts): open, count against the caps, read, lease, close.
const CREATE = new PreparedQuery((db: Kysely<Database>, id: string, repository: string, handle: string, project: string | null, owner: string | null, now: number) =>
  db.insertInto('uploads').values({ id, repository, byte_offset: 0, handle, started_at: now, updated_at: now, project, owner }).modifyEnd(unacknowledged()),
);
const openCount = (db: Kysely<Database>, since: number) => db.selectFrom('uploads').select((eb) => eb.fn.countAll<number>().as('n')).where('updated_at', '>=', since);
/** Both caps' counts in one statement (one round trip on PostgreSQL), each by its own index; an owner of null counts nothing. */
const OPEN_COUNTS = new PreparedQuery((db: Kysely<Database>, since: number, repository: string, owner: string | null) =>
  db.selectNoFrom([openCount(db, since).where('repository', '=', repository).as('in_repository'), openCount(db, since).where('owner', '=', owner).as('of_owner')]),
);
const GET = new PreparedQuery((db: Kysely<Database>, id: string) => db.selectFrom('uploads').selectAll().where('id', '=', id));
const LOCK = new PreparedQuery((db: Kysely<Database>, id: string, owner: string, until: number, now: number) =>
  db
    .updateTable('uploads')
    .set({ writer: owner, writer_until: until })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('writer', 'is', null), eb('writer', '=', owner), eb('writer_until', '<', now)]))
    .returningAll()
    .modifyEnd(unacknowledged()),
);
const DELETE = new PreparedQuery((db: Kysely<Database>, id: string) => db.deleteFrom('uploads').where('id', '=', id));
const UNLOCK = new PreparedQuery((db: Kysely<Database>, id: string, owner: string) =>
  db.updateTable('uploads').set({ writer: null, writer_until: null }).where('id', '=', id).where('writer', '=', owner).modifyEnd(unacknowledged()),
);

export class SqlUploads implements UploadQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async create(upload: { id: string; repository: RepoName; handle: string; project?: string; owner?: string }, now: number): Promise<void> {
    await CREATE.execute(this.db, this.dialect, upload.id, upload.repository, upload.handle, upload.project ?? null, upload.owner ?? null, now);
  }

  async countOpen(repository: RepoName, owner: string | undefined, since: number): Promise<{ inRepository: number; ofOwner: number }> {
    const row = await OPEN_COUNTS.executeTakeFirst(this.db, this.dialect, since, repository, owner ?? null);
    return { inRepository: Number(row!.in_repository), ofOwner: Number(row!.of_owner) };
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    const row = await GET.executeTakeFirst(this.db, this.dialect, id);
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
    return (await DELETE.run(this.db, this.dialect, id)) > 0;
  }

  async lock(id: string, owner: string, until: number, now: number): Promise<UploadRecord | undefined> {
    const row = await LOCK.executeTakeFirst(this.db, this.dialect, id, owner, until, now);
    return row && toRecord(row);
  }

  async releaseAllLocks(): Promise<void> {
    await this.db.updateTable('uploads').set({ writer: null, writer_until: null }).where('writer', 'is not', null).execute();
  }

  async unlock(id: string, owner: string): Promise<void> {
    await UNLOCK.run(this.db, this.dialect, id, owner);
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
