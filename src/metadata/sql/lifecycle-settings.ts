/**
 * Per-project lifecycle settings (`project_lifecycle`): one row per project name, one JSON
 * column per setting. Stored as given; src/lifecycle/settings.ts validates what it reads.
 */
import type { Kysely } from 'kysely';
import type { LifecycleSettingName, LifecycleSettingsQueries } from '../lifecycle-store.js';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../tables.js';
import { PreparedQuery } from './prepared.js';

const parsed = (s: string | null | undefined): unknown => (s ? JSON.parse(s) : null);

/** Read by every push (quota, immutability) and by each upload commit. */
const GET = new PreparedQuery((db: Kysely<Database>, project: string) => db.selectFrom('project_lifecycle').selectAll().where('project', '=', project));

export class SqlLifecycleSettings implements LifecycleSettingsQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async get(project: string): Promise<Record<LifecycleSettingName, unknown>> {
    const row = await GET.executeTakeFirst(this.db, this.dialect, project);
    return { retention: parsed(row?.retention), immutability: parsed(row?.immutability), quota: parsed(row?.quota) };
  }

  async set(project: string, name: LifecycleSettingName, value: unknown, now: number): Promise<void> {
    const json = value === null || value === undefined ? null : JSON.stringify(value);
    await this.db
      .insertInto('project_lifecycle')
      .values({ project, retention: null, immutability: null, quota: null, [name]: json, updated_at: now })
      .onConflict((oc) => oc.column('project').doUpdateSet({ [name]: json, updated_at: now }))
      .execute();
  }

  async retentionSettings(): Promise<{ project: string; retention: unknown }[]> {
    const rows = await this.db.selectFrom('project_lifecycle').select(['project', 'retention']).where('retention', 'is not', null).execute();
    return rows.map((r) => ({ project: r.project, retention: parsed(r.retention) }));
  }

  async delete(project: string): Promise<void> {
    await this.db.deleteFrom('project_lifecycle').where('project', '=', project).execute();
  }
}
